//! `check`: the configuration, the database (reachable and migrated), the port.

use std::net::SocketAddr;

use crate::app::database::open_database;
use crate::config::Config;

/// Checks, changing nothing.
pub(super) async fn check(config: &Config) -> anyhow::Result<()> {
    println!("✓ configuration is valid");
    let (database, _) = open_database(config, false).await?;
    database
        .ping()
        .await
        .map_err(|e| anyhow::anyhow!("✗ the database does not answer: {e}"))?;
    println!(
        "✓ {} database reachable and migrated",
        config.database.kind()
    );
    database.close().await;
    let address = SocketAddr::new(config.host, config.port);
    match std::net::TcpListener::bind(address) {
        Ok(_) => println!("✓ port {} is free", config.port),
        Err(_) => anyhow::bail!(
            "✗ port {} is in use: stop what uses it or set PORT",
            config.port
        ),
    }
    Ok(())
}
