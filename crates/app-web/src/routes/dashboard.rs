//! The signed-in user's dashboard.

use axum::extract::State;
use axum::response::Response;
use quickscale_domain_credits::{
    AccountId, Balance, Direction, GrantKind, HistoryPage, HistoryQuery, LedgerEntry,
};
use quickscale_service_sdk::usage::{RunQuery, ServiceRun};
use serde::Serialize;

use crate::error::AppError;
use crate::extract::CurrentUser;
use crate::state::AppState;
use crate::view::{Page, date_time};

/// A ledger entry as templates see it.
#[derive(Debug, Serialize)]
pub struct EntryView {
    pub id: i64,
    pub at: String,
    pub kind: &'static str,
    pub label: &'static str,
    pub credit: bool,
    pub amount: String,
    pub balance_after: String,
    pub reason: String,
    pub actor: String,
}

impl EntryView {
    /// `grant` is the kind of the grant the entry created, if it created one.
    pub fn of(entry: &LedgerEntry, grant: Option<GrantKind>) -> Self {
        let credit = entry.kind.direction() == Direction::Credit;
        EntryView {
            id: entry.id.0,
            at: date_time(entry.at),
            kind: entry.kind.as_str(),
            label: grant.map_or(entry.kind.label(), GrantKind::entry_label),
            credit,
            amount: format!("{}{}", if credit { "+" } else { "−" }, entry.amount),
            balance_after: entry.balance_after.to_string(),
            reason: entry.reason.clone(),
            actor: entry.actor.to_string(),
        }
    }
}

/// A page of history as templates see it: a grant's entry says what kind of grant it created
/// (a purchase, the welcome bonus...), where the entry itself only says "grant". The page and
/// the kinds are read together (`CreditStore::history_with_kinds`: one statement on SQL).
pub async fn history_views(
    state: &AppState,
    account: AccountId,
    query: HistoryQuery,
) -> Result<(HistoryPage, Vec<EntryView>), AppError> {
    let (page, kinds) = state.credits().history_with_kinds(account, query).await?;
    let views = page
        .entries
        .iter()
        .zip(kinds)
        .map(|(entry, kind)| EntryView::of(entry, kind))
        .collect();
    Ok((page, views))
}

/// A balance as templates see it.
#[derive(Debug, Serialize)]
pub struct BalanceView {
    pub total: String,
    pub subscription: String,
    pub pay_as_you_go: String,
    pub by_kind: Vec<(String, String)>,
    pub next_expiry: Option<(String, String)>,
}

impl BalanceView {
    pub fn of(balance: &Balance) -> Self {
        BalanceView {
            total: balance.total.to_string(),
            subscription: balance.of_kind(GrantKind::Subscription).to_string(),
            pay_as_you_go: balance.pay_as_you_go().to_string(),
            by_kind: balance
                .by_kind
                .iter()
                .map(|(k, c)| (k.label().to_owned(), c.to_string()))
                .collect(),
            next_expiry: balance
                .next_expiry
                .map(|(at, amount)| (date_time(at), amount.to_string())),
        }
    }
}

/// A service run as templates see it.
#[derive(Debug, Serialize)]
pub struct RunView {
    pub id: String,
    pub service: String,
    pub status: &'static str,
    pub cost: String,
    pub refunded: String,
    pub at: String,
    pub duration_ms: Option<u64>,
    pub summary: String,
}

impl RunView {
    pub fn of(run: &ServiceRun, name: &str) -> Self {
        RunView {
            id: run.id.to_string(),
            service: name.to_owned(),
            status: run.status.as_str(),
            cost: run.cost.to_string(),
            refunded: run.refunded.to_string(),
            at: date_time(run.started_at),
            duration_ms: run.duration_ms,
            summary: run
                .output
                .as_ref()
                .map(|o| o.summary.clone())
                .or_else(|| run.error.clone())
                .unwrap_or_default(),
        }
    }
}

/// The dashboard: the balance, the credits held, the newest history and runs. Four statements
/// with the user cached (the session; the open grants with the sum of the open holds; the
/// history page joined with its grants; the newest runs), each an index range bounded by its
/// limit (or by what is open) whatever the length of the user's history; read at the same time.
pub async fn dashboard(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    let account = AccountId::new(current.user.id.as_uuid());
    let now = state.clock().now();
    let runs_query = RunQuery {
        limit: 5,
        ..RunQuery::default()
    };
    let ((balance, held), (_, entries), runs) = tokio::try_join!(
        async { Ok::<_, AppError>(state.credits().balance_and_held(account, now).await?) },
        history_views(&state, account, HistoryQuery::newest(10)),
        async {
            Ok::<_, AppError>(
                state
                    .stores()
                    .usage
                    .list(current.user.id, &runs_query)
                    .await?,
            )
        },
    )?;
    let registry = state.registry();
    let runs: Vec<RunView> = runs
        .iter()
        .map(|r| {
            RunView::of(
                r,
                registry
                    .get(&r.service)
                    .map_or(r.service.as_str(), |s| s.descriptor.name.as_str()),
            )
        })
        .collect();
    Page::new("dashboard.html")
        .with("balance", &BalanceView::of(&balance))
        .with("held", &held.to_string())
        .with("entries", &entries)
        .with("runs", &runs)
        .viewer_balance(Some(balance.total))
        .render(&state, &current.viewer())
        .await
}
