use std::sync::Mutex;

use async_trait::async_trait;
#[cfg(feature = "identity")]
use quickscale_domain_identity::{
    ApiKey, ApiKeyError, ApiKeyId, ApiKeyRepository, KeyLimits, TokenPurpose, TokenRecord,
    TokenRepository, UserId,
};
use quickscale_domain_kernel::StorageError;
#[cfg(feature = "identity")]
use quickscale_domain_kernel::StorageFailure;
#[cfg(feature = "site")]
use quickscale_domain_kernel::{
    AuditEntry, AuditLog, AuditQuery, EmailMessage, OutboxCounts, OutboxMessage, OutboxQuery,
    OutboxStatus, OutboxStore,
};
#[cfg(feature = "identity")]
use time::Duration;
use time::OffsetDateTime;
#[cfg(feature = "site")]
use uuid::Uuid;

use super::lock;

#[derive(Debug, Default)]
struct State {
    #[cfg(feature = "identity")]
    tokens: Vec<(String, TokenRecord, Option<OffsetDateTime>)>,
    #[cfg(feature = "site")]
    audit: Vec<AuditEntry>,
    #[cfg(feature = "site")]
    outbox: Vec<OutboxMessage>,
    #[cfg(feature = "identity")]
    api_keys: Vec<(String, ApiKey)>,
}

/// Tokens, the audit log, the email outbox and API keys in memory.
#[derive(Debug, Default)]
pub struct MemoryAccountStores {
    state: Mutex<State>,
}

#[cfg(feature = "identity")]
#[async_trait]
impl TokenRepository for MemoryAccountStores {
    async fn issue(&self, hash: &str, record: &TokenRecord) -> Result<(), StorageError> {
        lock(&self.state)
            .tokens
            .push((hash.to_owned(), record.clone(), None));
        Ok(())
    }

    async fn consume(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StorageError> {
        let mut state = lock(&self.state);
        let found = state.tokens.iter_mut().find(|(h, r, used)| {
            h == hash && r.purpose == purpose && used.is_none() && r.expires_at > now
        });
        Ok(found.map(|(_, record, used)| {
            *used = Some(now);
            record.clone()
        }))
    }

    async fn find(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StorageError> {
        Ok(lock(&self.state)
            .tokens
            .iter()
            .find(|(h, r, used)| {
                h == hash && r.purpose == purpose && used.is_none() && r.expires_at > now
            })
            .map(|(_, record, _)| record.clone()))
    }

    async fn revoke_all(&self, user: UserId, purpose: TokenPurpose) -> Result<u64, StorageError> {
        let mut revoked = 0;
        for (_, record, used) in lock(&self.state).tokens.iter_mut() {
            if record.user == user && record.purpose == purpose && used.is_none() {
                *used = Some(record.created_at);
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn issued_since(
        &self,
        user: UserId,
        purpose: TokenPurpose,
        since: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        Ok(lock(&self.state)
            .tokens
            .iter()
            .filter(|(_, r, _)| r.user == user && r.purpose == purpose && r.created_at >= since)
            .count() as u64)
    }
}

#[cfg(feature = "site")]
#[async_trait]
impl AuditLog for MemoryAccountStores {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        lock(&self.state).audit.push(entry.clone());
        Ok(())
    }

    async fn list(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError> {
        let mut found: Vec<AuditEntry> = lock(&self.state)
            .audit
            .iter()
            .filter(|e| q.actor.is_none_or(|a| e.actor == a))
            .filter(|e| q.subject.is_none_or(|s| e.subject == Some(s)))
            .filter(|e| {
                q.action_prefix
                    .as_ref()
                    .is_none_or(|p| e.action.starts_with(p.as_str()))
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
        Ok(found
            .into_iter()
            .skip(usize::try_from(q.offset).unwrap_or(usize::MAX))
            .take(q.limit.clamp(1, 500) as usize)
            .collect())
    }
}

#[cfg(feature = "site")]
#[async_trait]
impl OutboxStore for MemoryAccountStores {
    async fn enqueue(
        &self,
        message: &EmailMessage,
        now: OffsetDateTime,
    ) -> Result<Uuid, StorageError> {
        let id = Uuid::now_v7();
        lock(&self.state).outbox.push(OutboxMessage {
            id,
            message: message.clone(),
            status: OutboxStatus::Queued,
            attempts: 0,
            last_error: None,
            next_attempt_at: None,
            created_at: now,
            sent_at: None,
        });
        Ok(id)
    }

    async fn due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StorageError> {
        let mut due: Vec<OutboxMessage> = lock(&self.state)
            .outbox
            .iter()
            .filter(|m| {
                m.status == OutboxStatus::Queued
                    || (m.status == OutboxStatus::Failed
                        && m.next_attempt_at.is_some_and(|t| t <= now))
            })
            .cloned()
            .collect();
        due.sort_by_key(|m| m.created_at);
        due.truncate(limit as usize);
        Ok(due)
    }

    async fn mark_sent(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StorageError> {
        if let Some(m) = lock(&self.state).outbox.iter_mut().find(|m| m.id == id) {
            m.status = OutboxStatus::Sent;
            m.attempts += 1;
            m.sent_at = Some(now);
            m.next_attempt_at = None;
        }
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: Uuid,
        error: &str,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> Result<(), StorageError> {
        if let Some(m) = lock(&self.state).outbox.iter_mut().find(|m| m.id == id) {
            m.status = OutboxStatus::Failed;
            m.attempts += 1;
            m.last_error = Some(error.to_owned());
            m.next_attempt_at = next_attempt_at;
        }
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<OutboxMessage>, StorageError> {
        Ok(lock(&self.state)
            .outbox
            .iter()
            .find(|m| m.id == id)
            .cloned())
    }

    async fn list(&self, q: &OutboxQuery) -> Result<Vec<OutboxMessage>, StorageError> {
        let mut found: Vec<OutboxMessage> = lock(&self.state)
            .outbox
            .iter()
            .filter(|m| q.status.is_none_or(|s| m.status == s))
            .filter(|m| q.to.as_ref().is_none_or(|t| &m.message.to == t))
            .cloned()
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(found
            .into_iter()
            .skip(usize::try_from(q.offset).unwrap_or(usize::MAX))
            .take(q.limit.clamp(1, 500) as usize)
            .collect())
    }

    async fn counts(&self) -> Result<OutboxCounts, StorageError> {
        let state = lock(&self.state);
        let mut counts = OutboxCounts::default();
        for m in &state.outbox {
            match (m.status, m.next_attempt_at) {
                (OutboxStatus::Queued, _) | (OutboxStatus::Failed, Some(_)) => counts.pending += 1,
                (OutboxStatus::Failed, None) => counts.failed += 1,
                _ => {}
            }
        }
        Ok(counts)
    }
}

#[cfg(feature = "identity")]
#[async_trait]
impl ApiKeyRepository for MemoryAccountStores {
    async fn create(&self, key: &ApiKey, hash: &str, max_active: u64) -> Result<(), ApiKeyError> {
        let mut state = lock(&self.state);
        let active = state
            .api_keys
            .iter()
            .filter(|(_, k)| k.user == key.user && k.is_active())
            .count() as u64;
        if active >= max_active {
            return Err(ApiKeyError::TooMany);
        }
        if state
            .api_keys
            .iter()
            .any(|(h, k)| h == hash || k.id == key.id)
        {
            return Err(ApiKeyError::Storage(StorageError::new(
                StorageFailure::Other,
                "an API key with this id or hash is stored already",
            )));
        }
        state.api_keys.push((hash.to_owned(), key.clone()));
        Ok(())
    }

    async fn authenticate(
        &self,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ApiKey>, StorageError> {
        let mut state = lock(&self.state);
        let found = state
            .api_keys
            .iter_mut()
            .find(|(h, k)| h == hash && k.is_active());
        Ok(found.map(|(_, key)| {
            if key.last_used_at.is_none_or(|t| now - t >= Duration::MINUTE) {
                key.last_used_at = Some(now);
            }
            key.clone()
        }))
    }

    async fn list(&self, user: UserId) -> Result<Vec<ApiKey>, StorageError> {
        let mut found: Vec<ApiKey> = lock(&self.state)
            .api_keys
            .iter()
            .filter(|(_, k)| k.user == user)
            .map(|(_, k)| k.clone())
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.0.cmp(&a.id.0)));
        Ok(found)
    }

    async fn revoke(
        &self,
        user: UserId,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let mut state = lock(&self.state);
        let found = state
            .api_keys
            .iter_mut()
            .find(|(_, k)| k.id == id && k.user == user && k.is_active());
        Ok(found.map(|(_, key)| key.revoked_at = Some(now)).is_some())
    }

    async fn revoke_all(&self, user: UserId, now: OffsetDateTime) -> Result<u64, StorageError> {
        let mut revoked = 0;
        for (_, key) in lock(&self.state).api_keys.iter_mut() {
            if key.user == user && key.is_active() {
                key.revoked_at = Some(now);
                revoked += 1;
            }
        }
        Ok(revoked)
    }
    async fn set_limits(
        &self,
        user: UserId,
        id: ApiKeyId,
        limits: KeyLimits,
    ) -> Result<bool, StorageError> {
        let mut state = lock(&self.state);
        let found = state
            .api_keys
            .iter_mut()
            .find(|(_, k)| k.id == id && k.user == user && k.is_active());
        Ok(found.map(|(_, key)| key.limits = limits).is_some())
    }
}
