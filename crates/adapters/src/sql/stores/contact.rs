//! The contact message store.

use async_trait::async_trait;
use quickscale_domain_kernel::{ContactMessage, ContactRepository, StorageError};

use super::Database;
use super::row::{get, time_of};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, storage_error};

/// The contact message store.
#[derive(Clone, Debug)]
pub struct SqlContactRepository {
    db: Database,
}

impl SqlContactRepository {
    pub fn new(db: Database) -> Self {
        SqlContactRepository { db }
    }
}

crate::sql::traced_store! { "contact",
#[async_trait]
impl ContactRepository for SqlContactRepository {
    async fn save(&self, message: &ContactMessage) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO contact_messages (id, name, email, subject, message, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(message.id)
        .bind(message.name.as_str())
        .bind(message.email.as_str())
        .bind(message.subject.as_str())
        .bind(message.message.as_str())
        .bind(DbTime(message.received_at))
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn recent(&self, limit: u32) -> Result<Vec<ContactMessage>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, name, email, subject, message, received_at FROM contact_messages \
             ORDER BY received_at DESC LIMIT $1",
        )
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(self.db.reader())
        .await
        .map_err(storage_error)?;
        rows.iter()
            .map(|row| {
                Ok(ContactMessage {
                    id: get(row, "id")?,
                    name: get(row, "name")?,
                    email: get(row, "email")?,
                    subject: get(row, "subject")?,
                    message: get(row, "message")?,
                    received_at: time_of(row, "received_at")?,
                })
            })
            .collect()
    }
}
}
