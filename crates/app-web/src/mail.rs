//! The app's emails: rendered from the `emails/` templates and handed to the mailer (the outbox,
//! see `outbox`).

use quickscale_domain_kernel::EmailMessage;
use serde::Serialize;
use tera::Context;

use crate::state::AppState;

/// Renders `emails/{name}.txt` and `emails/{name}.html` with `context` (plus the app name and
/// base URL) and sends them. Failures are logged: the caller's action already happened.
pub async fn send_template(
    state: &AppState,
    name: &str,
    to: &str,
    subject: &str,
    context: &impl Serialize,
) {
    let mut ctx = match Context::from_serialize(context) {
        Ok(ctx) => ctx,
        Err(error) => {
            tracing::error!(%error, name, "email context");
            return;
        }
    };
    ctx.insert("base_url", &state.config().base_url);
    let text = state
        .templates()
        .render(&format!("emails/{name}.txt"), &ctx);
    let html = state
        .templates()
        .render(&format!("emails/{name}.html"), &ctx);
    let (text, html) = match (text, html) {
        (Ok(text), Ok(html)) => (text, html),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(%error, name, "an email template did not render");
            return;
        }
    };
    let message = EmailMessage {
        to: to.to_owned(),
        reply_to: None,
        subject: subject.to_owned(),
        text,
        html: Some(html),
    };
    if let Err(error) = state.mailer().send(&message).await {
        tracing::error!(%error, name, "an email could not be stored");
    }
}
