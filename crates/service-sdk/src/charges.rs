//! Runs matched with the ledger, one by one.
//!
//! The runner charges a paid run with one debit (a consume entry under the run's
//! [`charge_key`]), records that entry on the run, and reverses it when the run fails. So, on
//! every account:
//!
//! - each successful paid run names exactly one unreversed debit of its cost;
//! - each failed or timed-out run that was charged names a debit of its cost plus its refund,
//!   reversed by a reversal of exactly what the run records as refunded;
//! - runs that ended without a charge (free, rejected, failed before the charge) name none
//!   and record no cost;
//! - each debit is named by exactly one run (a debit of a run still running is named by its
//!   key only, until the run ends).
//!
//! Totals cannot show this: a run with no debit and another with two add up. [`match_charges`]
//! checks every run and every debit and names each mismatch by run and entry.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use quickscale_domain_credits::{Credits, EntryId, EntryKind, LedgerEntry};
use uuid::Uuid;

use crate::usage::{RunCharge, RunStatus, charge_key};

/// What one account's runs and ledger contain, by kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ChargeCounts {
    /// Runs, of every kind below.
    pub runs: u64,
    /// Successful runs that cost credits.
    pub paid: u64,
    /// Successful runs of free services.
    pub free: u64,
    /// Failed or timed-out runs that were charged and refunded.
    pub refunded: u64,
    /// Runs that ended without a charge (rejected, or failed before the charge).
    pub uncharged: u64,
    /// Runs still running: what they name is checked once they end.
    pub running: u64,
    /// Consume entries.
    pub debits: u64,
    /// Reversal entries.
    pub reversals: u64,
}

impl std::ops::AddAssign for ChargeCounts {
    fn add_assign(&mut self, other: ChargeCounts) {
        self.runs += other.runs;
        self.paid += other.paid;
        self.free += other.free;
        self.refunded += other.refunded;
        self.uncharged += other.uncharged;
        self.running += other.running;
        self.debits += other.debits;
        self.reversals += other.reversals;
    }
}

/// One run or debit that does not match.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Mismatch {
    /// The run concerned. For a debit no run names: the run its key names, if any.
    pub run: Option<Uuid>,
    /// The ledger entry concerned.
    pub entry: Option<EntryId>,
    /// What does not match.
    pub problem: Problem,
}

/// What is wrong.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Problem {
    /// A successful paid run names no debit.
    NotCharged {
        /// What the run records it cost.
        cost: Credits,
    },
    /// The run names an entry that is not a debit of its user's account.
    ChargeNotFound,
    /// The run's debit is not of the amount the run records (its cost plus its refund).
    WrongAmount {
        /// What the debit took.
        debited: Credits,
        /// What the run's record says it should have taken.
        expected: Credits,
    },
    /// A successful run whose debit was reversed.
    SucceededButReversed {
        /// The reversal entry.
        reversal: EntryId,
    },
    /// A failed or timed-out run whose debit was never reversed.
    NotRefunded,
    /// The run records another refund than its reversal gave back (or a refund without one).
    WrongRefund {
        /// What the reversal gave back (zero without one).
        reversed: Credits,
        /// What the run records as refunded.
        recorded: Credits,
    },
    /// A run that ended without a charge records a cost or a refund.
    CostWithoutCharge {
        /// The cost the run records.
        cost: Credits,
        /// The refund the run records.
        refunded: Credits,
    },
    /// A free or rejected run names a debit.
    UnexpectedCharge,
    /// Other runs name the same debit.
    SharedCharge {
        /// The other runs that name it.
        others: Vec<Uuid>,
    },
    /// A background run that ended names a hold that was never settled or released.
    HoldNotEnded,
    /// A background run's hold ended the wrong way: a successful run's hold must be settled,
    /// a failed, timed-out or cancelled run's released.
    HoldEndedAs {
        /// How it ended.
        kind: EntryKind,
    },
    /// A debit that no run names as its charge.
    Unclaimed {
        /// What it debited.
        amount: Credits,
        /// Its idempotency key, which may name the run that made it.
        key: Option<String>,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotCharged { cost } => {
                write!(f, "succeeded at a cost of {cost} but names no debit")
            }
            Problem::ChargeNotFound => {
                f.write_str("names as its charge an entry that is not a debit of its account")
            }
            Problem::WrongAmount { debited, expected } => {
                write!(f, "its debit is {debited}, the run records {expected}")
            }
            Problem::SucceededButReversed { reversal } => {
                write!(
                    f,
                    "succeeded but its debit was reversed by entry {reversal}"
                )
            }
            Problem::NotRefunded => f.write_str("failed but its debit was never reversed"),
            Problem::WrongRefund { reversed, recorded } => write!(
                f,
                "records {recorded} refunded but its debit's reversal gave back {reversed}"
            ),
            Problem::CostWithoutCharge { cost, refunded } => write!(
                f,
                "ended without a charge but records a cost of {cost} and {refunded} refunded"
            ),
            Problem::UnexpectedCharge => {
                f.write_str("was free or rejected but names a debit as its charge")
            }
            Problem::SharedCharge { others } => {
                let others: Vec<String> = others.iter().map(Uuid::to_string).collect();
                write!(f, "names the same debit as run {}", others.join(", run "))
            }
            Problem::HoldNotEnded => {
                f.write_str("ended but its hold was never settled or released")
            }
            Problem::HoldEndedAs { kind } => {
                write!(
                    f,
                    "its hold ended with a {kind}, which does not match its status"
                )
            }
            Problem::Unclaimed { amount, key } => write!(
                f,
                "a debit of {amount} (key {}) that no run names as its charge",
                key.as_deref().unwrap_or("none")
            ),
        }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.run, self.entry) {
            (Some(run), Some(entry)) => write!(f, "run {run}, entry {entry}: {}", self.problem),
            (Some(run), None) => write!(f, "run {run}: {}", self.problem),
            (None, Some(entry)) => write!(f, "entry {entry}: {}", self.problem),
            (None, None) => write!(f, "{}", self.problem),
        }
    }
}

/// One account's runs checked against its ledger.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct AccountCharges {
    /// What the runs and the ledger contain.
    pub counts: ChargeCounts,
    /// In the order of the runs, then of the entries.
    pub mismatches: Vec<Mismatch>,
}

/// Checks one account: `runs` are all of its user's runs, `entries` all of its ledger entries.
/// Pure; see the module documentation for the rules.
pub fn match_charges(runs: &[RunCharge], entries: &[LedgerEntry]) -> AccountCharges {
    let mut counts = ChargeCounts::default();
    let mut mismatches = Vec::new();
    let debits: HashMap<EntryId, &LedgerEntry> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Consume)
        .map(|e| (e.id, e))
        .collect();
    let reversal_of: HashMap<EntryId, &LedgerEntry> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Reversal)
        .filter_map(|e| e.reverses.map(|target| (target, e)))
        .collect();
    let holds: HashMap<EntryId, &LedgerEntry> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Hold)
        .map(|e| (e.id, e))
        .collect();
    let hold_end_of: HashMap<EntryId, &LedgerEntry> = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Settle | EntryKind::Release))
        .filter_map(|e| e.reverses.map(|target| (target, e)))
        .collect();
    counts.debits = debits.len() as u64;
    counts.reversals = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Reversal)
        .count() as u64;

    let mut named_by: BTreeMap<EntryId, Vec<Uuid>> = BTreeMap::new();
    let mut pending_keys: HashSet<String> = HashSet::new();
    for run in runs {
        counts.runs += 1;
        let mut bad = |entry: Option<EntryId>, problem: Problem| {
            mismatches.push(Mismatch {
                run: Some(run.id),
                entry,
                problem,
            });
        };
        if matches!(run.status, RunStatus::Running | RunStatus::Queued) {
            counts.running += 1;
            pending_keys.insert(charge_key(run.id).as_str().to_owned());
            continue;
        }
        if let Some(entry) = run.charge {
            named_by.entry(entry).or_default().push(run.id);
        }
        if let Some(hold) = run.charge.and_then(|e| holds.get(&e)) {
            // A background run: its hold was settled (success) or released (anything else).
            let succeeded = run.status == RunStatus::Succeeded;
            if succeeded {
                counts.paid += 1;
            } else {
                counts.refunded += 1;
            }
            let Some(ending) = hold_end_of.get(&hold.id) else {
                bad(Some(hold.id), Problem::HoldNotEnded);
                continue;
            };
            let expected = if succeeded {
                EntryKind::Settle
            } else {
                EntryKind::Release
            };
            if ending.kind != expected {
                bad(Some(hold.id), Problem::HoldEndedAs { kind: ending.kind });
            }
            if ending.amount != run.refunded {
                bad(
                    Some(hold.id),
                    Problem::WrongRefund {
                        reversed: ending.amount,
                        recorded: run.refunded,
                    },
                );
            }
            let accounted = run.cost.saturating_add(run.refunded);
            if accounted > hold.amount || (!succeeded && !run.cost.is_zero()) {
                bad(
                    Some(hold.id),
                    Problem::WrongAmount {
                        debited: hold.amount,
                        expected: accounted,
                    },
                );
            }
            continue;
        }
        let paid = run.status == RunStatus::Succeeded && !run.cost.is_zero();
        let failed = matches!(
            run.status,
            RunStatus::Failed | RunStatus::TimedOut | RunStatus::Cancelled
        );
        match run.charge {
            None => {
                if paid {
                    counts.paid += 1;
                    bad(None, Problem::NotCharged { cost: run.cost });
                    continue;
                }
                if run.status == RunStatus::Succeeded {
                    counts.free += 1;
                } else {
                    counts.uncharged += 1;
                }
                if !run.cost.is_zero() || !run.refunded.is_zero() {
                    bad(
                        None,
                        Problem::CostWithoutCharge {
                            cost: run.cost,
                            refunded: run.refunded,
                        },
                    );
                }
            }
            Some(entry) if !paid && !failed => {
                if run.status == RunStatus::Succeeded {
                    counts.free += 1;
                } else {
                    counts.uncharged += 1;
                }
                bad(Some(entry), Problem::UnexpectedCharge);
            }
            Some(entry) => {
                if paid {
                    counts.paid += 1;
                } else {
                    counts.refunded += 1;
                }
                let Some(debit) = debits.get(&entry) else {
                    bad(Some(entry), Problem::ChargeNotFound);
                    continue;
                };
                let expected = run.cost.saturating_add(run.refunded);
                if debit.amount != expected {
                    bad(
                        Some(entry),
                        Problem::WrongAmount {
                            debited: debit.amount,
                            expected,
                        },
                    );
                }
                match (paid, reversal_of.get(&entry)) {
                    (true, Some(reversal)) => bad(
                        Some(entry),
                        Problem::SucceededButReversed {
                            reversal: reversal.id,
                        },
                    ),
                    (true, None) if !run.refunded.is_zero() => bad(
                        Some(entry),
                        Problem::WrongRefund {
                            reversed: Credits::ZERO,
                            recorded: run.refunded,
                        },
                    ),
                    (true, None) => {}
                    (false, None) => bad(Some(entry), Problem::NotRefunded),
                    (false, Some(reversal)) if reversal.amount != run.refunded => bad(
                        Some(entry),
                        Problem::WrongRefund {
                            reversed: reversal.amount,
                            recorded: run.refunded,
                        },
                    ),
                    (false, Some(_)) => {}
                }
            }
        }
    }

    for (entry, runs) in &named_by {
        if runs.len() < 2 {
            continue;
        }
        for run in runs {
            mismatches.push(Mismatch {
                run: Some(*run),
                entry: Some(*entry),
                problem: Problem::SharedCharge {
                    others: runs.iter().filter(|r| *r != run).copied().collect(),
                },
            });
        }
    }

    let run_ids: HashSet<Uuid> = runs.iter().map(|r| r.id).collect();
    let mut unclaimed: Vec<&LedgerEntry> = debits
        .values()
        .filter(|debit| !named_by.contains_key(&debit.id))
        .filter(|debit| {
            debit
                .idempotency_key
                .as_ref()
                .is_none_or(|key| !pending_keys.contains(key.as_str()))
        })
        .copied()
        .collect();
    unclaimed.sort_by_key(|debit| debit.id);
    for debit in unclaimed {
        let key = debit
            .idempotency_key
            .as_ref()
            .map(|k| k.as_str().to_owned());
        mismatches.push(Mismatch {
            run: key.as_deref().and_then(|key| run_named_by(key, &run_ids)),
            entry: Some(debit.id),
            problem: Problem::Unclaimed {
                amount: debit.amount,
                key,
            },
        });
    }
    AccountCharges { counts, mismatches }
}

/// The run of this account whose id is one of the `:`-separated parts of `key`.
fn run_named_by(key: &str, runs: &HashSet<Uuid>) -> Option<Uuid> {
    key.split(':')
        .filter_map(|part| Uuid::parse_str(part).ok())
        .find(|id| runs.contains(id))
}

#[cfg(test)]
mod tests {
    use quickscale_domain_credits::{AccountId, Actor, IdempotencyKey};
    use time::OffsetDateTime;

    use super::*;
    use crate::usage::refund_key;

    /// Builds a ledger the way the runner writes it.
    #[derive(Default)]
    struct Books {
        runs: Vec<RunCharge>,
        entries: Vec<LedgerEntry>,
    }

    impl Books {
        fn entry(
            &mut self,
            kind: EntryKind,
            cents: i64,
            key: Option<IdempotencyKey>,
            reverses: Option<EntryId>,
        ) -> EntryId {
            let id = EntryId(self.entries.len() as i64 + 1);
            self.entries.push(LedgerEntry {
                id,
                account: AccountId::new(Uuid::nil()),
                kind,
                amount: Credits::from_cents(cents).unwrap(),
                balance_after: Credits::ZERO,
                actor: Actor::System,
                reason: "test".into(),
                grant: None,
                reverses,
                idempotency_key: key,
                at: OffsetDateTime::UNIX_EPOCH,
            });
            id
        }

        fn run(&mut self, status: RunStatus, cost: i64, charge: Option<EntryId>) -> Uuid {
            let id = Uuid::now_v7();
            self.runs.push(RunCharge {
                id,
                status,
                cost: Credits::from_cents(cost).unwrap(),
                charge,
                refunded: Credits::ZERO,
            });
            id
        }

        fn paid(&mut self, cents: i64) -> (Uuid, EntryId) {
            let id = Uuid::now_v7();
            let debit = self.entry(EntryKind::Consume, cents, Some(charge_key(id)), None);
            self.runs.push(RunCharge {
                id,
                status: RunStatus::Succeeded,
                cost: Credits::from_cents(cents).unwrap(),
                charge: Some(debit),
                refunded: Credits::ZERO,
            });
            (id, debit)
        }

        fn refunded(&mut self, cents: i64, given_back: i64) -> (Uuid, EntryId) {
            let id = Uuid::now_v7();
            let debit = self.entry(EntryKind::Consume, cents, Some(charge_key(id)), None);
            self.entry(
                EntryKind::Reversal,
                given_back,
                Some(refund_key(id)),
                Some(debit),
            );
            self.runs.push(RunCharge {
                id,
                status: RunStatus::Failed,
                cost: Credits::from_cents(cents - given_back).unwrap(),
                charge: Some(debit),
                refunded: Credits::from_cents(given_back).unwrap(),
            });
            (id, debit)
        }

        fn check(&self) -> AccountCharges {
            match_charges(&self.runs, &self.entries)
        }
    }

    fn problems(books: &Books) -> Vec<(Option<Uuid>, Option<EntryId>, Problem)> {
        books
            .check()
            .mismatches
            .into_iter()
            .map(|m| (m.run, m.entry, m.problem))
            .collect()
    }

    #[test]
    fn a_clean_ledger_matches_and_counts_every_kind_of_run() {
        let mut books = Books::default();
        books.entry(EntryKind::Grant, 10_000, None, None);
        books.paid(100);
        books.paid(250);
        books.refunded(100, 100);
        // A reversal into an expired grant gives back less; the run keeps the rest.
        books.refunded(300, 200);
        books.run(RunStatus::Succeeded, 0, None);
        books.run(RunStatus::Rejected, 0, None);
        books.run(RunStatus::Failed, 0, None);
        let running = books.run(RunStatus::Running, 100, None);
        books.entry(EntryKind::Consume, 100, Some(charge_key(running)), None);
        let report = books.check();
        assert_eq!(report.mismatches, vec![]);
        assert_eq!(
            report.counts,
            ChargeCounts {
                runs: 8,
                paid: 2,
                free: 1,
                refunded: 2,
                uncharged: 2,
                running: 1,
                debits: 5,
                reversals: 2,
            }
        );
    }

    #[test]
    fn a_missing_debit_and_a_double_debit_do_not_cancel_out() {
        let mut books = Books::default();
        let (uncharged, _) = books.paid(100);
        books.runs[0].charge = None;
        books.entries.clear();
        let (doubled, first) = books.paid(100);
        let again = IdempotencyKey::parse(format!("run:{doubled}:again")).expect("a printable key");
        let second = books.entry(EntryKind::Consume, 100, Some(again), None);
        let stray = books.entry(
            EntryKind::Consume,
            50,
            Some(IdempotencyKey::parse("stray").unwrap()),
            None,
        );
        let report = books.check();
        assert_eq!((report.counts.paid, report.counts.debits), (2, 3));
        assert_eq!(
            problems(&books),
            vec![
                (
                    Some(uncharged),
                    None,
                    Problem::NotCharged {
                        cost: Credits::whole(1)
                    }
                ),
                (
                    Some(doubled),
                    Some(second),
                    Problem::Unclaimed {
                        amount: Credits::whole(1),
                        key: Some(format!("run:{doubled}:again")),
                    }
                ),
                (
                    None,
                    Some(stray),
                    Problem::Unclaimed {
                        amount: Credits::from_cents(50).unwrap(),
                        key: Some("stray".into()),
                    }
                ),
            ]
        );
        assert_ne!(first, second);
    }

    #[test]
    fn two_runs_naming_one_debit_are_both_reported_and_the_orphan_too() {
        let mut books = Books::default();
        let (first, shared) = books.paid(100);
        let (second, own) = books.paid(100);
        books.runs[1].charge = Some(shared);
        assert_eq!(
            problems(&books),
            vec![
                (
                    Some(first),
                    Some(shared),
                    Problem::SharedCharge {
                        others: vec![second]
                    }
                ),
                (
                    Some(second),
                    Some(shared),
                    Problem::SharedCharge {
                        others: vec![first]
                    }
                ),
                (
                    Some(second),
                    Some(own),
                    Problem::Unclaimed {
                        amount: Credits::whole(1),
                        key: Some(charge_key(second).as_str().to_owned()),
                    }
                ),
            ]
        );
    }

    #[test]
    fn charges_of_the_wrong_amount_kind_or_account_are_reported() {
        let mut books = Books::default();
        let (cheap, debit) = books.paid(100);
        books.runs[0].cost = Credits::whole(2);
        let grant = books.entry(EntryKind::Grant, 500, None, None);
        let pointing_at_grant = books.run(RunStatus::Succeeded, 100, Some(grant));
        let elsewhere = books.run(RunStatus::Succeeded, 100, Some(EntryId(999)));
        assert_eq!(
            problems(&books),
            vec![
                (
                    Some(cheap),
                    Some(debit),
                    Problem::WrongAmount {
                        debited: Credits::whole(1),
                        expected: Credits::whole(2)
                    }
                ),
                (
                    Some(pointing_at_grant),
                    Some(grant),
                    Problem::ChargeNotFound
                ),
                (Some(elsewhere), Some(EntryId(999)), Problem::ChargeNotFound),
            ]
        );
    }

    #[test]
    fn refunds_must_match_their_reversal_and_successes_must_have_none() {
        let mut books = Books::default();
        let (kept_money, debit) = books.refunded(100, 100);
        books.runs[0].refunded = Credits::from_cents(60).unwrap();
        books.runs[0].cost = Credits::from_cents(40).unwrap();
        let (reversed_success, reversed_debit) = books.refunded(100, 100);
        books.runs[1].status = RunStatus::Succeeded;
        books.runs[1].cost = Credits::whole(1);
        books.runs[1].refunded = Credits::ZERO;
        let never_refunded = Uuid::now_v7();
        let lonely = books.entry(
            EntryKind::Consume,
            100,
            Some(charge_key(never_refunded)),
            None,
        );
        books.runs.push(RunCharge {
            id: never_refunded,
            status: RunStatus::TimedOut,
            cost: Credits::ZERO,
            charge: Some(lonely),
            refunded: Credits::whole(1),
        });
        let reversal = books.entries[3].id;
        assert_eq!(
            problems(&books),
            vec![
                (
                    Some(kept_money),
                    Some(debit),
                    Problem::WrongRefund {
                        reversed: Credits::whole(1),
                        recorded: Credits::from_cents(60).unwrap()
                    }
                ),
                (
                    Some(reversed_success),
                    Some(reversed_debit),
                    Problem::SucceededButReversed { reversal }
                ),
                (Some(never_refunded), Some(lonely), Problem::NotRefunded),
            ]
        );
    }

    #[test]
    fn runs_without_a_charge_record_no_cost_and_free_runs_name_no_debit() {
        let mut books = Books::default();
        let costly = books.run(RunStatus::Failed, 100, None);
        let (_, debit) = books.paid(100);
        let free = books.run(RunStatus::Succeeded, 0, Some(debit));
        let rejected = books.run(RunStatus::Rejected, 0, Some(debit));
        let paid = books.runs[1].id;
        let found = problems(&books);
        assert_eq!(
            found[..3],
            [
                (
                    Some(costly),
                    None,
                    Problem::CostWithoutCharge {
                        cost: Credits::whole(1),
                        refunded: Credits::ZERO
                    }
                ),
                (Some(free), Some(debit), Problem::UnexpectedCharge),
                (Some(rejected), Some(debit), Problem::UnexpectedCharge),
            ]
        );
        // The debit is also named three times.
        assert!(found[3..].iter().any(|(run, _, problem)| *run == Some(paid)
            && matches!(problem, Problem::SharedCharge { others } if others.len() == 2)));
    }

    #[test]
    fn a_debit_of_a_run_still_running_is_pending_not_unclaimed() {
        let mut books = Books::default();
        let running = books.run(RunStatus::Running, 100, None);
        books.entry(EntryKind::Consume, 100, Some(charge_key(running)), None);
        let report = books.check();
        assert_eq!(report.mismatches, vec![]);
        assert_eq!(report.counts.running, 1);
        books.runs[0].status = RunStatus::Failed;
        books.runs[0].cost = Credits::ZERO;
        assert!(matches!(
            problems(&books)[..],
            [(Some(run), Some(_), Problem::Unclaimed { .. })] if run == running
        ));
    }

    #[test]
    fn mismatches_read_by_run_and_entry() {
        let run = Uuid::nil();
        let mismatch = Mismatch {
            run: Some(run),
            entry: Some(EntryId(7)),
            problem: Problem::SharedCharge {
                others: vec![Uuid::max()],
            },
        };
        assert_eq!(
            mismatch.to_string(),
            format!(
                "run {run}, entry 7: names the same debit as run {}",
                Uuid::max()
            )
        );
    }
}
