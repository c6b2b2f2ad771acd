//! In-memory implementations of every port: fast fakes for tests and demos, held to the same
//! contract suites as the SQL stores.

use std::sync::Arc;

mod accounts;
mod billing;
mod contact;
mod credits;
mod hasher;
mod settings;
mod subscriptions;
mod usage;
mod users;

pub use accounts::MemoryAccountStores;
pub use billing::MemoryBillingRepository;
pub use contact::MemoryContactRepository;
pub use credits::MemoryCreditStore;
pub use hasher::PlainTextHasher;
pub use settings::MemoryServiceSettingsRepository;
pub use subscriptions::MemorySubscriptionRepository;
pub use usage::MemoryUsageRepository;
pub use users::MemoryUserRepository;

/// Every store, in memory.
pub fn stores() -> crate::Stores {
    {
        let accounts = Arc::new(MemoryAccountStores::default());
        crate::Stores {
            users: Arc::new(MemoryUserRepository::default()),
            credits: Arc::new(MemoryCreditStore::default()),
            usage: Arc::new(MemoryUsageRepository::default()),
            contact: Arc::new(MemoryContactRepository::default()),
            sessions: crate::sessions::SharedSessionStore::new(
                crate::sessions::MemorySessionStore::default(),
            ),
            service_settings: Arc::new(MemoryServiceSettingsRepository::default()),
            billing: Arc::new(MemoryBillingRepository::default()),
            subscriptions: Arc::new(MemorySubscriptionRepository::default()),
            tokens: accounts.clone(),
            audit: accounts.clone(),
            api_keys: accounts.clone(),
            outbox: accounts,
        }
    }
}

/// Locks a std mutex, recovering from poisoning (a panicking test must not break the others).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
