//! Settings, notifications: "email me when a background run finishes", the webhook endpoint
//! (its secret shown once), and the log of deliveries with each attempt and a Replay button.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_adapters::jobs::Enqueue;
use quickscale_domain_identity::Password;
use quickscale_service_sdk::notify::webhook::SIGNATURE_HEADER;
use quickscale_service_sdk::notify::{
    DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEndpoint,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;
use crate::extract::CurrentUser;
use crate::notifications::delivery::signing_secret;
use crate::queue::Job;
use crate::session;
use crate::state::AppState;
use crate::view::{Page, date_time};

/// The longest webhook address accepted.
pub const MAX_URL: usize = 2000;

/// How many deliveries the page shows.
const SHOWN_DELIVERIES: u32 = 25;

#[derive(Serialize)]
struct AttemptView {
    number: u32,
    at: String,
    status_code: Option<u16>,
    error: Option<String>,
    duration_ms: u64,
    replay: bool,
    succeeded: bool,
}

#[derive(Serialize)]
struct DeliveryView {
    id: String,
    event_type: String,
    event_id: String,
    created: String,
    status: &'static str,
    next_attempt: Option<String>,
    attempts: Vec<AttemptView>,
}

impl DeliveryView {
    fn of((delivery, attempts): &(WebhookDelivery, Vec<DeliveryAttempt>)) -> Self {
        DeliveryView {
            id: delivery.delivery.id.to_string(),
            event_type: delivery.delivery.event_type.clone(),
            event_id: delivery.delivery.event_id.clone(),
            created: date_time(delivery.delivery.created_at),
            status: match delivery.status {
                DeliveryStatus::Pending => "pending",
                DeliveryStatus::Succeeded => "delivered",
                DeliveryStatus::Failed => "failed",
            },
            next_attempt: delivery.next_attempt_at.map(date_time),
            attempts: attempts
                .iter()
                .map(|a| AttemptView {
                    number: a.number,
                    at: date_time(a.outcome.at),
                    status_code: a.outcome.status_code,
                    error: a.outcome.error.clone(),
                    duration_ms: a.outcome.duration_ms,
                    replay: a.outcome.replay,
                    succeeded: a.outcome.succeeded(),
                })
                .collect(),
        }
    }
}

/// The page, with a secret just made (shown this once) or why the form was refused.
async fn page(
    state: &AppState,
    current: &CurrentUser,
    new_secret: Option<&str>,
    error: Option<(&str, &str)>,
) -> Result<Response, AppError> {
    let store = &state.stores().notifications;
    let prefs = store.preferences(current.user.id).await?;
    let deliveries: Vec<DeliveryView> = store
        .deliveries(current.user.id, SHOWN_DELIVERIES)
        .await?
        .iter()
        .map(DeliveryView::of)
        .collect();
    let webhook = prefs
        .webhook
        .as_ref()
        .map(|w| serde_json::json!({"url": w.url, "since": date_time(w.created_at)}));
    let mut response = Page::new("account/notifications.html")
        .with("webhook", &webhook)
        .with("email_background_runs", &prefs.email_background_runs)
        .with("deliveries", &deliveries)
        .with("new_secret", &new_secret)
        .with("error", &error.map(|(message, _)| message))
        .with("url", &error.map_or("", |(_, url)| url))
        .with("max_url", &MAX_URL)
        .with("signature_header", &SIGNATURE_HEADER)
        .status(if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        })
        .render(state, &current.viewer())
        .await?;
    // The page may hold a new secret: no cache keeps it.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn show(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    page(&state, &current, None, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email_background_runs: Option<String>,
}

pub async fn set_email(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    let on = form.email_background_runs.is_some();
    state
        .stores()
        .notifications
        .set_email_background_runs(current.user.id, on)
        .await?;
    let text = if on {
        "We will email you when a background run finishes."
    } else {
        "We will not email you about finished runs."
    };
    session::flash(&current.session, "success", text).await?;
    Ok(Redirect::to("/settings/notifications").into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    current_password: String,
}

/// Registers (or replaces) the endpoint; its new secret is in this response only.
pub async fn set_webhook(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<WebhookForm>,
) -> Result<Response, AppError> {
    let url = form.url.trim();
    if url.is_empty() {
        return page(
            &state,
            &current,
            None,
            Some(("Enter the address to send events to.", url)),
        )
        .await;
    }
    if url.len() > MAX_URL {
        let message = format!("The address is longer than {MAX_URL} characters.");
        return page(&state, &current, None, Some((&message, url))).await;
    }
    if let Err(error) = state.webhooks().check(url).await {
        let message = format!("This address cannot receive webhooks: {error}.");
        return page(&state, &current, None, Some((&message, url))).await;
    }
    // Run results go to this address: confirm it is the user, as for an API key.
    if !password_ok(&state, &current, form.current_password).await? {
        return page(
            &state,
            &current,
            None,
            Some(("The current password is incorrect.", url)),
        )
        .await;
    }
    let seed = session::random_token();
    let endpoint = WebhookEndpoint {
        user: current.user.id,
        url: url.to_owned(),
        secret_seed: seed.clone(),
        created_at: state.clock().now(),
    };
    state.stores().notifications.set_webhook(&endpoint).await?;
    let secret = signing_secret(state.config().secret_key.expose(), &seed);
    page(&state, &current, Some(&secret), None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
}

/// A new secret for the same address (the old one stops working at once).
pub async fn roll_secret(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let store = &state.stores().notifications;
    let Some(endpoint) = store.preferences(current.user.id).await?.webhook else {
        return Ok(Redirect::to("/settings/notifications").into_response());
    };
    if !password_ok(&state, &current, form.current_password).await? {
        return page(
            &state,
            &current,
            None,
            Some(("The current password is incorrect.", "")),
        )
        .await;
    }
    let seed = session::random_token();
    store
        .set_webhook(&WebhookEndpoint {
            secret_seed: seed.clone(),
            created_at: state.clock().now(),
            ..endpoint
        })
        .await?;
    let secret = signing_secret(state.config().secret_key.expose(), &seed);
    page(&state, &current, Some(&secret), None).await
}

pub async fn remove_webhook(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    if state
        .stores()
        .notifications
        .remove_webhook(current.user.id)
        .await?
    {
        session::flash(
            &current.session,
            "success",
            "The webhook was removed: no more events are sent to it.",
        )
        .await?;
    }
    Ok(Redirect::to("/settings/notifications").into_response())
}

/// Queues one more attempt of a delivery of the user's.
pub async fn replay(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let delivery = state
        .stores()
        .notifications
        .delivery(id)
        .await?
        .filter(|d| d.delivery.user == current.user.id)
        .ok_or(AppError::NotFound)?;
    state
        .jobs()
        .push(
            Job::ReplayWebhook {
                id: delivery.delivery.id,
                request: Uuid::now_v7(),
            },
            Enqueue::now().attempts(1),
        )
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    session::flash(
        &current.session,
        "success",
        "The event is being sent again: the attempt shows in its log in a moment.",
    )
    .await?;
    Ok(Redirect::to("/settings/notifications").into_response())
}

async fn password_ok(
    state: &AppState,
    current: &CurrentUser,
    password: String,
) -> Result<bool, AppError> {
    Ok(state
        .accounts()
        .check_password(current.user.id, &Password::new(password))
        .await?)
}
