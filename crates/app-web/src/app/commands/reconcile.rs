//! `billing reconcile`: the processor's recent events that the inbox missed, fetched and processed.

use anyhow::Context as _;

use crate::app::{App, Purpose};
use crate::config::Config;

/// Fetches `limit` recent events and processes those the inbox did not have.
pub(super) async fn reconcile(app: App, config: Config, limit: u32) -> anyhow::Result<()> {
    if config.stripe.is_none() {
        anyhow::bail!("billing is off: set ENABLE_STRIPE=true");
    }
    let built = app
        .build_for(config, Purpose::Maintenance { processor: true })
        .await?;
    let billing = built.state.billing().context("billing is off")?;
    let report = billing
        .billing
        .reconcile(limit)
        .await
        .map_err(|e| anyhow::anyhow!("reconciliation failed: {e}"))?;
    println!(
        "Fetched {} events: {} were missing from the inbox; {} processed, {} failed (kept for retry).",
        report.fetched, report.missing, report.processed, report.failed
    );
    built.state.database().close().await;
    Ok(())
}
