//! A run's output as the pages show it, the same on a service's page (a run in the request) and
//! on a run's own page (a background run).

use quickscale_service_sdk::ServiceOutput;
use serde::Serialize;

/// The summary, the labelled fields, the table and the full result as indented JSON; empty
/// when there is no output (a run that failed or has not ended).
#[derive(Debug, Default, Serialize)]
pub struct OutputView {
    pub summary: String,
    pub fields: Vec<(String, String)>,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub json: String,
}

impl OutputView {
    pub fn of(output: Option<&ServiceOutput>) -> Self {
        let Some(output) = output else {
            return OutputView::default();
        };
        let (columns, rows) = output
            .table
            .as_ref()
            .map(|t| (t.columns.clone(), t.rows.clone()))
            .unwrap_or_default();
        OutputView {
            summary: output.summary.clone(),
            fields: output
                .fields
                .iter()
                .map(|f| (f.label.clone(), f.value.clone()))
                .collect(),
            columns,
            rows,
            json: if output.data.is_null() {
                String::new()
            } else {
                serde_json::to_string_pretty(&output.data).unwrap_or_default()
            },
        }
    }
}
