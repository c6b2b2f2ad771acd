//! The services' admin settings (enabled, price, order), kept in process and kept current
//! across instances.
//!
//! Every process that serves holds the settings in memory (the runner's [`SettingsSnapshot`]):
//! listing services and pricing a run read no database. The store keeps a version number that
//! an admin's change moves on in the same transaction
//! ([`ServiceSettingsRepository::version`]); a process compares it with the version its copy
//! was read at and reads the settings again only when they differ. When it compares:
//!
//! - **Once per request, on the requests that charge or refuse**: a run (browser or API) calls
//!   [`ServiceSettingsCache::current`] before it looks the service up, so the run an instance
//!   starts right after an admin's change on another instance is charged the new price, or
//!   refused when the service was switched off. It costs one primary-key read per run.
//! - **At most once per [`SETTINGS_MAX_AGE`] otherwise** ([`ServiceSettingsCache::recent`],
//!   from a middleware): pages that only show the services (the home page, the list, a
//!   service's page) keep a visitor's page free of database statements and are out of date by
//!   at most that long.
//!
//! The instance that makes a change reads the settings again at once
//! ([`ServiceSettingsCache::reload`]). The version is read before the settings, so a change
//! that lands between the two reads leaves an older version beside newer settings: the next
//! comparison reads them again, never the other way round.
//!
//! The version is read together with the users' notification choices' ([`CacheVersions`], one
//! statement), which goes to the copy of those choices ([`CachedChoices::compared`]): the run
//! that compared its price then needs no read to know whether its end is to be told.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use quickscale_domain_kernel::StorageError;
use quickscale_service_sdk::{
    CacheVersionStore, CacheVersions, ServiceSettingsRepository, SettingsSnapshot,
};

use crate::choices_cache::CachedChoices;

/// How long a page that only shows the services trusts this process's copy of their settings.
pub const SETTINGS_MAX_AGE: Duration = Duration::from_secs(1);

/// The services' settings in this process, compared with the store's version when asked.
pub struct ServiceSettingsCache {
    store: Arc<dyn ServiceSettingsRepository>,
    versions: Arc<dyn CacheVersionStore>,
    /// Told the choices' version whenever the versions are read.
    choices: Arc<CachedChoices>,
    snapshot: Arc<SettingsSnapshot>,
    slugs: Vec<String>,
    /// The version the copy was read at (versions only grow).
    version: AtomicU64,
    /// When the copy was last compared with the store.
    compared_at: Mutex<Instant>,
    /// Held while reading the settings again, so that one request reads them, not every one
    /// that saw the new version; comparing takes no lock.
    reading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ServiceSettingsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSettingsCache")
            .field("services", &self.slugs.len())
            .field("version", &self.version.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

impl ServiceSettingsCache {
    /// Adds the settings rows of new services (`slugs`, the registry's) and fills `snapshot`.
    pub async fn load(
        store: Arc<dyn ServiceSettingsRepository>,
        versions: Arc<dyn CacheVersionStore>,
        choices: Arc<CachedChoices>,
        snapshot: Arc<SettingsSnapshot>,
        slugs: Vec<String>,
    ) -> Result<Self, StorageError> {
        let read = versions.versions().await?;
        choices.compared(read.notification_preferences);
        let version = read.service_settings;
        snapshot.replace(store.sync(&slugs).await?);
        Ok(ServiceSettingsCache {
            store,
            versions,
            choices,
            snapshot,
            slugs,
            version: AtomicU64::new(version),
            compared_at: Mutex::new(Instant::now()),
            reading: tokio::sync::Mutex::new(()),
        })
    }

    fn compared_at(&self) -> MutexGuard<'_, Instant> {
        self.compared_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every version, read at once: the settings' is returned, the choices' handed over.
    async fn read_versions(&self) -> Result<u64, StorageError> {
        let CacheVersions {
            service_settings,
            notification_preferences,
        } = self.versions.versions().await?;
        self.choices.compared(notification_preferences);
        Ok(service_settings)
    }

    /// Makes the copy current: one version read, and the settings read again when another
    /// process changed them.
    pub async fn current(&self) -> Result<(), StorageError> {
        let version = self.read_versions().await?;
        *self.compared_at() = Instant::now();
        if version <= self.version.load(Ordering::Acquire) {
            return Ok(());
        }
        let _reading = self.reading.lock().await;
        // Another request may have read them while this one waited.
        if version <= self.version.load(Ordering::Acquire) {
            return Ok(());
        }
        self.read(version).await
    }

    /// Makes the copy current when it was last compared more than [`SETTINGS_MAX_AGE`] ago.
    /// A request that finds another reading goes on with the copy as it is.
    pub async fn recent(&self) -> Result<(), StorageError> {
        if self.compared_at().elapsed() < SETTINGS_MAX_AGE {
            return Ok(());
        }
        let Ok(_reading) = self.reading.try_lock() else {
            return Ok(());
        };
        let version = self.read_versions().await?;
        *self.compared_at() = Instant::now();
        if version <= self.version.load(Ordering::Acquire) {
            return Ok(());
        }
        self.read(version).await
    }

    /// Reads the settings again whatever the version (after a change made through this
    /// process).
    pub async fn reload(&self) -> Result<(), StorageError> {
        let _reading = self.reading.lock().await;
        let version = self.read_versions().await?;
        self.read(version).await
    }

    /// Reads the settings (after `version` was read) and records that version. The version is
    /// read first: a change landing in between leaves an older version beside newer settings,
    /// which the next comparison reads again.
    async fn read(&self, version: u64) -> Result<(), StorageError> {
        self.snapshot.replace(self.store.sync(&self.slugs).await?);
        self.version.store(version, Ordering::Release);
        *self.compared_at() = Instant::now();
        Ok(())
    }
}
