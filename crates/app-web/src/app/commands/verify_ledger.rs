//! `verify-ledger`: every account's ledger checked, every service run matched with its debits.

use crate::app::App;
use crate::app::database::open_database;
use crate::config::Config;

/// Verifies every account's ledger and matches every service run with its debits (see
/// [`crate::verify`]); prints each problem by account, run and entry. Reads only: the database is
/// neither created, migrated nor seeded. Exits non-zero when anything is off.
pub(super) async fn verify_ledger(_app: App, config: Config) -> anyhow::Result<()> {
    let (database, stores) = open_database(&config, false).await?;
    let report = crate::verify::verify_ledger(&stores, |finding| println!("{finding}")).await;
    database.close().await;
    let report = report?;
    println!("{}", report.summary());
    if !report.is_clean() {
        anyhow::bail!(
            "the ledger does not balance: {} problems (listed above)",
            report.findings.len()
        );
    }
    println!(
        "the ledger balances: every successful paid run is charged by exactly one debit of its \
         cost, every refunded run's debit is reversed by what it records, every debit belongs \
         to exactly one run, and every invariant holds"
    );
    Ok(())
}
