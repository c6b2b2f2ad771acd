use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use quickscale_domain_kernel::StorageError;
use quickscale_service_sdk::{
    CacheVersionStore, CacheVersions, ServiceSettings, ServiceSettingsRepository,
};

use super::{MemoryNotificationStore, lock};

/// Service settings in memory.
#[derive(Debug, Default)]
pub struct MemoryServiceSettingsRepository {
    rows: Mutex<Vec<ServiceSettings>>,
    version: AtomicU64,
}

#[async_trait]
impl ServiceSettingsRepository for MemoryServiceSettingsRepository {
    async fn sync(&self, slugs: &[String]) -> Result<Vec<ServiceSettings>, StorageError> {
        let mut rows = lock(&self.rows);
        let mut next = rows.iter().map(|r| r.display_order + 1).max().unwrap_or(0);
        for slug in slugs {
            if !rows.iter().any(|r| &r.slug == slug) {
                rows.push(ServiceSettings {
                    slug: slug.clone(),
                    enabled: true,
                    cost_override: None,
                    display_order: next,
                });
                next += 1;
            }
        }
        let mut known: Vec<ServiceSettings> = rows
            .iter()
            .filter(|r| slugs.contains(&r.slug))
            .cloned()
            .collect();
        known.sort_by(|a, b| {
            a.display_order
                .cmp(&b.display_order)
                .then_with(|| a.slug.cmp(&b.slug))
        });
        Ok(known)
    }

    async fn update(&self, settings: &ServiceSettings) -> Result<bool, StorageError> {
        let mut rows = lock(&self.rows);
        match rows.iter_mut().find(|r| r.slug == settings.slug) {
            Some(row) => {
                *row = settings.clone();
                self.version.fetch_add(1, Ordering::AcqRel);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn version(&self) -> Result<u64, StorageError> {
        Ok(self.version.load(Ordering::Acquire))
    }
}

/// The versions of the memory stores' services settings and notification choices.
#[derive(Debug)]
pub struct MemoryCacheVersions {
    /// The settings store whose version is read.
    pub settings: Arc<MemoryServiceSettingsRepository>,
    /// The notification store whose version is read.
    pub notifications: Arc<MemoryNotificationStore>,
}

#[async_trait]
impl CacheVersionStore for MemoryCacheVersions {
    async fn versions(&self) -> Result<CacheVersions, StorageError> {
        Ok(CacheVersions {
            service_settings: self.settings.version().await?,
            notification_preferences: self.notifications.version(),
        })
    }
}
