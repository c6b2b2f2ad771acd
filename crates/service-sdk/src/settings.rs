//! Admin settings of registered services: enabled, a cost override, a display order.
//!
//! The registry (code) decides which services exist; the store only keeps these settings for
//! them. At start-up [`ServiceSettingsRepository::sync`] adds a row for each new service and
//! keeps the rows of services removed from code (their usage history stays meaningful).

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use quickscale_domain_credits::Credits;
use quickscale_domain_kernel::StorageError;
use serde::Serialize;

/// The settings of one service.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ServiceSettings {
    /// The service's slug.
    pub slug: String,
    /// False when an admin switched the service off: it is hidden and refuses runs.
    pub enabled: bool,
    /// Replaces the descriptor's cost when set.
    pub cost_override: Option<Credits>,
    /// Where the service appears in lists, lowest first.
    pub display_order: i32,
}

/// The settings store.
#[async_trait]
pub trait ServiceSettingsRepository: Send + Sync {
    /// Adds default settings for slugs that have none (in the given order) and returns the
    /// settings of every slug given.
    async fn sync(&self, slugs: &[String]) -> Result<Vec<ServiceSettings>, StorageError>;
    /// Changes one service's settings; returns false when the slug has no settings row. A
    /// change also moves [`version`](Self::version) on, in the same transaction, so that every
    /// process holding a copy of the settings learns that it is out of date.
    async fn update(&self, settings: &ServiceSettings) -> Result<bool, StorageError>;
    /// A number that changes (grows) with every [`update`](Self::update) by any process sharing
    /// the store: one cheap read tells a process whether its copy of the settings is current.
    async fn version(&self) -> Result<u64, StorageError>;
}

/// What the runner and the pages read: the current settings, in memory.
#[derive(Debug, Default)]
pub struct SettingsSnapshot {
    by_slug: RwLock<HashMap<String, ServiceSettings>>,
}

impl SettingsSnapshot {
    /// Replaces every setting at once (after a sync or an admin's change), so readers never
    /// see half of an update.
    pub fn replace(&self, settings: Vec<ServiceSettings>) {
        let map = settings.into_iter().map(|s| (s.slug.clone(), s)).collect();
        *self.by_slug.write().unwrap_or_else(|e| e.into_inner()) = map;
    }

    /// The settings of one service; `None` before the first sync.
    pub fn get(&self, slug: &str) -> Option<ServiceSettings> {
        self.by_slug
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(slug)
            .cloned()
    }

    /// Enabled unless an admin disabled it.
    pub fn enabled(&self, slug: &str) -> bool {
        self.get(slug).is_none_or(|s| s.enabled)
    }

    /// The cost a run is charged: the override, or the descriptor's cost.
    pub fn cost(&self, slug: &str, descriptor_cost: Credits) -> Credits {
        self.get(slug)
            .and_then(|s| s.cost_override)
            .unwrap_or(descriptor_cost)
    }

    /// The service's place in lists; services without settings go last.
    pub fn order(&self, slug: &str) -> i32 {
        self.get(slug).map_or(i32::MAX, |s| s.display_order)
    }
}
