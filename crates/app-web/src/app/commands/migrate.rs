//! `migrate`: create the database if needed and apply the migrations.

use crate::app::database::open_database;
use crate::config::Config;

/// Applies the migrations and exits.
pub(super) async fn migrate(config: &Config) -> anyhow::Result<()> {
    let (database, _) = open_database(config, true).await?;
    println!("Migrations applied ({}).", config.database.kind());
    database.close().await;
    Ok(())
}
