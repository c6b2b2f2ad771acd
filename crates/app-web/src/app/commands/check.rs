//! `check`: the configuration, the settings production refuses (with `--production` or
//! `APP_ENV=production`), the database (reachable and migrated), the port.

use std::net::SocketAddr;

use crate::app::database::open_database;
use crate::config::{Config, Environment};

/// Checks, changing nothing.
pub(super) async fn check(config: &Config, production: bool) -> anyhow::Result<()> {
    println!("✓ configuration is valid");
    if production || config.environment == Environment::Production {
        refuse_unsafe_settings(config, true)?;
    }
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

/// Fails naming every setting unsafe in production (each also printed with a cross when
/// `print` is set, with ticks for what is safe).
pub(super) fn refuse_unsafe_settings(config: &Config, print: bool) -> anyhow::Result<()> {
    let problems = config.production_problems();
    if print {
        for strength in config.production_strengths() {
            println!("✓ {strength}");
        }
        for problem in &problems {
            println!("✗ {problem}");
        }
    }
    if problems.is_empty() {
        if print {
            println!("✓ no setting is unsafe in production");
        }
        return Ok(());
    }
    let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
    anyhow::bail!(
        "{} setting(s) unsafe in production (APP_ENV=production or check --production):\n{}\n\
         Fix them in the environment or .env (docs/deploy.md).",
        problems.len(),
        list.join("\n")
    )
}
