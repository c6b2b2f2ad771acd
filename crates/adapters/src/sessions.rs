//! Browser session stores for tower-sessions, behind one shareable handle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use quickscale_domain_identity::UserId;
use quickscale_domain_kernel::StorageError;
use time::OffsetDateTime;
use tower_sessions_core::SessionStore;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::Result as SessionResult;
use uuid::Uuid;

/// The session key under which the app keeps the signed-in user's id.
pub const USER_ID_KEY: &str = "user_id";

/// The signed-in user of a session record, if any.
pub(crate) fn user_of(record: &Record) -> Option<Uuid> {
    record
        .data
        .get(USER_ID_KEY)
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// Housekeeping and per-user control over stored sessions.
#[async_trait]
pub trait SessionAdmin: Send + Sync {
    /// Removes sessions that have expired; returns how many.
    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StorageError>;
    /// Ends every session of `user` except the one with id `except`.
    async fn delete_for_user(
        &self,
        user: UserId,
        except: Option<&str>,
    ) -> Result<u64, StorageError>;
    async fn count_for_user(&self, user: UserId, now: OffsetDateTime) -> Result<u64, StorageError>;
    /// The user's live sessions: their ids (secrets: never show them) and expiry, soonest
    /// expiring last.
    async fn list_for_user(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StorageError>;
}

trait Both: SessionStore + SessionAdmin {}
impl<T: SessionStore + SessionAdmin> Both for T {}

/// Any session store, cheaply cloneable, usable by `tower_sessions::SessionManagerLayer`.
#[derive(Clone)]
pub struct SharedSessionStore(Arc<dyn Both>);

impl SharedSessionStore {
    pub fn new(store: impl SessionStore + SessionAdmin + 'static) -> Self {
        SharedSessionStore(Arc::new(store))
    }

    pub fn admin(&self) -> &dyn SessionAdmin {
        &*self.0
    }
}

impl std::fmt::Debug for SharedSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSessionStore")
    }
}

#[async_trait]
impl SessionStore for SharedSessionStore {
    async fn create(&self, record: &mut Record) -> SessionResult<()> {
        self.0.create(record).await
    }
    async fn save(&self, record: &Record) -> SessionResult<()> {
        self.0.save(record).await
    }
    async fn load(&self, id: &Id) -> SessionResult<Option<Record>> {
        self.0.load(id).await
    }
    async fn delete(&self, id: &Id) -> SessionResult<()> {
        self.0.delete(id).await
    }
}

/// Sessions in memory, for tests.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    records: Mutex<HashMap<Id, Record>>,
}

impl MemorySessionStore {
    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<Id, Record>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create(&self, record: &mut Record) -> SessionResult<()> {
        let mut records = self.records();
        while records.contains_key(&record.id) {
            record.id = Id::default();
        }
        records.insert(record.id, record.clone());
        Ok(())
    }
    async fn save(&self, record: &Record) -> SessionResult<()> {
        self.records().insert(record.id, record.clone());
        Ok(())
    }
    async fn load(&self, id: &Id) -> SessionResult<Option<Record>> {
        let now = OffsetDateTime::now_utc();
        Ok(self
            .records()
            .get(id)
            .filter(|r| r.expiry_date > now)
            .cloned())
    }
    async fn delete(&self, id: &Id) -> SessionResult<()> {
        self.records().remove(id);
        Ok(())
    }
}

#[async_trait]
impl SessionAdmin for MemorySessionStore {
    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StorageError> {
        let mut records = self.records();
        let before = records.len();
        records.retain(|_, r| r.expiry_date > now);
        Ok((before - records.len()) as u64)
    }
    async fn delete_for_user(
        &self,
        user: UserId,
        except: Option<&str>,
    ) -> Result<u64, StorageError> {
        let mut records = self.records();
        let before = records.len();
        records.retain(|id, r| {
            user_of(r) != Some(user.as_uuid()) || except.is_some_and(|e| e == id.to_string())
        });
        Ok((before - records.len()) as u64)
    }
    async fn list_for_user(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StorageError> {
        let mut found: Vec<(String, OffsetDateTime)> = self
            .records()
            .values()
            .filter(|r| r.expiry_date > now && user_of(r) == Some(user.as_uuid()))
            .map(|r| (r.id.to_string(), r.expiry_date))
            .collect();
        found.sort_by_key(|(_, expiry)| std::cmp::Reverse(*expiry));
        Ok(found)
    }

    async fn count_for_user(&self, user: UserId, now: OffsetDateTime) -> Result<u64, StorageError> {
        Ok(self
            .records()
            .values()
            .filter(|r| r.expiry_date > now && user_of(r) == Some(user.as_uuid()))
            .count() as u64)
    }
}
