//! The admin dashboard: counts, users, a user's ledger and manual credit adjustments.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, CreditError, Credits, EntryId, GrantKind, HistoryQuery,
    IdempotencyKey, Operation, Reason, SourceRef,
};
use quickscale_domain_identity::{Role, User, UserId, UserQuery};
use quickscale_domain_kernel::{AuditEntry, AuditQuery};
use serde::{Deserialize, Serialize};

use crate::audit::AuditAction;
use crate::error::AppError;
use crate::extract::AdminUser;
use crate::paging::Paging;
use crate::routes::dashboard::{BalanceView, history_views};
use crate::session::{self, random_token};
use crate::state::AppState;
use crate::view::{Page, PaymentView, UserView, credits_label};

const PAGE_SIZE: u32 = 20;

pub async fn home(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<Response, AppError> {
    let counts = state.users().counts().await?;
    let services = state.registry().len();
    let messages = state.stores().contact.recent(5).await?;
    // The queue's counts by state; a queue that does not answer shows none (Admin > System
    // says why).
    let job_counts = super::admin_jobs::state_counts(&state)
        .await
        .unwrap_or_default();
    Page::new("admin/home.html")
        .with("counts", &counts)
        .with("job_counts", &job_counts)
        .with("service_count", &services)
        .with("messages", &messages)
        .render(&state, &admin.viewer())
        .await
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    /// `yes` or `no`.
    #[serde(default)]
    verified: String,
    /// `active`, `inactive` or `locked`.
    #[serde(default)]
    status: String,
}

pub async fn users(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(query): Query<UsersQuery>,
    paging: Paging,
) -> Result<Response, AppError> {
    let role = query.role.parse::<Role>().ok();
    let result = state
        .users()
        .search(&UserQuery {
            text: Some(query.q.clone()).filter(|q| !q.trim().is_empty()),
            role,
            verified: match query.verified.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            active: match query.status.as_str() {
                "active" => Some(true),
                "inactive" => Some(false),
                _ => None,
            },
            locked_at: (query.status == "locked").then(|| state.clock().now()),
            offset: paging.page_offset(PAGE_SIZE),
            limit: PAGE_SIZE,
        })
        .await?;
    let pages = result.total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let now = state.clock().now();
    let users: Vec<UserView> = result.users.iter().map(|u| UserView::of(u, now)).collect();
    Page::new("admin/users.html")
        .with("users", &users)
        .with("q", &query.q)
        .with("role", &role.map(|r| r.as_str()).unwrap_or(""))
        .with("verified", &query.verified)
        .with("status", &query.status)
        .with("total", &result.total)
        .with(
            "pager",
            &paging
                .pager("/admin/users", &query, u64::from(paging.page()) < pages)
                .of_pages(pages),
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

/// What the credit form asks for (its `action` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Adjustment {
    Add,
    Remove,
}

impl Adjustment {
    fn parse(action: &str) -> Option<Self> {
        match action {
            "add" => Some(Adjustment::Add),
            "remove" => Some(Adjustment::Remove),
            _ => None,
        }
    }

    fn audit(self) -> AuditAction {
        match self {
            Adjustment::Add => AuditAction::CreditsAdded,
            Adjustment::Remove => AuditAction::CreditsRemoved,
        }
    }
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
    let (history, entries) = history_views(
        state,
        account,
        HistoryQuery {
            before: before.map(EntryId),
            limit: PAGE_SIZE,
        },
    )
    .await?;
    let form = AdjustForm {
        key: random_token(),
        ..form
    };
    let sessions = state
        .stores()
        .sessions
        .admin()
        .count_for_user(id, now)
        .await?;
    let api_keys = if state.config().flags.enable_api {
        let keys = state.stores().api_keys.list(id).await?;
        Some(keys.iter().filter(|k| k.is_active()).count())
    } else {
        None
    };
    let payments: Vec<PaymentView> = match state.billing() {
        Some(billing) => {
            let query = quickscale_domain_billing::PaymentQuery {
                user: Some(id.as_uuid()),
                limit: 20,
                ..Default::default()
            };
            billing
                .billing
                .repository()
                .payments(&query)
                .await?
                .0
                .iter()
                .map(|p| PaymentView::of(p, &[]))
                .collect()
        }
        None => Vec::new(),
    };
    let audit: Vec<AuditView> = state
        .stores()
        .audit
        .list(&AuditQuery {
            subject: Some(id.as_uuid()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await?
        .iter()
        .map(AuditView::of)
        .collect();
    Page::new("admin/user.html")
        .with("sessions", &sessions)
        .with("api_keys", &api_keys)
        .with("payments", &payments)
        .with("audit", &audit)
        .with("is_self", &(admin.0.user.id == id))
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
    let Some(subject) = state.users().by_id(id).await? else {
        return Err(AppError::NotFound);
    };
    let amount = Credits::parse(&form.amount).and_then(Credits::non_zero);
    let reason = Reason::parse(&form.reason);
    let key = IdempotencyKey::parse(format!("admin:{}", form.key.trim()));
    let (amount, reason, key) = match (amount, reason, key) {
        (Ok(amount), Ok(reason), Ok(key)) if !form.key.trim().is_empty() => (amount, reason, key),
        (amount, reason, key) => {
            let errors = AdjustErrors {
                amount: amount.err().map(crate::wording::sentence),
                reason: reason.err().map(crate::wording::sentence),
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
    let Some(adjustment) = Adjustment::parse(&form.action) else {
        return Err(AppError::BadRequest(
            "Choose whether to add or remove credits, then apply again.".into(),
        ));
    };
    let command = match adjustment {
        Adjustment::Add => CreditCommand::Grant {
            kind: GrantKind::Admin,
            amount,
            expires_at: None,
            source: SourceRef::parse(format!("admin:{}", form.key.trim()))
                .map_err(|e| AppError::BadRequest(e.to_string()))?,
        },
        Adjustment::Remove => CreditCommand::AdminRemove { amount },
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
            if !receipt.replayed {
                let balance_before = match adjustment {
                    Adjustment::Add => receipt.balance_after.saturating_sub(receipt.amount),
                    Adjustment::Remove => receipt.balance_after.saturating_add(receipt.amount),
                };
                crate::audit::record(
                    &state,
                    &admin.0.user,
                    adjustment.audit(),
                    crate::audit::user_subject(&subject),
                    serde_json::json!({ "balance": balance_before.to_string() }),
                    serde_json::json!({ "balance": receipt.balance_after.to_string(), "amount": receipt.amount.to_string(), "reason": form.reason.trim() }),
                )
                .await;
            }
            let verb = match adjustment {
                Adjustment::Add => "Added",
                Adjustment::Remove => "Removed",
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

/// An audit log entry as templates see it.
#[derive(Debug, Serialize)]
pub struct AuditView {
    at: String,
    actor: String,
    action: String,
    subject: String,
    subject_id: String,
    before: String,
    after: String,
}

impl AuditView {
    pub fn of(entry: &AuditEntry) -> Self {
        AuditView {
            at: crate::view::date_time(entry.at),
            actor: entry.actor_label.clone(),
            action: entry.action.clone(),
            subject: entry.subject_label.clone(),
            subject_id: entry.subject.map(|s| s.to_string()).unwrap_or_default(),
            before: entry.before.to_string(),
            after: entry.after.to_string(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct UserAction {
    #[serde(default)]
    role: String,
    #[serde(default)]
    active: String,
}

/// What an admin does to a user from the user's page, one route each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UserChange {
    Role,
    Activity,
    Unlock,
    RevokeApiKeys,
    ResendVerification,
}

impl UserChange {
    fn audit(self) -> AuditAction {
        match self {
            UserChange::Role => AuditAction::UserRoleChanged,
            UserChange::Activity => AuditAction::UserActivityChanged,
            UserChange::Unlock => AuditAction::UserUnlocked,
            UserChange::RevokeApiKeys => AuditAction::UserApiKeysRevoked,
            UserChange::ResendVerification => AuditAction::UserVerificationSent,
        }
    }
}

fn state_of(user: &User, now: time::OffsetDateTime) -> serde_json::Value {
    serde_json::json!({
        "role": user.role.as_str(),
        "active": user.is_active,
        "verified": user.is_verified(),
        "locked": user.login.is_locked_at(now),
    })
}

/// Changes a user's role, activity, lock or verification, one action per route, each written to
/// the audit log. A role change or deactivation ends the user's sessions (they sign in again
/// with a new session id). Admins cannot demote or deactivate themselves.
async fn user_action(
    state: &AppState,
    admin: &AdminUser,
    id: &str,
    change: UserChange,
    form: UserAction,
) -> Result<Response, AppError> {
    let id = parse_id(id)?;
    let user = state
        .users()
        .by_id(id)
        .await?
        .filter(|u| u.deleted_at.is_none())
        .ok_or(AppError::NotFound)?;
    let me = &admin.0.user;
    let now = state.clock().now();
    let before = state_of(&user, now);
    let back = Redirect::to(&format!("/admin/users/{id}")).into_response();
    let message = match change {
        UserChange::Role => {
            let role: Role = form.role.parse().map_err(|_| {
                AppError::BadRequest("Choose user or admin, then save again.".into())
            })?;
            if me.id == id && role != Role::Admin {
                session::flash(
                    &admin.0.session,
                    "danger",
                    "You cannot remove your own admin role.",
                )
                .await?;
                return Ok(back);
            }
            state.users().set_role(id, role).await?;
            state
                .stores()
                .sessions
                .admin()
                .delete_for_user(id, None)
                .await?;
            format!("{} is now {}. Their sessions were ended.", user.email, role)
        }
        UserChange::Activity => {
            let active = form.active == "true";
            if me.id == id && !active {
                session::flash(
                    &admin.0.session,
                    "danger",
                    "You cannot deactivate your own account.",
                )
                .await?;
                return Ok(back);
            }
            state.users().set_active(id, active).await?;
            if !active {
                state
                    .stores()
                    .sessions
                    .admin()
                    .delete_for_user(id, None)
                    .await?;
            }
            if active {
                format!("{} can sign in again.", user.email)
            } else {
                format!("{} was deactivated and signed out.", user.email)
            }
        }
        UserChange::Unlock => {
            state.accounts().clear_sign_in_failures(id).await?;
            format!("{} can try signing in again.", user.email)
        }
        UserChange::RevokeApiKeys => {
            let revoked = state.stores().api_keys.revoke_all(id, now).await?;
            let were = crate::wording::noun(&revoked.to_string(), "was", "were");
            format!(
                "{} of {} {were} revoked: requests with them are refused from now on.",
                crate::wording::plural(revoked, "API key", "API keys"),
                user.email
            )
        }
        UserChange::ResendVerification => {
            match crate::account_flows::send_verification(state, &user).await {
                Ok(()) => format!("A new confirmation link was sent to {}.", user.email),
                Err(crate::account_flows::FlowError::App(e)) => return Err(e),
                Err(other) => {
                    session::flash(&admin.0.session, "warning", other.to_string()).await?;
                    return Ok(back);
                }
            }
        }
    };
    let after = state
        .users()
        .by_id(id)
        .await?
        .map(|u| state_of(&u, now))
        .unwrap_or_default();
    crate::audit::record(
        state,
        me,
        change.audit(),
        crate::audit::user_subject(&user),
        before,
        after,
    )
    .await;
    session::flash(&admin.0.session, "success", message).await?;
    Ok(back)
}

/// Revokes every API key of a user (a leaked key, a compromised account).
pub async fn revoke_api_keys(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    user_action(
        &state,
        &admin,
        &id,
        UserChange::RevokeApiKeys,
        UserAction::default(),
    )
    .await
}

pub async fn change_role(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
    Form(form): Form<UserAction>,
) -> Result<Response, AppError> {
    user_action(&state, &admin, &id, UserChange::Role, form).await
}

pub async fn change_activity(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
    Form(form): Form<UserAction>,
) -> Result<Response, AppError> {
    user_action(&state, &admin, &id, UserChange::Activity, form).await
}

pub async fn unlock(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    user_action(
        &state,
        &admin,
        &id,
        UserChange::Unlock,
        UserAction::default(),
    )
    .await
}

pub async fn resend_verification(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    user_action(
        &state,
        &admin,
        &id,
        UserChange::ResendVerification,
        UserAction::default(),
    )
    .await
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct AuditFilter {
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
}

/// Entries a page on the admin's logs (audit, emails, webhook events, payments).
pub const LOG_PAGE_SIZE: u32 = 50;

pub async fn audit(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(filter): Query<AuditFilter>,
    paging: Paging,
) -> Result<Response, AppError> {
    let subject = match filter.subject.trim() {
        "" => None,
        text => match text.parse::<UserId>() {
            Ok(id) => Some(id.as_uuid()),
            Err(_) => match quickscale_domain_identity::Email::parse(text) {
                Ok(email) => state
                    .users()
                    .by_email(&email)
                    .await?
                    .map(|u| u.id.as_uuid())
                    .or(Some(uuid::Uuid::nil())),
                Err(_) => Some(uuid::Uuid::nil()),
            },
        },
    };
    let query = AuditQuery {
        subject,
        action_prefix: Some(filter.action.trim().to_owned()).filter(|a| !a.is_empty()),
        offset: paging.page_offset(LOG_PAGE_SIZE),
        limit: LOG_PAGE_SIZE + 1,
        ..AuditQuery::default()
    };
    let mut entries: Vec<AuditView> = state
        .stores()
        .audit
        .list(&query)
        .await?
        .iter()
        .map(AuditView::of)
        .collect();
    let more = entries.len() > LOG_PAGE_SIZE as usize;
    entries.truncate(LOG_PAGE_SIZE as usize);
    Page::new("admin/audit.html")
        .with("entries", &entries)
        .with("filter", &filter)
        .with("pager", &paging.pager("/admin/audit", &filter, more))
        .render(&state, &admin.viewer())
        .await
}

#[derive(Debug, Serialize)]
struct OutboxView {
    id: String,
    to: String,
    subject: String,
    status: &'static str,
    attempts: u32,
    last_error: String,
    created_at: String,
    text: String,
}

impl OutboxView {
    fn of(m: &quickscale_domain_kernel::OutboxMessage) -> Self {
        OutboxView {
            id: m.id.to_string(),
            to: m.message.to.clone(),
            subject: m.message.subject.clone(),
            status: m.status.as_str(),
            attempts: m.attempts,
            last_error: m.last_error.clone().unwrap_or_default(),
            created_at: crate::view::date_time(m.created_at),
            text: m.message.text.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct OutboxFilter {
    #[serde(default)]
    status: String,
}

/// Admins: every email and its delivery state; failures stand out.
pub async fn emails(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(filter): Query<OutboxFilter>,
    paging: Paging,
) -> Result<Response, AppError> {
    let query = quickscale_domain_kernel::OutboxQuery {
        status: quickscale_domain_kernel::OutboxStatus::parse(&filter.status),
        offset: paging.page_offset(LOG_PAGE_SIZE),
        limit: LOG_PAGE_SIZE + 1,
        ..Default::default()
    };
    let mut messages: Vec<OutboxView> = state
        .stores()
        .outbox
        .list(&query)
        .await?
        .iter()
        .map(OutboxView::of)
        .collect();
    let more = messages.len() > LOG_PAGE_SIZE as usize;
    messages.truncate(LOG_PAGE_SIZE as usize);
    Page::new("admin/emails.html")
        .with("messages", &messages)
        .with("filter", &filter)
        .with("pager", &paging.pager("/admin/emails", &filter, more))
        .render(&state, &admin.viewer())
        .await
}

/// Development only: the emails the app "sent", readable without an email account, with
/// `MAILER=dev`. The messages hold sign-in links (verification, password reset), so the page
/// is one of the development pages (`security::development_only`): absent unless the app runs
/// on this machine and the request comes from it, naming it.
pub async fn dev_outbox(
    State(state): State<AppState>,
    viewer: crate::extract::Viewer,
) -> Result<Response, AppError> {
    if !matches!(state.config().mail, crate::config::MailTransport::Dev) {
        return Err(AppError::NotFound);
    }
    let query = quickscale_domain_kernel::OutboxQuery {
        limit: 50,
        ..Default::default()
    };
    let messages: Vec<OutboxView> = state
        .stores()
        .outbox
        .list(&query)
        .await?
        .iter()
        .map(OutboxView::of)
        .collect();
    Page::new("dev/outbox.html")
        .with("messages", &messages)
        .render(&state, &viewer)
        .await
}
