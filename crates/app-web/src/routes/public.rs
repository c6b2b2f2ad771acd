//! Public pages: home, about, contact, health and readiness.

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_kernel::{ContactErrors, ContactMessage, EmailMessage};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::extract::Viewer;
use crate::session;
use crate::state::AppState;
use crate::view::{Page, credits_label};

pub async fn home(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let services: Vec<_> = state
        .offered_services()
        .into_iter()
        .map(|(descriptor, cost)| crate::routes::services::card(descriptor, cost))
        .collect();
    Page::new("pages/home.html")
        .with("services", &services)
        .with(
            "welcome_credits",
            &credits_label(state.config().welcome_credits),
        )
        .render(&state, &viewer)
        .await
}

pub async fn about(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    Page::new("pages/about.html").render(&state, &viewer).await
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ContactForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Default, Serialize)]
struct ContactErrorsView {
    name: Option<String>,
    email: Option<String>,
    message: Option<String>,
}

impl From<ContactErrors> for ContactErrorsView {
    fn from(e: ContactErrors) -> Self {
        ContactErrorsView {
            name: e.name.map(crate::wording::sentence),
            email: e.email.map(crate::wording::sentence),
            message: e.message.map(crate::wording::sentence),
        }
    }
}

pub async fn contact_form(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    let form = ContactForm {
        name: viewer
            .user
            .as_ref()
            .map(|u| u.display_name.as_str().to_owned())
            .unwrap_or_default(),
        email: viewer
            .user
            .as_ref()
            .map(|u| u.email.to_string())
            .unwrap_or_default(),
        ..ContactForm::default()
    };
    Page::new("pages/contact.html")
        .with("form", &form)
        .with("errors", &ContactErrorsView::default())
        .render(&state, &viewer)
        .await
}

/// Stores the message, then mails it to the contact address. The message is kept even if the
/// mail cannot be sent (the admin can read it from the database).
pub async fn contact_send(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ContactForm>,
) -> Result<Response, AppError> {
    let now = state.clock().now();
    let message =
        match ContactMessage::parse(&form.name, &form.email, &form.subject, &form.message, now) {
            Ok(message) => message,
            Err(errors) => {
                return Page::new("pages/contact.html")
                    .with("form", &form)
                    .with("errors", &ContactErrorsView::from(errors))
                    .status(StatusCode::UNPROCESSABLE_ENTITY)
                    .render(&state, &viewer)
                    .await;
            }
        };
    state.stores().contact.save(&message).await?;
    let mail = EmailMessage {
        to: state.config().contact_email.to_string(),
        reply_to: Some(message.email.clone()),
        subject: format!("[{}] {}", state.config().app_name, message.subject),
        text: format!(
            "From: {} <{}>\n\n{}",
            message.name, message.email, message.message
        ),
        html: None,
    };
    if let Err(error) = state.mailer().send(&mail).await {
        tracing::warn!(%error, id = %message.id, "contact message stored but not mailed");
    }
    session::flash(
        &viewer.session,
        "success",
        "Thanks for your message. We will get back to you soon.",
    )
    .await?;
    Ok(Redirect::to("/contact").into_response())
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    database: &'static str,
}

/// 200 when the database answers, 503 otherwise.
pub async fn health(State(state): State<AppState>) -> Response {
    match state.database().ping().await {
        Ok(()) => Json(Health {
            status: "ok",
            database: "ok",
        })
        .into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    database: "unreachable",
                }),
            )
                .into_response()
        }
    }
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    database: &'static str,
    /// Migrations this build knows that the database has not applied.
    pending_migrations: Vec<i64>,
    /// The job queue's storage: `ok` or `unreachable`.
    queue: &'static str,
}

/// Readiness, for load balancers and orchestrators: 200 when the database answers and has every
/// migration this build knows (an instance of a newer build waits for `migrate`) and the job
/// queue's storage answers; 503 with
/// what is missing otherwise. `/health` stays liveness (the process answers and the database
/// is reachable).
pub async fn ready(State(state): State<AppState>) -> Response {
    let (database, pending) = match state.database().pending_migrations().await {
        Ok(pending) => ("ok", pending),
        Err(error) => {
            tracing::warn!(%error, "readiness check: the database does not answer");
            ("unreachable", Vec::new())
        }
    };
    let queue = match state.jobs().queue().stats().await {
        Ok(_) => "ok",
        Err(error) => {
            tracing::warn!(%error, "readiness check: the job queue does not answer");
            "unreachable"
        }
    };
    let ready = database == "ok" && pending.is_empty() && queue == "ok";
    let body = Json(Readiness {
        status: if ready { "ready" } else { "unavailable" },
        database,
        pending_migrations: pending,
        queue,
    });
    if ready {
        body.into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}
