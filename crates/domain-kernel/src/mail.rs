//! The mailer port: how the app sends email, whatever carries it (SMTP, a development outbox,
//! memory in tests).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// An email ready to send: one recipient, a subject, a plain-text part and an optional HTML part.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EmailMessage {
    /// The one recipient's address. Messages go to one person each so that no recipient sees
    /// another.
    pub to: String,
    /// Where replies go when that is not the sender (the contact form's notification replies to the
    /// visitor).
    pub reply_to: Option<String>,
    /// The subject line.
    pub subject: String,
    /// The plain-text body, always present: some readers show nothing else.
    pub text: String,
    /// An HTML alternative of the same content.
    pub html: Option<String>,
}

/// Sending failed; `retryable` says whether trying again later may work.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("sending email failed: {message}")]
pub struct MailError {
    /// What went wrong, safe to show an admin (no credentials).
    pub message: String,
    /// True for failures that may pass (the server is down, a timeout), false for ones that will
    /// repeat (an address the server refuses); the outbox stops retrying on the latter.
    pub retryable: bool,
}

/// How the app sends email. Implementations deliver one message per call and say whether a failure
/// is worth retrying; queueing and retries belong to the outbox, not to the mailer.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers one message, or says why it could not.
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError>;
}
