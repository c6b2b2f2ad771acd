//! The admin settings of the registered services, and the versions of the read-mostly data
//! processes keep a copy of (`cache_versions`).

use async_trait::async_trait;
use quickscale_domain_kernel::StorageError;
use quickscale_service_sdk::{
    CacheVersionStore, CacheVersions, ServiceSettings, ServiceSettingsRepository,
};

use super::Database;
use super::row::{cents, get};
use crate::sql::{Backend as _, storage_error};

/// Admin settings of the registered services.
#[derive(Clone, Debug)]
pub struct SqlServiceSettingsRepository {
    db: Database,
}

impl SqlServiceSettingsRepository {
    pub fn new(db: Database) -> Self {
        SqlServiceSettingsRepository { db }
    }
}

crate::sql::traced_store! { "service_settings",
#[async_trait]
impl ServiceSettingsRepository for SqlServiceSettingsRepository {
    async fn sync(&self, slugs: &[String]) -> Result<Vec<ServiceSettings>, StorageError> {
        // Reads, then writes: an immediate transaction on SQLite, so that another process's
        // write in between (a running app's job workers) cannot invalidate it.
        let mut tx = self.db.begin_write().await?;
        let next: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(display_order), -1) + 1 AS BIGINT) FROM service_settings",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(storage_error)?;
        let mut order = next;
        for slug in slugs {
            let inserted = sqlx::query(
                "INSERT INTO service_settings (slug, enabled, display_order) VALUES ($1, $2, $3) \
                 ON CONFLICT (slug) DO NOTHING",
            )
            .bind(slug.as_str())
            .bind(true)
            .bind(i32::try_from(order).unwrap_or(i32::MAX))
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
            order += i64::try_from(inserted.rows_affected()).unwrap_or(0);
        }
        let rows = sqlx::query(
            "SELECT slug, enabled, cost_override_cents, display_order FROM service_settings ORDER \
             BY display_order, slug",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        rows.iter()
            .map(|row| {
                Ok(ServiceSettings {
                    slug: get(row, "slug")?,
                    enabled: get(row, "enabled")?,
                    cost_override: get::<Option<i64>>(row, "cost_override_cents")?
                        .map(|c| cents("cost override", c))
                        .transpose()?,
                    display_order: get(row, "display_order")?,
                })
            })
            .filter(|s: &Result<ServiceSettings, StorageError>| {
                s.as_ref().map_or(true, |s| slugs.contains(&s.slug))
            })
            .collect()
    }

    async fn update(&self, settings: &ServiceSettings) -> Result<bool, StorageError> {
        // The change and its version in one transaction: a process that reads the new version
        // then reads the new settings.
        let mut tx = self.db.begin_write().await?;
        let result = sqlx::query(
            "UPDATE service_settings SET enabled = $1, cost_override_cents = $2, display_order = \
             $3 WHERE slug = $4",
        )
        .bind(settings.enabled)
        .bind(settings.cost_override.map(|c| c.cents()))
        .bind(settings.display_order)
        .bind(settings.slug.as_str())
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        if result.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("UPDATE cache_versions SET version = version + 1 WHERE area = $1")
            .bind(AREA)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    async fn version(&self) -> Result<u64, StorageError> {
        let version: i64 = sqlx::query_scalar("SELECT version FROM cache_versions WHERE area = $1")
            .bind(AREA)
            .fetch_one(self.db.reader())
            .await
            .map_err(storage_error)?;
        Ok(u64::try_from(version).unwrap_or_default())
    }
}
}

/// The row of `cache_versions` that counts the changes to the services' settings.
const AREA: &str = "service_settings";

/// The row of `cache_versions` that counts the changes to the users' notification choices
/// (moved on by triggers on `notification_preferences`, migration 0019).
const NOTIFICATION_PREFERENCES: &str = "notification_preferences";

/// The versions of `cache_versions`, every row in one statement.
#[derive(Clone, Debug)]
pub struct SqlCacheVersions {
    db: Database,
}

impl SqlCacheVersions {
    pub fn new(db: Database) -> Self {
        SqlCacheVersions { db }
    }
}

#[async_trait]
impl CacheVersionStore for SqlCacheVersions {
    async fn versions(&self) -> Result<CacheVersions, StorageError> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT area, version FROM cache_versions")
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?;
        let mut versions = CacheVersions::default();
        for (area, version) in rows {
            let version = u64::try_from(version).unwrap_or_default();
            match area.as_str() {
                AREA => versions.service_settings = version,
                NOTIFICATION_PREFERENCES => versions.notification_preferences = version,
                _ => {}
            }
        }
        Ok(versions)
    }
}
