//! `verify-ledger`: every account's ledger invariants, and every service run matched with its
//! debits one by one (see [`quickscale_service_sdk::charges`]). Reads only.
//!
//! Accounts are checked one at a time, a page of users after another, so memory holds one
//! account's ledger and runs, never the whole database.

use std::collections::HashSet;
use std::fmt;

use quickscale_adapters::Stores;
use quickscale_domain_credits::{
    AccountId, AccountSnapshot, CreditError, EntryId, EntryKind, LedgerEntry, Violation, verify,
};
use quickscale_domain_identity::{User, UserId, UserQuery};
use quickscale_service_sdk::charges::{ChargeCounts, Mismatch, match_charges};
use quickscale_service_sdk::usage::RunCharge;

/// Users read at once.
const USER_PAGE: u32 = 200;
/// Runs read at once.
const RUN_PAGE: u32 = 1_000;

/// Something wrong on one account.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Finding {
    pub user: UserId,
    pub email: String,
    pub problem: FindingKind,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FindingKind {
    /// A ledger invariant is broken.
    Invariant(Violation),
    /// A run and the ledger disagree.
    Charge(Mismatch),
    /// The open holds the store reads (kept apart from the ledger for speed) are not the hold
    /// entries the ledger has not settled or released.
    OpenHolds {
        ledger: Vec<EntryId>,
        stored: Vec<EntryId>,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            FindingKind::Invariant(violation) => write!(f, "{}: {violation}", self.email),
            FindingKind::Charge(mismatch) => write!(f, "{}: {mismatch}", self.email),
            FindingKind::OpenHolds { ledger, stored } => write!(
                f,
                "{}: the open holds stored ({}) are not the ledger's ({})",
                self.email,
                ids(stored),
                ids(ledger)
            ),
        }
    }
}

/// What `verify-ledger` found.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct LedgerReport {
    pub accounts: u64,
    pub entries: u64,
    pub charges: ChargeCounts,
    pub findings: Vec<Finding>,
}

impl LedgerReport {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The runs and entries that disagree.
    pub fn mismatches(&self) -> impl Iterator<Item = &Mismatch> {
        self.findings.iter().filter_map(|f| match &f.problem {
            FindingKind::Charge(mismatch) => Some(mismatch),
            FindingKind::Invariant(_) | FindingKind::OpenHolds { .. } => None,
        })
    }

    pub fn violations(&self) -> impl Iterator<Item = &Violation> {
        self.findings.iter().filter_map(|f| match &f.problem {
            FindingKind::Invariant(violation) => Some(violation),
            FindingKind::Charge(_) | FindingKind::OpenHolds { .. } => None,
        })
    }

    /// One line of counts.
    pub fn summary(&self) -> String {
        let c = &self.charges;
        format!(
            "accounts {}, ledger entries {}, runs {} (paid successes {}, free {}, refunded {}, \
             without a charge {}, still running {}), debits {}, reversals {}, invariant \
             violations {}, run/debit mismatches {}, open holds mismatched {}",
            self.accounts,
            self.entries,
            c.runs,
            c.paid,
            c.free,
            c.refunded,
            c.uncharged,
            c.running,
            c.debits,
            c.reversals,
            self.violations().count(),
            self.mismatches().count(),
            self.findings
                .iter()
                .filter(|f| matches!(f.problem, FindingKind::OpenHolds { .. }))
                .count()
        )
    }
}

/// Checks every user's account; `found` sees each finding as soon as it is found.
pub async fn verify_ledger(
    stores: &Stores,
    mut found: impl FnMut(&Finding),
) -> anyhow::Result<LedgerReport> {
    let mut report = LedgerReport::default();
    // Pages are by offset, newest first: a user registering meanwhile shifts a page, so one may
    // be read twice; each is checked once.
    let mut seen: HashSet<UserId> = HashSet::new();
    let mut offset = 0;
    loop {
        let page = stores
            .users
            .search(&UserQuery {
                offset,
                limit: USER_PAGE,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("reading users: {e}"))?;
        if page.users.is_empty() {
            return Ok(report);
        }
        offset += page.users.len() as u64;
        for user in page.users.iter().filter(|u| seen.insert(u.id)) {
            let before = report.findings.len();
            verify_account(stores, user, &mut report).await?;
            report.findings[before..].iter().for_each(&mut found);
        }
    }
}

async fn verify_account(
    stores: &Stores,
    user: &User,
    report: &mut LedgerReport,
) -> anyhow::Result<()> {
    let account = AccountId::new(user.id.as_uuid());
    let snapshot = match stores.credits.snapshot(account).await {
        Ok(snapshot) => snapshot,
        Err(CreditError::AccountNotFound(_)) => AccountSnapshot::default(),
        Err(e) => anyhow::bail!("reading the ledger of {}: {e}", user.email),
    };
    let ledger: Vec<EntryId> = open_holds(&snapshot.entries);
    let stored: Vec<EntryId> = match stores.credits.open_holds(account).await {
        Ok(holds) => holds.iter().map(|h| h.entry).collect(),
        Err(CreditError::AccountNotFound(_)) => Vec::new(),
        Err(e) => anyhow::bail!("reading the open holds of {}: {e}", user.email),
    };
    let runs = runs_of(stores, user).await?;
    report.accounts += 1;
    report.entries += snapshot.entries.len() as u64;
    let finding = |problem| Finding {
        user: user.id,
        email: user.email.as_str().to_owned(),
        problem,
    };
    report.findings.extend(
        verify(&snapshot)
            .into_iter()
            .map(|v| finding(FindingKind::Invariant(v))),
    );
    if ledger != stored {
        report
            .findings
            .push(finding(FindingKind::OpenHolds { ledger, stored }));
    }
    let matched = match_charges(&runs, &snapshot.entries);
    report.charges += matched.counts;
    report.findings.extend(
        matched
            .mismatches
            .into_iter()
            .map(|m| finding(FindingKind::Charge(m))),
    );
    Ok(())
}

/// The hold entries no entry reverses (settles or releases), oldest first.
fn open_holds(entries: &[LedgerEntry]) -> Vec<EntryId> {
    let ended: HashSet<EntryId> = entries.iter().filter_map(|e| e.reverses).collect();
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::Hold && !ended.contains(&e.id))
        .map(|e| e.id)
        .collect()
}

fn ids(entries: &[EntryId]) -> String {
    if entries.is_empty() {
        return "none".to_owned();
    }
    let ids: Vec<String> = entries.iter().map(|e| format!("entry {}", e.0)).collect();
    ids.join(", ")
}

async fn runs_of(stores: &Stores, user: &User) -> anyhow::Result<Vec<RunCharge>> {
    let mut runs: Vec<RunCharge> = Vec::new();
    loop {
        let page = stores
            .usage
            .charges(user.id, runs.last().map(|r| r.id), RUN_PAGE)
            .await
            .map_err(|e| anyhow::anyhow!("reading the runs of {}: {e}", user.email))?;
        let last_page = page.len() < RUN_PAGE as usize;
        runs.extend(page);
        if last_page {
            return Ok(runs);
        }
    }
}
