//! Admin: the services, their settings and their usage over time.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_credits::Credits;
use quickscale_service_sdk::ServiceSettings;
use quickscale_service_sdk::stats::{ServiceStats, summarize};
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::audit::AuditAction;
use crate::error::AppError;
use crate::extract::AdminUser;
use crate::session;
use crate::state::AppState;
use crate::view::Page;

const SAMPLE_LIMIT: u32 = 100_000;

#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    days: Option<u16>,
}

/// A bar chart of runs per day with the failures stacked in, drawn as SVG by the template.
#[derive(Debug, Serialize)]
struct Chart {
    width: u32,
    height: u32,
    bars: Vec<Bar>,
    max_runs: u64,
    max_median: u64,
    /// The median-duration line as SVG polyline points.
    median_points: String,
}

#[derive(Debug, Serialize)]
struct Bar {
    x: u32,
    width: u32,
    y: u32,
    height: u32,
    failed_y: u32,
    failed_height: u32,
    label: String,
}

fn chart(stats: &ServiceStats) -> Chart {
    let (width, height) = (600u32, 120u32);
    let days = stats.daily.len().max(1) as u32;
    let slot = width / days;
    let max_runs = stats.daily.iter().map(|d| d.runs).max().unwrap_or(0).max(1);
    let max_median = stats
        .daily
        .iter()
        .filter_map(|d| d.median_ms)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |value: u64, max: u64| {
        ((value as f64 / max as f64) * f64::from(height - 10)).round() as u32
    };
    let bars = stats
        .daily
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let bar_height = scale(day.runs, max_runs);
            let failed_height = scale(day.failures, max_runs);
            Bar {
                x: i as u32 * slot + 1,
                width: slot.saturating_sub(2).max(1),
                y: height - bar_height,
                height: bar_height,
                failed_y: height - failed_height,
                failed_height,
                label: format!(
                    "{}: {} runs, {} failed, median {}",
                    day.date,
                    day.runs,
                    day.failures,
                    day.median_ms.map_or("-".into(), |m| format!("{m} ms"))
                ),
            }
        })
        .collect();
    let median_points = stats
        .daily
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            d.median_ms.map(|m| {
                format!(
                    "{},{}",
                    i as u32 * slot + slot / 2,
                    height - scale(m, max_median)
                )
            })
        })
        .collect::<Vec<_>>()
        .join(" ");
    Chart {
        width,
        height,
        bars,
        max_runs,
        max_median,
        median_points,
    }
}

#[derive(Debug, Serialize)]
struct ServiceRow {
    slug: String,
    name: String,
    registered: bool,
    enabled: bool,
    default_cost: String,
    cost_override: String,
    display_order: i32,
    stats: ServiceStats,
    chart: Chart,
}

pub async fn services(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(period): Query<PeriodQuery>,
) -> Result<Response, AppError> {
    let days = period.days.unwrap_or(30).clamp(1, 365);
    let now = state.clock().now();
    let samples = state
        .stores()
        .usage
        .samples_since(now - Duration::days(i64::from(days)), SAMPLE_LIMIT)
        .await?;
    let slugs: Vec<String> = state
        .registry()
        .iter()
        .map(|r| r.descriptor.slug.clone())
        .collect();
    // An admin sees the settings as stored, whichever instance changed them.
    state.current_service_settings().await?;
    let settings = state.runner().settings();
    let stats = summarize(&samples, &slugs, now, days);
    let mut rows: Vec<ServiceRow> = state
        .registry()
        .iter()
        .zip(stats)
        .map(|(registered, stats)| {
            let d = &registered.descriptor;
            let current = settings.get(&d.slug);
            ServiceRow {
                slug: d.slug.clone(),
                name: d.name.clone(),
                registered: true,
                enabled: current.as_ref().is_none_or(|s| s.enabled),
                default_cost: d.cost.to_string(),
                cost_override: current
                    .as_ref()
                    .and_then(|s| s.cost_override)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                display_order: current.as_ref().map_or(0, |s| s.display_order),
                chart: chart(&stats),
                stats,
            }
        })
        .collect();
    rows.sort_by_key(|r| r.display_order);
    Page::new("admin/services.html")
        .with("services", &rows)
        .with("days", &days)
        .with("sampled", &(samples.len() as u32 >= SAMPLE_LIMIT))
        .render(&state, &admin.viewer())
        .await
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    cost_override: String,
    #[serde(default)]
    display_order: String,
}

/// Saves one service's settings; the runner uses them from the next run.
pub async fn update(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(slug): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    if state.registry().get(&slug).is_none() {
        return Err(AppError::NotFound);
    }
    let cost_override = match form.cost_override.trim() {
        "" => None,
        text => match Credits::parse(text) {
            Ok(cost)
                if cost <= Credits::whole(quickscale_service_sdk::ServiceDescriptor::MAX_COST) =>
            {
                Some(cost)
            }
            Ok(_) => {
                return Err(AppError::BadRequest(format!(
                    "The cost is above the maximum of {}: go back and enter a smaller cost.",
                    crate::wording::plural(
                        quickscale_service_sdk::ServiceDescriptor::MAX_COST,
                        "credit per run",
                        "credits per run"
                    )
                )));
            }
            Err(e) => {
                return Err(AppError::BadRequest(format!(
                    "The cost override is not valid ({e}): go back and enter an amount such as 2.50, or leave it empty for the service's own cost."
                )));
            }
        },
    };
    let display_order = form.display_order.trim().parse::<i32>().map_err(|_| {
        AppError::BadRequest(
            "The order must be a whole number such as 10: go back and correct it.".into(),
        )
    })?;
    let settings = ServiceSettings {
        slug: slug.clone(),
        enabled: form.enabled.is_some(),
        cost_override,
        display_order,
    };
    state.current_service_settings().await?;
    let before = state.runner().settings().get(&slug);
    if !state.stores().service_settings.update(&settings).await? {
        return Err(AppError::NotFound);
    }
    // Here at once; on the other instances at their next run (see `settings_cache`).
    state.reload_service_settings().await?;
    crate::audit::record(
        &state,
        &admin.user,
        AuditAction::ServiceSettingsChanged,
        None,
        serde_json::to_value(&before).unwrap_or_default(),
        serde_json::to_value(&settings).unwrap_or_default(),
    )
    .await;
    tracing::info!(admin = %admin.user.id, %slug, enabled = settings.enabled, cost = ?settings.cost_override, "service settings changed");
    session::flash(
        &admin.session,
        "success",
        format!("Saved the settings of {slug}."),
    )
    .await?;
    Ok(Redirect::to("/admin/services").into_response())
}
