//! Versions of the read-mostly data an app keeps a copy of in memory: the services' settings
//! and the users' notification choices.
//!
//! Every change to such data moves its version on, in the same transaction, whichever process
//! makes it. A process compares the versions with the ones its copies were read at, and reads
//! again only what changed. [`CacheVersionStore::versions`] reads every version at once (one
//! statement on SQL), so a request that must see both current costs one read.

use async_trait::async_trait;
use quickscale_domain_kernel::StorageError;

/// The version of each kind of read-mostly data, as read together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheVersions {
    /// Moves on with every change to the services' settings
    /// ([`ServiceSettingsRepository::update`](crate::ServiceSettingsRepository::update); the
    /// same number as [`ServiceSettingsRepository::version`](crate::ServiceSettingsRepository::version)).
    pub service_settings: u64,
    /// Moves on with every change to any user's notification choices (a webhook registered or
    /// removed, the completion email switched on or off).
    pub notification_preferences: u64,
}

/// Where the versions are kept.
#[async_trait]
pub trait CacheVersionStore: Send + Sync {
    /// Every version, read at once.
    async fn versions(&self) -> Result<CacheVersions, StorageError>;
}
