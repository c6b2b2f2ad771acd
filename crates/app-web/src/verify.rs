//! `verify-ledger`: every account's ledger invariants, and every service run matched with its
//! debits one by one (see [`quickscale_service_sdk::charges`]). Reads only.
//!
//! Accounts are checked one at a time, a page of users after another, so memory holds one
//! account's ledger and runs, never the whole database.

use std::collections::HashSet;
use std::fmt;

use quickscale_adapters::Stores;
use quickscale_domain_credits::{AccountId, AccountSnapshot, CreditError, Violation, verify};
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
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            FindingKind::Invariant(violation) => write!(f, "{}: {violation}", self.email),
            FindingKind::Charge(mismatch) => write!(f, "{}: {mismatch}", self.email),
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
            FindingKind::Invariant(_) => None,
        })
    }

    pub fn violations(&self) -> impl Iterator<Item = &Violation> {
        self.findings.iter().filter_map(|f| match &f.problem {
            FindingKind::Invariant(violation) => Some(violation),
            FindingKind::Charge(_) => None,
        })
    }

    /// One line of counts.
    pub fn summary(&self) -> String {
        let c = &self.charges;
        format!(
            "accounts {}, ledger entries {}, runs {} (paid successes {}, free {}, refunded {}, \
             without a charge {}, still running {}), debits {}, reversals {}, invariant \
             violations {}, run/debit mismatches {}",
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
            self.mismatches().count()
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
    let snapshot = match stores
        .credits
        .snapshot(AccountId::new(user.id.as_uuid()))
        .await
    {
        Ok(snapshot) => snapshot,
        Err(CreditError::AccountNotFound(_)) => AccountSnapshot::default(),
        Err(e) => anyhow::bail!("reading the ledger of {}: {e}", user.email),
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
