//! The user's service usage history, with filters and a CSV export.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use quickscale_service_sdk::usage::{RunQuery, RunStatus, ServiceRun};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::extract::CurrentUser;
use crate::paging::Paging;
use crate::routes::dashboard::RunView;
use crate::state::AppState;
use crate::view::Page;

const PAGE_SIZE: u32 = 25;
pub(crate) const CSV_LIMIT: u32 = 10_000;

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct UsageFilter {
    #[serde(default)]
    service: String,
    #[serde(default)]
    status: String,
}

impl UsageFilter {
    fn query(&self, offset: u64, limit: u32) -> RunQuery {
        RunQuery {
            service: Some(self.service.clone()).filter(|s| !s.is_empty()),
            status: RunStatus::parse(&self.status),
            offset,
            limit,
        }
    }
}

fn service_name(state: &AppState, slug: &str) -> String {
    state
        .registry()
        .get(slug)
        .map_or_else(|| slug.to_owned(), |r| r.descriptor.name.clone())
}

pub async fn history(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(filter): Query<UsageFilter>,
    paging: Paging,
) -> Result<Response, AppError> {
    let offset = paging.page_offset(PAGE_SIZE);
    let mut runs = state
        .stores()
        .usage
        .list(current.user.id, &filter.query(offset, PAGE_SIZE + 1))
        .await?;
    let has_next = runs.len() > PAGE_SIZE as usize;
    runs.truncate(PAGE_SIZE as usize);
    let runs: Vec<RunView> = runs
        .iter()
        .map(|r| RunView::of(r, &service_name(&state, &r.service)))
        .collect();
    let services: Vec<(String, String)> = state
        .registry()
        .iter()
        .map(|r| (r.descriptor.slug.clone(), r.descriptor.name.clone()))
        .collect();
    let statuses: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
    Page::new("usage.html")
        .with("runs", &runs)
        .with("filter", &filter)
        .with("services", &services)
        .with("statuses", &statuses)
        .with("pager", &paging.pager("/usage", &filter, has_next))
        .render(&state, &current.viewer())
        .await
}

/// Quotes a CSV cell when it needs it (RFC 4180), and defuses spreadsheet formulas.
fn cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// The usage CSV of these runs (the page's export and the API's `Accept: text/csv` answer).
pub(crate) fn csv(runs: &[ServiceRun]) -> String {
    let mut csv =
        String::from("started_at,service,status,cost,refunded,duration_ms,input_bytes,result\n");
    for run in runs {
        let summary = run
            .output
            .as_ref()
            .map(|o| o.summary.clone())
            .or_else(|| run.error.clone())
            .unwrap_or_default();
        let row = [
            run.started_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            run.service.clone(),
            run.status.as_str().to_owned(),
            run.cost.to_string(),
            run.refunded.to_string(),
            run.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
            run.input_bytes.to_string(),
            summary,
        ];
        csv.push_str(&row.iter().map(|v| cell(v)).collect::<Vec<_>>().join(","));
        csv.push('\n');
    }
    csv
}

pub async fn export(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(filter): Query<UsageFilter>,
) -> Result<Response, AppError> {
    let runs = state
        .stores()
        .usage
        .list(current.user.id, &filter.query(0, CSV_LIMIT))
        .await?;
    let csv = csv(&runs);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"usage.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
    }
}
