//! Messages sent through the public contact form.

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StorageError;

/// Why a contact form was refused, field by field.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ContactErrors {
    pub name: Option<String>,
    pub email: Option<String>,
    pub message: Option<String>,
}

/// A message from a visitor.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ContactMessage {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub subject: String,
    pub message: String,
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

#[async_trait]
pub trait ContactRepository: Send + Sync {
    async fn save(&self, message: &ContactMessage) -> Result<(), StorageError>;
    /// Newest first.
    async fn recent(&self, limit: u32) -> Result<Vec<ContactMessage>, StorageError>;
}
