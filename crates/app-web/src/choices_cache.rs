//! Who asked to be told when their runs end, kept in process: a run that ends reads no
//! notification choices from the database (most users ask for nothing).
//!
//! [`CachedChoices`] wraps the notification store. Only [`CachedChoices::wants`] (used when a
//! run ends) reads from the copy; every other read goes to the store. The copy is good for one
//! version of the choices (`CacheVersions::notification_preferences`, moved on by the database
//! with every change, whichever instance makes it):
//!
//! - the services' settings cache reads that version together with its own (one statement,
//!   `settings_cache`), before every run is priced, and hands it over ([`CachedChoices::compared`]):
//!   the end of a run started after a change, on any instance, is told according to the change;
//! - when no comparison was made for [`CHOICES_MAX_AGE`] (a worker's background runs, say),
//!   `wants` reads the versions itself first;
//! - a change made through this instance drops that user's entry at once, and a read that raced
//!   with a change is not kept (a generation number), as in `user_cache`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use quickscale_domain_identity::UserId;
use quickscale_domain_kernel::StorageError;
use quickscale_service_sdk::CacheVersionStore;
use quickscale_service_sdk::notify::{
    AttemptOutcome, DeliveryAttempt, DeliveryStatus, NewDelivery, NotificationPreferences,
    NotificationStore, WebhookDelivery, WebhookEndpoint,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// How long the copy is trusted without comparing its version with the database's (as long as
/// the pages trust the services' settings, `settings_cache::SETTINGS_MAX_AGE`).
pub const CHOICES_MAX_AGE: Duration = Duration::from_secs(1);

/// At most this many users are kept; past it, the copy starts again empty.
const CAPACITY: usize = 10_000;

/// What a user asked to be told when a run ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wants {
    /// A webhook endpoint is registered.
    pub webhook: bool,
    /// "Email me when a background run finishes."
    pub email_background_runs: bool,
}

impl Wants {
    fn of(preferences: &NotificationPreferences) -> Self {
        Wants {
            webhook: preferences.webhook.is_some(),
            email_background_runs: preferences.email_background_runs,
        }
    }
}

#[derive(Debug, Default)]
struct Copy {
    /// The version of the choices the entries are good for.
    version: u64,
    /// When that version was last compared with the database's (never: `None`).
    compared_at: Option<Instant>,
    /// Moved on by every version change and every change made here: a read that started
    /// before one is not kept.
    generation: u64,
    entries: HashMap<UserId, Wants>,
}

/// The notification store, with what each user wants told kept in process (see the module).
pub struct CachedChoices {
    inner: Arc<dyn NotificationStore>,
    versions: Arc<dyn CacheVersionStore>,
    copy: Mutex<Copy>,
}

impl std::fmt::Debug for CachedChoices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedChoices")
            .field("version", &self.copy().version)
            .finish_non_exhaustive()
    }
}

impl CachedChoices {
    pub fn new(inner: Arc<dyn NotificationStore>, versions: Arc<dyn CacheVersionStore>) -> Self {
        CachedChoices {
            inner,
            versions,
            copy: Mutex::default(),
        }
    }

    fn copy(&self) -> MutexGuard<'_, Copy> {
        self.copy.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The choices' version as just read from the database: a newer one empties the copy.
    pub fn compared(&self, version: u64) {
        let mut copy = self.copy();
        if version > copy.version {
            copy.version = version;
            copy.generation += 1;
            copy.entries.clear();
        }
        copy.compared_at = Some(Instant::now());
    }

    /// What `user` wants told, from the copy when it has them.
    pub async fn wants(&self, user: UserId) -> Result<Wants, StorageError> {
        let stale = self
            .copy()
            .compared_at
            .is_none_or(|at| at.elapsed() >= CHOICES_MAX_AGE);
        if stale {
            let versions = self.versions.versions().await?;
            self.compared(versions.notification_preferences);
        }
        let generation = {
            let copy = self.copy();
            if let Some(wants) = copy.entries.get(&user) {
                return Ok(*wants);
            }
            copy.generation
        };
        let wants = Wants::of(&self.inner.preferences(user).await?);
        let mut copy = self.copy();
        if copy.generation == generation {
            if copy.entries.len() >= CAPACITY {
                copy.entries.clear();
            }
            copy.entries.insert(user, wants);
        }
        Ok(wants)
    }

    /// Drops what is kept of `user` (after a change made here).
    fn forget(&self, user: UserId) {
        let mut copy = self.copy();
        copy.generation += 1;
        copy.entries.remove(&user);
    }
}

#[async_trait]
impl NotificationStore for CachedChoices {
    async fn preferences(&self, user: UserId) -> Result<NotificationPreferences, StorageError> {
        self.inner.preferences(user).await
    }
    async fn set_webhook(&self, endpoint: &WebhookEndpoint) -> Result<(), StorageError> {
        let set = self.inner.set_webhook(endpoint).await;
        self.forget(endpoint.user);
        set
    }
    async fn remove_webhook(&self, user: UserId) -> Result<bool, StorageError> {
        let removed = self.inner.remove_webhook(user).await;
        self.forget(user);
        removed
    }
    async fn set_email_background_runs(&self, user: UserId, on: bool) -> Result<(), StorageError> {
        let set = self.inner.set_email_background_runs(user, on).await;
        self.forget(user);
        set
    }
    async fn create_delivery(&self, delivery: &NewDelivery) -> Result<bool, StorageError> {
        self.inner.create_delivery(delivery).await
    }
    async fn delivery(&self, id: Uuid) -> Result<Option<WebhookDelivery>, StorageError> {
        self.inner.delivery(id).await
    }
    async fn record_attempt(
        &self,
        delivery: Uuid,
        outcome: &AttemptOutcome,
        status: DeliveryStatus,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> Result<u32, StorageError> {
        self.inner
            .record_attempt(delivery, outcome, status, next_attempt_at)
            .await
    }
    async fn deliveries(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<(WebhookDelivery, Vec<DeliveryAttempt>)>, StorageError> {
        self.inner.deliveries(user, limit).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use quickscale_adapters::memory::{
        MemoryCacheVersions, MemoryNotificationStore, MemoryServiceSettingsRepository,
    };
    use quickscale_domain_identity::UserId;
    use quickscale_domain_kernel::StorageError;
    use quickscale_service_sdk::notify::{NotificationPreferences, NotificationStore};
    use quickscale_service_sdk::{CacheVersionStore, CacheVersions};
    use time::OffsetDateTime;

    use super::{CachedChoices, Wants};

    /// The versions, counting the reads.
    struct Counted(MemoryCacheVersions, Arc<AtomicUsize>);

    #[async_trait]
    impl CacheVersionStore for Counted {
        async fn versions(&self) -> Result<CacheVersions, StorageError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.versions().await
        }
    }

    fn endpoint(user: UserId) -> quickscale_service_sdk::notify::WebhookEndpoint {
        quickscale_service_sdk::notify::WebhookEndpoint {
            user,
            url: "https://hooks.example.com/in".into(),
            secret_seed: "seed".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn the_copy_follows_changes_made_here_at_once_and_elsewhere_by_their_version() {
        // `store` is the shared database; another instance writes to it directly.
        let store = Arc::new(MemoryNotificationStore::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let versions = Arc::new(Counted(
            MemoryCacheVersions {
                settings: Arc::new(MemoryServiceSettingsRepository::default()),
                notifications: Arc::clone(&store),
            },
            Arc::clone(&reads),
        ));
        let choices = CachedChoices::new(store.clone(), versions.clone());
        let ann = UserId::generate();
        let nothing = Wants::default();

        // Never compared: the first question reads the versions, then the choices.
        assert_eq!(choices.wants(ann).await.unwrap(), nothing);
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // Another instance registers Ann's webhook: until a comparison, the copy stands...
        store.set_webhook(&endpoint(ann)).await.unwrap();
        assert_eq!(choices.wants(ann).await.unwrap(), nothing);
        assert_eq!(reads.load(Ordering::SeqCst), 1, "no read within the age");
        // ...and the next comparison (a run being priced) brings the change in.
        choices.compared(versions.versions().await.unwrap().notification_preferences);
        let webhook = Wants {
            webhook: true,
            email_background_runs: false,
        };
        assert_eq!(choices.wants(ann).await.unwrap(), webhook);

        // A change made here applies at once, without a comparison.
        choices.set_email_background_runs(ann, true).await.unwrap();
        assert_eq!(
            choices.wants(ann).await.unwrap(),
            Wants {
                email_background_runs: true,
                ..webhook
            }
        );
        assert!(choices.remove_webhook(ann).await.unwrap());
        assert!(!choices.wants(ann).await.unwrap().webhook);
        assert_eq!(
            choices.preferences(ann).await.unwrap(),
            NotificationPreferences {
                webhook: None,
                email_background_runs: true,
            }
        );

        // Past the age, the question compares the versions itself.
        store.set_email_background_runs(ann, false).await.unwrap();
        tokio::time::sleep(super::CHOICES_MAX_AGE).await;
        assert_eq!(choices.wants(ann).await.unwrap(), nothing);
    }
}
