//! The account in the API: the balance, the credit ledger and the usage history (as JSON, or as
//! the usage page's CSV with `Accept: text/csv`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use quickscale_domain_credits::{
    AccountId, Actor, Balance, Credits, Direction, EntryId, HistoryQuery, LedgerEntry,
};
use quickscale_service_sdk::{RunQuery, ServiceRun};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::cursor::{self, CursorQuery, List};
use super::{ApiResult, Expiry, page_of_runs, rfc3339, run_status};
use crate::api::{ApiKeyAuth, ApiProblem};
use crate::paging::Paging;
use crate::state::AppState;

/// The account's credits now.
#[derive(Serialize, ToSchema)]
pub(super) struct BalanceView {
    /// Every usable credit, held ones included, as a decimal string ("99", "0.5").
    total: String,
    /// Credits held by background runs still going: settled (charged, at most the hold) or
    /// released when each run ends.
    held: String,
    /// What a run can spend now: `total` less `held`.
    available: String,
    /// Usable credits per kind of grant (`welcome`, `purchase`, `subscription`, `admin`).
    by_kind: BTreeMap<String, String>,
    next_expiry: Option<Expiry>,
}

impl BalanceView {
    /// `balance` is what is spendable (the grants' remainders, holds taken out); `held` what
    /// open holds reserve.
    pub(super) fn of(balance: &Balance, held: Credits) -> Self {
        BalanceView {
            total: balance.total.saturating_add(held).to_string(),
            held: held.to_string(),
            available: balance.total.to_string(),
            by_kind: by_kind(balance),
            next_expiry: next_expiry(balance),
        }
    }
}

pub(super) fn by_kind(balance: &Balance) -> BTreeMap<String, String> {
    balance
        .by_kind
        .iter()
        .map(|(kind, amount)| (kind.as_str().to_owned(), amount.to_string()))
        .collect()
}

pub(super) fn next_expiry(balance: &Balance) -> Option<Expiry> {
    balance.next_expiry.map(|(at, amount)| Expiry {
        at: rfc3339(at),
        credits: amount.to_string(),
    })
}

#[utoipa::path(get, path = "/api/v1/balance", tag = "account",
    responses((status = 200, body = BalanceView)),
    security(("api_key" = [])))]
pub(super) async fn balance(State(state): State<AppState>, auth: ApiKeyAuth) -> ApiResult {
    let account = AccountId::new(auth.user.id.as_uuid());
    let (balance, held) = state
        .credits()
        .balance_and_held(account, state.clock().now())
        .await?;
    Ok(Json(BalanceView::of(&balance, held)).into_response())
}

/// A ledger entry: an immutable change to the balance.
#[derive(Serialize, ToSchema)]
struct EntryView {
    id: i64,
    /// RFC 3339.
    at: String,
    /// `grant`, `consume`, `expire`, `admin_add`, `admin_remove`, `reversal` or `clawback`.
    kind: &'static str,
    /// For a grant: what kind of credits it granted.
    grant_kind: Option<&'static str>,
    /// `credit` (adds to the balance) or `debit` (takes from it).
    direction: &'static str,
    /// Credits, never negative (`direction` gives the sign).
    amount: String,
    balance_after: String,
    reason: String,
    /// Who made the change: `system`, `user`, `admin` or `payments`.
    actor: &'static str,
}

impl EntryView {
    fn of(entry: &LedgerEntry, grant_kind: Option<&'static str>) -> Self {
        EntryView {
            id: entry.id.0,
            at: rfc3339(entry.at),
            kind: entry.kind.as_str(),
            grant_kind,
            direction: match entry.kind.direction() {
                Direction::Credit => "credit",
                Direction::Debit => "debit",
            },
            amount: entry.amount.to_string(),
            balance_after: entry.balance_after.to_string(),
            reason: entry.reason.clone(),
            actor: match entry.actor {
                Actor::System => "system",
                Actor::User(_) => "user",
                Actor::Admin(_) => "admin",
                Actor::PaymentProcessor => "payments",
                _ => "system",
            },
        }
    }
}

/// A page of the ledger, newest first.
#[derive(Serialize, ToSchema)]
struct EntryList {
    data: Vec<EntryView>,
    /// Pass as `?cursor=` for the next (older) page; null on the last page.
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/ledger", tag = "account",
    responses((status = 200, body = EntryList), (status = 422, body = ApiProblem)),
    security(("api_key" = [])))]
pub(super) async fn ledger(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    query: Result<Query<CursorQuery>, QueryRejection>,
    paging: Paging,
) -> ApiResult {
    let Query(query) = query.map_err(|e| ApiProblem::invalid(e.body_text()))?;
    let before = cursor::given(query.cursor.as_deref())
        .map(|c| cursor::decode(List::Ledger, c))
        .transpose()?
        .map(|id| EntryId(i64::try_from(id).unwrap_or(i64::MAX)));
    let account = AccountId::new(auth.user.id.as_uuid());
    let (page, kinds) = state
        .credits()
        .history_with_kinds(
            account,
            HistoryQuery {
                before,
                limit: paging.limit(),
            },
        )
        .await?;
    let data = page
        .entries
        .iter()
        .zip(kinds)
        .map(|(entry, kind)| EntryView::of(entry, kind.map(|k| k.as_str())))
        .collect();
    Ok(Json(EntryList {
        data,
        next_cursor: page
            .next_before
            .and_then(|id| u64::try_from(id.0).ok())
            .map(|id| cursor::encode(List::Ledger, id)),
    })
    .into_response())
}

/// The filters of `GET /usage` (as on the usage page), with `cursor` and `limit`.
#[derive(Deserialize)]
pub(super) struct UsageQuery {
    service: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
}

/// A run in the usage history, as the usage page's CSV export has it.
#[derive(Serialize, ToSchema)]
struct UsageRow {
    id: Uuid,
    /// RFC 3339.
    started_at: String,
    service: String,
    status: &'static str,
    /// The run's cost in credits.
    cost: String,
    refunded: String,
    duration_ms: Option<u64>,
    input_bytes: u64,
    /// The output's summary, or the error.
    result: String,
}

impl UsageRow {
    fn of(run: &ServiceRun) -> Self {
        UsageRow {
            id: run.id,
            started_at: rfc3339(run.started_at),
            service: run.service.clone(),
            status: run.status.as_str(),
            cost: run.cost.to_string(),
            refunded: run.refunded.to_string(),
            duration_ms: run.duration_ms,
            input_bytes: run.input_bytes,
            result: run
                .output
                .as_ref()
                .map(|o| o.summary.clone())
                .or_else(|| run.error.clone())
                .unwrap_or_default(),
        }
    }
}

/// A page of the usage history, newest first.
#[derive(Serialize, ToSchema)]
struct UsageList {
    data: Vec<UsageRow>,
    /// Pass as `?cursor=` (with the same filters) for the next page; null on the last page.
    next_cursor: Option<String>,
}

/// Whether the client asked for CSV.
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))
        })
}

#[utoipa::path(get, path = "/api/v1/usage", tag = "account",
    responses(
        (status = 200, description = "A page of the usage history as JSON; with `Accept: text/csv`, the usage CSV (up to 10000 rows from the cursor)",
            headers(("Next-Cursor" = String, description = "With CSV: the cursor of the rows after these, when there are more")),
            content((UsageList = "application/json"), (String = "text/csv"))),
        (status = 422, body = ApiProblem)),
    security(("api_key" = [])))]
pub(super) async fn usage(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    query: Result<Query<UsageQuery>, QueryRejection>,
    paging: Paging,
    headers: HeaderMap,
) -> ApiResult {
    let Query(query) = query.map_err(|e| ApiProblem::invalid(e.body_text()))?;
    let status = run_status(query.status.as_deref())?;
    let start = cursor::start(List::Usage, query.cursor.as_deref(), &paging)?;
    let csv = wants_csv(&headers);
    let limit = if csv {
        crate::routes::usage::CSV_LIMIT
    } else {
        paging.limit()
    };
    let (runs, next_cursor) = page_of_runs(
        &state,
        &auth,
        List::Usage,
        RunQuery {
            service: query.service,
            status,
            offset: start,
            limit,
        },
    )
    .await?;
    if csv {
        let mut response = (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            crate::routes::usage::csv(&runs),
        )
            .into_response();
        if let Some(next) = next_cursor.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert("next-cursor", next);
        }
        return Ok(response);
    }
    Ok(Json(UsageList {
        data: runs.iter().map(UsageRow::of).collect(),
        next_cursor,
    })
    .into_response())
}
