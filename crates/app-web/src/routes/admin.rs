//! The admin dashboard: counts, users, a user's ledger and manual credit adjustments.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, CreditError, Credits, EntryId, GrantKind, HistoryQuery,
    IdempotencyKey, Operation, Reason, SourceRef,
};
use quickscale_domain_identity::{Role, UserId, UserQuery};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::extract::AdminUser;
use crate::routes::dashboard::{BalanceView, EntryView};
use crate::session::{self, random_token};
use crate::state::AppState;
use crate::view::{Page, UserView, credits_label};

const PAGE_SIZE: u32 = 20;

pub async fn home(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<Response, AppError> {
    let counts = state.users().counts().await?;
    let services = state.registry().len();
    let messages = state.stores().contact.recent(5).await?;
    Page::new("admin/home.html")
        .with("counts", &counts)
        .with("service_count", &services)
        .with("messages", &messages)
        .render(&state, &admin.viewer())
        .await
}

#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    page: Option<u64>,
}

#[derive(Debug, Serialize)]
struct Pagination {
    page: u64,
    pages: u64,
    total: u64,
    previous: Option<u64>,
    next: Option<u64>,
}

pub async fn users(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(query): Query<UsersQuery>,
) -> Result<Response, AppError> {
    let page = query.page.unwrap_or(1).max(1);
    let role = query.role.parse::<Role>().ok();
    let result = state
        .users()
        .search(&UserQuery {
            text: Some(query.q.clone()).filter(|q| !q.trim().is_empty()),
            role,
            offset: (page - 1) * u64::from(PAGE_SIZE),
            limit: PAGE_SIZE,
            ..UserQuery::default()
        })
        .await?;
    let pages = result.total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let now = state.clock().now();
    let users: Vec<UserView> = result.users.iter().map(|u| UserView::of(u, now)).collect();
    Page::new("admin/users.html")
        .with("users", &users)
        .with("q", &query.q)
        .with("role", &role.map(|r| r.as_str()).unwrap_or(""))
        .with(
            "pagination",
            &Pagination {
                page,
                pages,
                total: result.total,
                previous: (page > 1).then(|| page - 1),
                next: (page < pages).then(|| page + 1),
            },
        )
        .render(&state, &admin.viewer())
        .await
}

#[derive(Debug, Default, Deserialize)]
pub struct LedgerQuery {
    before: Option<i64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AdjustForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    key: String,
}

#[derive(Debug, Default, Serialize)]
struct AdjustErrors {
    amount: Option<String>,
    reason: Option<String>,
    form: Option<String>,
}

async fn user_page(
    state: &AppState,
    admin: &AdminUser,
    id: UserId,
    before: Option<i64>,
    form: AdjustForm,
    errors: AdjustErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let user = state.users().by_id(id).await?.ok_or(AppError::NotFound)?;
    let account = AccountId::new(id.as_uuid());
    let now = state.clock().now();
    let balance = state.credits().balance(account, now).await?;
    let history = state
        .credits()
        .history(
            account,
            HistoryQuery {
                before: before.map(EntryId),
                limit: PAGE_SIZE,
            },
        )
        .await?;
    let entries: Vec<EntryView> = history.entries.iter().map(EntryView::of).collect();
    let form = AdjustForm {
        key: random_token(),
        ..form
    };
    Page::new("admin/user.html")
        .with("subject", &UserView::of(&user, now))
        .with("balance", &BalanceView::of(&balance))
        .with("entries", &entries)
        .with("next_before", &history.next_before.map(|e| e.0))
        .with("form", &form)
        .with("errors", &errors)
        .status(status)
        .render(state, &admin.0.viewer())
        .await
}

fn parse_id(text: &str) -> Result<UserId, AppError> {
    text.parse().map_err(|_| AppError::NotFound)
}

pub async fn user_detail(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
    Query(query): Query<LedgerQuery>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    user_page(
        &state,
        &admin,
        id,
        query.before,
        AdjustForm::default(),
        AdjustErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// Adds or removes credits with a required reason. A removal never overdraws: when the user
/// has less than asked, nothing changes and the form says how much is available.
pub async fn adjust_credits(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
    Form(form): Form<AdjustForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    if state.users().by_id(id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let amount = Credits::parse(&form.amount).and_then(Credits::non_zero);
    let reason = Reason::parse(&form.reason);
    let key = IdempotencyKey::parse(format!("admin:{}", form.key.trim()));
    let (amount, reason, key) = match (amount, reason, key) {
        (Ok(amount), Ok(reason), Ok(key)) if !form.key.trim().is_empty() => (amount, reason, key),
        (amount, reason, key) => {
            let errors = AdjustErrors {
                amount: amount.err().map(|e| format!("Amount: {e}.")),
                reason: reason.err().map(|e| format!("Reason: {e}.")),
                form: (key.is_err() || form.key.trim().is_empty())
                    .then(|| "The form has expired; reload the page.".to_owned()),
            };
            let form = AdjustForm {
                key: String::new(),
                ..form
            };
            return user_page(
                &state,
                &admin,
                id,
                None,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let admin_id = admin.0.user.id.as_uuid();
    let command = match form.action.as_str() {
        "add" => CreditCommand::Grant {
            kind: GrantKind::Admin,
            amount,
            expires_at: None,
            source: SourceRef::parse(format!("admin:{}", form.key.trim()))
                .map_err(|e| AppError::BadRequest(e.to_string()))?,
        },
        "remove" => CreditCommand::AdminRemove { amount },
        _ => {
            return Err(AppError::BadRequest(
                "Choose whether to add or remove credits.".into(),
            ));
        }
    };
    let op = Operation {
        key,
        actor: Actor::Admin(admin_id),
        reason,
        command,
    };
    let account = AccountId::new(id.as_uuid());
    match state
        .credits()
        .execute(account, op, state.clock().now())
        .await
    {
        Ok(receipt) => {
            tracing::info!(admin = %admin_id, user = %id, kind = %receipt.kind, amount = %receipt.amount, "credits adjusted by an admin");
            let verb = if form.action == "add" {
                "Added"
            } else {
                "Removed"
            };
            let text = format!(
                "{verb} {}. The balance is now {}.",
                credits_label(receipt.amount),
                receipt.balance_after
            );
            session::flash(&admin.0.session, "success", text).await?;
            Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
        }
        Err(CreditError::Insufficient(short)) => {
            let errors = AdjustErrors {
                amount: Some(format!(
                    "Only {} can be removed; nothing was changed.",
                    credits_label(short.available)
                )),
                ..AdjustErrors::default()
            };
            let form = AdjustForm {
                key: String::new(),
                ..form
            };
            user_page(
                &state,
                &admin,
                id,
                None,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
