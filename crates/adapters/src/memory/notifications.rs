//! Notification choices and webhook deliveries in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use quickscale_domain_identity::UserId;
use quickscale_domain_kernel::{StorageError, StorageFailure};
use quickscale_service_sdk::notify::{
    AttemptOutcome, DeliveryAttempt, DeliveryStatus, NewDelivery, NotificationPreferences,
    NotificationStore, WebhookDelivery, WebhookEndpoint,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::lock;

#[derive(Debug, Default)]
struct State {
    preferences: HashMap<UserId, NotificationPreferences>,
    deliveries: Vec<(WebhookDelivery, Vec<DeliveryAttempt>)>,
}

/// Notification choices and webhook deliveries in memory.
#[derive(Debug, Default)]
pub struct MemoryNotificationStore {
    state: Mutex<State>,
    /// Moved on by every change to a user's choices (see `CacheVersions`).
    version: AtomicU64,
}

impl MemoryNotificationStore {
    /// The version of the users' choices.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }
}

#[async_trait]
impl NotificationStore for MemoryNotificationStore {
    async fn preferences(&self, user: UserId) -> Result<NotificationPreferences, StorageError> {
        Ok(lock(&self.state)
            .preferences
            .get(&user)
            .cloned()
            .unwrap_or_default())
    }

    async fn set_webhook(&self, endpoint: &WebhookEndpoint) -> Result<(), StorageError> {
        lock(&self.state)
            .preferences
            .entry(endpoint.user)
            .or_default()
            .webhook = Some(endpoint.clone());
        self.changed();
        Ok(())
    }

    async fn remove_webhook(&self, user: UserId) -> Result<bool, StorageError> {
        let removed = lock(&self.state)
            .preferences
            .get_mut(&user)
            .and_then(|p| p.webhook.take())
            .is_some();
        if removed {
            self.changed();
        }
        Ok(removed)
    }

    async fn set_email_background_runs(&self, user: UserId, on: bool) -> Result<(), StorageError> {
        lock(&self.state)
            .preferences
            .entry(user)
            .or_default()
            .email_background_runs = on;
        self.changed();
        Ok(())
    }

    async fn create_delivery(&self, delivery: &NewDelivery) -> Result<bool, StorageError> {
        let mut state = lock(&self.state);
        if state.deliveries.iter().any(|(d, _)| {
            d.delivery.user == delivery.user && d.delivery.event_id == delivery.event_id
        }) {
            return Ok(false);
        }
        state.deliveries.push((
            WebhookDelivery {
                delivery: delivery.clone(),
                status: DeliveryStatus::Pending,
                attempts: 0,
                next_attempt_at: None,
                delivered_at: None,
            },
            Vec::new(),
        ));
        Ok(true)
    }

    async fn delivery(&self, id: Uuid) -> Result<Option<WebhookDelivery>, StorageError> {
        Ok(lock(&self.state)
            .deliveries
            .iter()
            .find(|(d, _)| d.delivery.id == id)
            .map(|(d, _)| d.clone()))
    }

    async fn record_attempt(
        &self,
        delivery: Uuid,
        outcome: &AttemptOutcome,
        status: DeliveryStatus,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> Result<u32, StorageError> {
        let mut state = lock(&self.state);
        let (record, attempts) = state
            .deliveries
            .iter_mut()
            .find(|(d, _)| d.delivery.id == delivery)
            .ok_or_else(|| {
                StorageError::new(StorageFailure::Other, format!("no delivery {delivery}"))
            })?;
        record.attempts += 1;
        record.status = status;
        record.next_attempt_at = next_attempt_at;
        if outcome.succeeded() && record.delivered_at.is_none() {
            record.delivered_at = Some(outcome.at);
        }
        attempts.push(DeliveryAttempt {
            number: record.attempts,
            outcome: outcome.clone(),
        });
        Ok(record.attempts)
    }

    async fn deliveries(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<(WebhookDelivery, Vec<DeliveryAttempt>)>, StorageError> {
        let state = lock(&self.state);
        let mut mine: Vec<_> = state
            .deliveries
            .iter()
            .filter(|(d, _)| d.delivery.user == user)
            .cloned()
            .collect();
        mine.sort_by(|(a, _), (b, _)| {
            (b.delivery.created_at, b.delivery.id).cmp(&(a.delivery.created_at, a.delivery.id))
        });
        mine.truncate(limit.clamp(1, 500) as usize);
        Ok(mine)
    }
}
