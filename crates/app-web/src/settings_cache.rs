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

use std::sync::Arc;
use std::time::{Duration, Instant};

use quickscale_domain_kernel::StorageError;
use quickscale_service_sdk::{ServiceSettingsRepository, SettingsSnapshot};

/// How long a page that only shows the services trusts this process's copy of their settings.
pub const SETTINGS_MAX_AGE: Duration = Duration::from_secs(1);

/// The version the copy was read at, and when it was last compared with the store's.
#[derive(Clone, Copy, Debug)]
struct Checked {
    version: u64,
    at: Instant,
}

/// The services' settings in this process, compared with the store's version when asked.
pub struct ServiceSettingsCache {
    store: Arc<dyn ServiceSettingsRepository>,
    snapshot: Arc<SettingsSnapshot>,
    slugs: Vec<String>,
    /// Held while comparing and reading, so that concurrent requests read the store once.
    checked: tokio::sync::Mutex<Checked>,
}

impl std::fmt::Debug for ServiceSettingsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSettingsCache")
            .field("services", &self.slugs.len())
            .finish_non_exhaustive()
    }
}

impl ServiceSettingsCache {
    /// Adds the settings rows of new services (`slugs`, the registry's) and fills `snapshot`.
    pub async fn load(
        store: Arc<dyn ServiceSettingsRepository>,
        snapshot: Arc<SettingsSnapshot>,
        slugs: Vec<String>,
    ) -> Result<Self, StorageError> {
        let version = store.version().await?;
        snapshot.replace(store.sync(&slugs).await?);
        Ok(ServiceSettingsCache {
            store,
            snapshot,
            slugs,
            checked: tokio::sync::Mutex::new(Checked {
                version,
                at: Instant::now(),
            }),
        })
    }

    /// Makes the copy current: one version read, and the settings read again when another
    /// process changed them.
    pub async fn current(&self) -> Result<(), StorageError> {
        let mut checked = self.checked.lock().await;
        self.compare(&mut checked).await
    }

    /// Makes the copy current when it was last compared more than [`SETTINGS_MAX_AGE`] ago.
    /// A request that finds another comparing goes on with the copy as it is.
    pub async fn recent(&self) -> Result<(), StorageError> {
        let Ok(mut checked) = self.checked.try_lock() else {
            return Ok(());
        };
        if checked.at.elapsed() < SETTINGS_MAX_AGE {
            return Ok(());
        }
        self.compare(&mut checked).await
    }

    /// Reads the settings again whatever the version (after a change made through this
    /// process).
    pub async fn reload(&self) -> Result<(), StorageError> {
        let mut checked = self.checked.lock().await;
        self.read(&mut checked, self.store.version().await?).await
    }

    async fn compare(&self, checked: &mut Checked) -> Result<(), StorageError> {
        let version = self.store.version().await?;
        if version == checked.version {
            checked.at = Instant::now();
            return Ok(());
        }
        self.read(checked, version).await
    }

    async fn read(&self, checked: &mut Checked, version: u64) -> Result<(), StorageError> {
        self.snapshot.replace(self.store.sync(&self.slugs).await?);
        *checked = Checked {
            version,
            at: Instant::now(),
        };
        Ok(())
    }
}
