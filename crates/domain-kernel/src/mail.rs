//! The mailer port: how the app sends email, whatever carries it (SMTP, a development outbox,
//! memory in tests).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// An email ready to send: one recipient, a subject, a plain-text part and an optional HTML part.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EmailMessage {
    pub to: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Sending failed; `retryable` says whether trying again later may work.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("sending email failed: {message}")]
pub struct MailError {
    pub message: String,
    pub retryable: bool,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError>;
}
