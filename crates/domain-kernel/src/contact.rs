//! Messages sent through the public contact form.

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StorageError;

/// Why a contact form was refused, field by field.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ContactErrors {
    /// Set when the name is empty or longer than 100 characters.
    pub name: Option<String>,
    /// Set when the address is not one a reply could reach.
    pub email: Option<String>,
    /// Set when the message is shorter than 10 or longer than 5,000 characters.
    pub message: Option<String>,
}

/// A message from a visitor.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ContactMessage {
    /// Time-ordered (UUID v7).
    pub id: Uuid,
    /// The visitor's name, trimmed.
    pub name: String,
    /// The reply address the visitor gave. It is not verified: it is shown to the staff, and used
    /// as the `Reply-To` of the notification, never as a sender.
    pub email: String,
    /// "Contact form" when the visitor left it empty; at most 150 characters.
    pub subject: String,
    /// The message, trimmed.
    pub message: String,
    /// When the form was received.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

impl ContactMessage {
    /// Checks the form: a name, a plausible reply address and a message, each within bounds.
    pub fn parse(
        name: &str,
        email: &str,
        subject: &str,
        message: &str,
        received_at: OffsetDateTime,
    ) -> Result<Self, ContactErrors> {
        let (name, email, subject, message) =
            (name.trim(), email.trim(), subject.trim(), message.trim());
        let mut errors = ContactErrors::default();
        if name.is_empty() || name.chars().count() > 100 {
            errors.name = Some("enter your name (at most 100 characters)".into());
        }
        let plausible = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            && !email.chars().any(char::is_whitespace);
        if !plausible {
            errors.email = Some("enter an email address we can reply to".into());
        }
        if message.chars().count() < 10 || message.chars().count() > 5_000 {
            errors.message = Some("write between 10 and 5,000 characters".into());
        }
        if errors != ContactErrors::default() {
            return Err(errors);
        }
        let subject = if subject.is_empty() {
            "Contact form".to_owned()
        } else {
            subject.chars().take(150).collect()
        };
        Ok(ContactMessage {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            email: email.to_owned(),
            subject,
            message: message.to_owned(),
            received_at,
        })
    }
}

/// Where contact messages are kept until someone reads them in the admin.
#[async_trait]
pub trait ContactRepository: Send + Sync {
    /// Stores a parsed message.
    async fn save(&self, message: &ContactMessage) -> Result<(), StorageError>;
    /// Newest first.
    async fn recent(&self, limit: u32) -> Result<Vec<ContactMessage>, StorageError>;
}
