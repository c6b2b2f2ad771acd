//! In-memory implementations of every port: fast fakes for tests and demos, held to the same
//! contract suites as the SQL stores.
//!
//! Each store is behind its port's cargo feature, as in the SQL backends.

#[cfg(feature = "stores")]
use std::sync::Arc;

#[cfg(any(feature = "identity", feature = "site"))]
mod accounts;
#[cfg(feature = "billing")]
mod billing;
#[cfg(feature = "site")]
mod contact;
#[cfg(feature = "credits")]
mod credits;
#[cfg(feature = "identity")]
mod hasher;
#[cfg(feature = "services")]
mod notifications;
#[cfg(feature = "limits")]
mod rate_limits;
#[cfg(feature = "services")]
mod settings;
#[cfg(feature = "billing")]
mod subscriptions;
#[cfg(feature = "services")]
mod usage;
#[cfg(feature = "identity")]
mod users;

#[cfg(any(feature = "identity", feature = "site"))]
pub use accounts::MemoryAccountStores;
#[cfg(feature = "billing")]
pub use billing::MemoryBillingRepository;
#[cfg(feature = "site")]
pub use contact::MemoryContactRepository;
#[cfg(feature = "credits")]
pub use credits::MemoryCreditStore;
#[cfg(feature = "identity")]
pub use hasher::PlainTextHasher;
#[cfg(feature = "services")]
pub use notifications::MemoryNotificationStore;
#[cfg(feature = "limits")]
pub use rate_limits::MemoryRateLimits;
#[cfg(feature = "services")]
pub use settings::{MemoryCacheVersions, MemoryServiceSettingsRepository};
#[cfg(feature = "billing")]
pub use subscriptions::MemorySubscriptionRepository;
#[cfg(feature = "services")]
pub use usage::MemoryUsageRepository;
#[cfg(feature = "identity")]
pub use users::MemoryUserRepository;

/// Every store, in memory.
#[cfg(feature = "stores")]
pub fn stores() -> crate::Stores {
    {
        let accounts = Arc::new(MemoryAccountStores::default());
        let credits: Arc<dyn quickscale_domain_credits::CreditStore> =
            Arc::new(MemoryCreditStore::default());
        let usage: Arc<dyn quickscale_service_sdk::ServiceUsageRepository> =
            Arc::new(MemoryUsageRepository::default());
        let service_settings = Arc::new(MemoryServiceSettingsRepository::default());
        let notifications = Arc::new(MemoryNotificationStore::default());
        crate::Stores {
            users: Arc::new(MemoryUserRepository::default()),
            paid_runs: Arc::new(quickscale_service_sdk::paid::SeparatePaidRuns::new(
                Arc::clone(&credits),
                Arc::clone(&usage),
            )),
            credits,
            usage,
            contact: Arc::new(MemoryContactRepository::default()),
            sessions: crate::sessions::SharedSessionStore::new(
                crate::sessions::MemorySessionStore::default(),
            ),
            cache_versions: Arc::new(MemoryCacheVersions {
                settings: Arc::clone(&service_settings),
                notifications: Arc::clone(&notifications),
            }),
            service_settings,
            billing: Arc::new(MemoryBillingRepository::default()),
            subscriptions: Arc::new(MemorySubscriptionRepository::default()),
            tokens: accounts.clone(),
            audit: accounts.clone(),
            api_keys: accounts.clone(),
            outbox: accounts,
            rate_limits: Arc::new(MemoryRateLimits::default()),
            notifications,
        }
    }
}

/// Locks a std mutex, recovering from poisoning (a panicking test must not break the others).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
