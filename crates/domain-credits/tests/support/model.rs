//! Random histories of credit operations, checked against a deliberately simple model of lots.
//!
//! The model shares no code with the ledger: lots are plain integers of hundredths in a `Vec`,
//! and each of the credit rules (docs/architecture.md, "The credit rules") is written out here
//! from its description (a lot expires at its expiry instant; debits take from lots that expire
//! soonest, then the oldest; a reversal gives back only to lots not yet expired; a clawback takes
//! what is left of its source). The harness runs each step on a ledger under test and on the
//! model, and fails on the first difference in a receipt, an error, an expiry, a lot's remainder
//! or a ledger invariant.
//!
//! Shared by the in-memory property tests (crates/domain-credits) and the SQLite ones
//! (crates/adapters), each providing a [`Ledger`].

#![allow(dead_code)] // each test binary uses its own part

use std::collections::HashMap;

use proptest::prelude::*;
use quickscale_domain_credits::{
    AccountSnapshot, Actor, CreditCommand, CreditError, Credits, EntryId, EntryKind, Grant,
    GrantKind, IdempotencyKey, Operation, Reason, Receipt, SourceRef, verify,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub const START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

/// One account of a ledger under test.
pub trait Ledger {
    fn execute(&mut self, op: &Operation, now: OffsetDateTime) -> Result<Receipt, CreditError>;
    fn snapshot(&mut self) -> AccountSnapshot;
}

#[derive(Clone, Debug)]
pub enum Step {
    Grant {
        kind: GrantKind,
        cents: i64,
        expires_in_hours: Option<i64>,
    },
    Consume {
        cents: i64,
    },
    AdminRemove {
        cents: i64,
    },
    /// Reverse the n-th consumption so far (modulo their count).
    Reverse {
        nth: usize,
    },
    /// Claw back from the n-th purchase so far.
    ClawBack {
        nth: usize,
        cents: i64,
    },
    /// Hold credits for a run.
    Hold {
        cents: i64,
    },
    /// Settle the n-th hold so far with a charge of `per_mille` thousandths of it (above a
    /// thousand: more than the hold, refused).
    Settle {
        nth: usize,
        per_mille: i64,
    },
    /// Release the n-th hold so far.
    Release {
        nth: usize,
    },
    /// Send an earlier operation again with its key.
    Replay {
        nth: usize,
    },
    Wait {
        hours: i64,
    },
}

fn kind() -> impl Strategy<Value = GrantKind> {
    prop_oneof![
        Just(GrantKind::Welcome),
        Just(GrantKind::Purchase),
        Just(GrantKind::Subscription),
        Just(GrantKind::Admin)
    ]
}

pub fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (kind(), 1i64..20_000, proptest::option::of(1i64..200))
            .prop_map(|(kind, cents, expires_in_hours)| Step::Grant { kind, cents, expires_in_hours }),
        5 => (1i64..5_000).prop_map(|cents| Step::Consume { cents }),
        1 => (1i64..5_000).prop_map(|cents| Step::AdminRemove { cents }),
        2 => any::<usize>().prop_map(|nth| Step::Reverse { nth }),
        1 => (any::<usize>(), 1i64..20_000).prop_map(|(nth, cents)| Step::ClawBack { nth, cents }),
        2 => any::<usize>().prop_map(|nth| Step::Replay { nth }),
        2 => (1i64..72).prop_map(|hours| Step::Wait { hours }),
        3 => (1i64..5_000).prop_map(|cents| Step::Hold { cents }),
        2 => (any::<usize>(), 0i64..1_100).prop_map(|(nth, per_mille)| Step::Settle { nth, per_mille }),
        2 => any::<usize>().prop_map(|nth| Step::Release { nth }),
    ]
}

pub fn cents(c: i64) -> Credits {
    Credits::from_cents(c).unwrap()
}

/// A lot as the model keeps it.
#[derive(Clone, Debug)]
struct Lot {
    source: String,
    amount: i64,
    remaining: i64,
    expires_at: Option<OffsetDateTime>,
}

impl Lot {
    fn live(&self, now: OffsetDateTime) -> bool {
        match self.expires_at {
            Some(expiry) => now < expiry,
            None => true,
        }
    }
}

/// The model: lots in the order they were granted, and what each debit took from which lot.
#[derive(Clone, Debug, Default)]
pub struct Model {
    lots: Vec<Lot>,
    taken: HashMap<EntryId, Vec<(usize, i64)>>,
    reversed: Vec<EntryId>,
    /// Each hold's amount, and the entry that ended it (with its receipt's numbers).
    holds: HashMap<EntryId, i64>,
    ended: HashMap<EntryId, Expected>,
}

/// What the model expects of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expected {
    Done {
        amount: i64,
        shortfall: i64,
        balance_after: i64,
        expired: i64,
    },
    Insufficient {
        required: i64,
        available: i64,
    },
    AlreadyReversed,
    /// The hold had ended: the first ending's result comes back, replayed.
    Ended(Box<Expected>),
    ChargeAboveHold {
        charge: i64,
        held: i64,
    },
}

impl Model {
    /// Credits that can be spent at `now`.
    pub fn usable(&self, now: OffsetDateTime) -> i64 {
        self.lots
            .iter()
            .filter(|l| l.live(now))
            .map(|l| l.remaining)
            .sum()
    }

    /// Empties the lots whose expiry has come; returns how much expired.
    fn sweep(&mut self, now: OffsetDateTime) -> i64 {
        let mut expired = 0;
        for lot in self.lots.iter_mut().filter(|l| !l.live(now)) {
            expired += lot.remaining;
            lot.remaining = 0;
        }
        expired
    }

    /// Takes `amount` from the live lots (of `source` only, when given): those that expire
    /// first, soonest first; then the others, oldest first.
    fn take(
        &mut self,
        amount: i64,
        now: OffsetDateTime,
        source: Option<&str>,
    ) -> Vec<(usize, i64)> {
        let mut order: Vec<usize> = (0..self.lots.len())
            .filter(|&i| self.lots[i].live(now) && self.lots[i].remaining > 0)
            .filter(|&i| source.is_none_or(|s| self.lots[i].source == s))
            .collect();
        order.sort_by_key(|&i| match self.lots[i].expires_at {
            Some(expiry) => (0, Some(expiry), i),
            None => (1, None, i),
        });
        let mut left = amount;
        let mut taken = Vec::new();
        for i in order {
            if left == 0 {
                break;
            }
            let part = left.min(self.lots[i].remaining);
            self.lots[i].remaining -= part;
            left -= part;
            taken.push((i, part));
        }
        taken
    }

    /// What `command` at `now` should do, and the model once it is done.
    fn apply(&mut self, command: &CreditCommand, now: OffsetDateTime) -> (Expected, Model) {
        let mut after = self.clone();
        let usable = self.usable(now);
        let expected = match command {
            CreditCommand::Grant {
                amount,
                expires_at,
                source,
                ..
            } => {
                let expired = after.sweep(now);
                after.lots.push(Lot {
                    source: source.as_str().to_owned(),
                    amount: amount.cents(),
                    remaining: amount.cents(),
                    expires_at: *expires_at,
                });
                Expected::Done {
                    amount: amount.cents(),
                    shortfall: 0,
                    balance_after: after.usable(now),
                    expired,
                }
            }
            CreditCommand::Consume { amount }
            | CreditCommand::AdminRemove { amount }
            | CreditCommand::Hold { amount } => {
                if usable < amount.cents() {
                    return (
                        Expected::Insufficient {
                            required: amount.cents(),
                            available: usable,
                        },
                        self.clone(),
                    );
                }
                let expired = after.sweep(now);
                after.take(amount.cents(), now, None);
                Expected::Done {
                    amount: amount.cents(),
                    shortfall: 0,
                    balance_after: after.usable(now),
                    expired,
                }
            }
            CreditCommand::Reverse { entry } => {
                if self.reversed.contains(entry) {
                    return (Expected::AlreadyReversed, self.clone());
                }
                let expired = after.sweep(now);
                let (mut restored, mut lost) = (0, 0);
                for &(i, part) in &self.taken[entry] {
                    if after.lots[i].live(now) {
                        after.lots[i].remaining += part;
                        restored += part;
                    } else {
                        lost += part;
                    }
                }
                after.reversed.push(*entry);
                Expected::Done {
                    amount: restored,
                    shortfall: lost,
                    balance_after: after.usable(now),
                    expired,
                }
            }
            CreditCommand::ClawBack { source, amount } => {
                let expired = after.sweep(now);
                let took: i64 = after
                    .take(amount.cents(), now, Some(source.as_str()))
                    .iter()
                    .map(|(_, part)| part)
                    .sum();
                Expected::Done {
                    amount: took,
                    shortfall: amount.cents() - took,
                    balance_after: after.usable(now),
                    expired,
                }
            }
            CreditCommand::Settle { hold, .. } | CreditCommand::Release { hold } => {
                if let Some(first) = self.ended.get(hold) {
                    return (Expected::Ended(Box::new(first.clone())), self.clone());
                }
                let held = self.holds[hold];
                let charge = match command {
                    CreditCommand::Settle { charge, .. } => charge.cents(),
                    _ => 0,
                };
                if charge > held {
                    return (Expected::ChargeAboveHold { charge, held }, self.clone());
                }
                let expired = after.sweep(now);
                // The charge keeps what was taken first; the rest goes back, to live lots only.
                let mut taken = self.taken[hold].clone();
                taken.sort_by_key(|&(i, _)| match self.lots[i].expires_at {
                    Some(expiry) => (0, Some(expiry), i),
                    None => (1, None, i),
                });
                let (mut keep, mut back, mut lost) = (charge, 0, 0);
                for (i, part) in taken {
                    let kept = keep.min(part);
                    keep -= kept;
                    let give = part - kept;
                    if after.lots[i].live(now) {
                        after.lots[i].remaining += give;
                        back += give;
                    } else {
                        lost += give;
                    }
                }
                let done = Expected::Done {
                    amount: back,
                    shortfall: lost,
                    balance_after: after.usable(now),
                    expired,
                };
                after.ended.insert(*hold, done.clone());
                done
            }
            // A command added to the ledger needs its rule here, written apart from the ledger's.
            other => panic!("the model has no rule for {other:?}"),
        };
        (expected, after)
    }
}

/// Drives a ledger and the model through the same steps.
pub struct Harness<L: Ledger> {
    pub ledger: L,
    pub model: Model,
    pub now: OffsetDateTime,
    done: Vec<(Operation, Receipt)>,
    consumptions: Vec<EntryId>,
    holds: Vec<EntryId>,
    purchases: Vec<SourceRef>,
    counter: u64,
}

impl<L: Ledger> Harness<L> {
    pub fn new(ledger: L) -> Self {
        Harness {
            ledger,
            model: Model::default(),
            now: START,
            done: Vec::new(),
            consumptions: Vec::new(),
            holds: Vec::new(),
            purchases: Vec::new(),
            counter: 0,
        }
    }

    pub fn op(&mut self, command: CreditCommand) -> Operation {
        self.counter += 1;
        Operation {
            key: IdempotencyKey::parse(format!("op-{}", self.counter)).unwrap(),
            actor: Actor::System,
            reason: Reason::parse("property test").unwrap(),
            command,
        }
    }

    /// Runs one command on both; `Ok` carries the ledger's receipt or error once they agreed.
    pub fn execute(
        &mut self,
        command: CreditCommand,
    ) -> Result<Result<Receipt, CreditError>, TestCaseError> {
        let before = self.ledger.snapshot();
        let (expected, model_after) = self.model.apply(&command, self.now);
        let op = self.op(command.clone());
        let result = self.ledger.execute(&op, self.now);
        let after = self.ledger.snapshot();
        match (&result, &expected) {
            (
                Ok(receipt),
                Expected::Done {
                    amount,
                    shortfall,
                    balance_after,
                    expired,
                },
            ) => {
                prop_assert!(!receipt.replayed);
                prop_assert_eq!(receipt.amount, cents(*amount), "moved");
                prop_assert_eq!(receipt.shortfall, cents(*shortfall), "shortfall");
                prop_assert_eq!(
                    receipt.balance_after,
                    cents(*balance_after),
                    "balance after"
                );
                let new_entries = &after.entries[before.entries.len()..];
                let swept: i64 = new_entries
                    .iter()
                    .filter(|e| e.kind == EntryKind::Expire)
                    .map(|e| e.amount.cents())
                    .sum();
                prop_assert_eq!(swept, *expired, "expired on this operation");
                self.model = model_after;
                if matches!(command, CreditCommand::Consume { .. }) {
                    self.consumptions.push(receipt.entry);
                }
                if let CreditCommand::Hold { amount } = command {
                    self.holds.push(receipt.entry);
                    self.model.holds.insert(receipt.entry, amount.cents());
                }
                if let CreditCommand::Consume { .. }
                | CreditCommand::AdminRemove { .. }
                | CreditCommand::Hold { .. } = command
                {
                    // What the debit took from each lot, for a later reversal.
                    let taken = after
                        .allocations
                        .iter()
                        .filter(|(entry, _)| *entry == receipt.entry)
                        .map(|(_, a)| {
                            let grant = after.grants.iter().find(|g| g.id == a.grant).unwrap();
                            (self.lot_of(grant), a.amount.cents())
                        })
                        .collect();
                    self.model.taken.insert(receipt.entry, taken);
                }
                self.done.push((op, receipt.clone()));
            }
            (
                Err(CreditError::Insufficient(short)),
                Expected::Insufficient {
                    required,
                    available,
                },
            ) => {
                prop_assert_eq!(short.required, cents(*required));
                prop_assert_eq!(short.available, cents(*available));
                prop_assert_eq!(&after, &before, "a refused operation changed the ledger");
            }
            (Ok(receipt), Expected::Ended(first)) => {
                prop_assert!(receipt.replayed, "a second ending is not a new one");
                if let Expected::Done {
                    amount,
                    shortfall,
                    balance_after,
                    ..
                } = **first
                {
                    prop_assert_eq!(receipt.amount, cents(amount));
                    prop_assert_eq!(receipt.shortfall, cents(shortfall));
                    prop_assert_eq!(receipt.balance_after, cents(balance_after));
                }
                prop_assert_eq!(&after, &before, "a second ending changed the ledger");
            }
            (
                Err(CreditError::ChargeAboveHold { charge, held }),
                Expected::ChargeAboveHold { charge: c, held: h },
            ) => {
                prop_assert_eq!(*charge, cents(*c));
                prop_assert_eq!(*held, cents(*h));
                prop_assert_eq!(&after, &before, "a refused operation changed the ledger");
            }
            (Err(CreditError::AlreadyReversed { .. }), Expected::AlreadyReversed) => {
                prop_assert_eq!(&after, &before, "a refused operation changed the ledger");
            }
            (result, expected) => prop_assert!(
                false,
                "{command:?}: the ledger says {result:?}, the model {expected:?}"
            ),
        }
        self.assert_lots_match(&after)?;
        let problems = verify(&after);
        prop_assert!(problems.is_empty(), "invariants broken: {problems:?}");
        Ok(result)
    }

    /// The model's index of the lot `grant` is.
    fn lot_of(&self, grant: &Grant) -> usize {
        self.model
            .lots
            .iter()
            .position(|l| l.source == grant.source.as_str())
            .expect("every grant is a lot of the model")
    }

    /// Every grant holds what the model's lot of the same source holds.
    fn assert_lots_match(&self, snapshot: &AccountSnapshot) -> Result<(), TestCaseError> {
        prop_assert_eq!(snapshot.grants.len(), self.model.lots.len());
        for grant in &snapshot.grants {
            let lot = &self.model.lots[self.lot_of(grant)];
            prop_assert_eq!(grant.amount, cents(lot.amount));
            prop_assert_eq!(grant.expires_at, lot.expires_at);
            prop_assert_eq!(
                grant.remaining,
                cents(lot.remaining),
                "what is left of {}",
                lot.source
            );
        }
        Ok(())
    }

    pub fn run(&mut self, step: Step) -> Result<(), TestCaseError> {
        let command = match step {
            Step::Wait { hours } => {
                self.now += Duration::hours(hours);
                return Ok(());
            }
            Step::Replay { nth } => {
                if self.done.is_empty() {
                    return Ok(());
                }
                let (op, first) = self.done[nth % self.done.len()].clone();
                let before = self.ledger.snapshot();
                let again = self.ledger.execute(&op, self.now).unwrap();
                prop_assert!(again.replayed);
                prop_assert_eq!(
                    Receipt {
                        replayed: false,
                        ..again
                    },
                    first
                );
                prop_assert_eq!(self.ledger.snapshot(), before);
                return Ok(());
            }
            Step::Grant {
                kind,
                cents: c,
                expires_in_hours,
            } => {
                self.counter += 1;
                let source = SourceRef::parse(format!("src-{}", self.counter)).unwrap();
                if kind == GrantKind::Purchase {
                    self.purchases.push(source.clone());
                }
                CreditCommand::Grant {
                    kind,
                    amount: cents(c),
                    expires_at: expires_in_hours.map(|h| self.now + Duration::hours(h)),
                    source,
                }
            }
            Step::Consume { cents: c } => CreditCommand::Consume { amount: cents(c) },
            Step::AdminRemove { cents: c } => CreditCommand::AdminRemove { amount: cents(c) },
            Step::Reverse { nth } => match self.consumptions.len() {
                0 => return Ok(()),
                n => CreditCommand::Reverse {
                    entry: self.consumptions[nth % n],
                },
            },
            Step::Hold { cents: c } => CreditCommand::Hold { amount: cents(c) },
            Step::Settle { nth, per_mille } => match self.holds.len() {
                0 => return Ok(()),
                n => {
                    let hold = self.holds[nth % n];
                    let held = self.model.holds[&hold];
                    CreditCommand::Settle {
                        hold,
                        charge: cents(held * per_mille / 1000),
                    }
                }
            },
            Step::Release { nth } => match self.holds.len() {
                0 => return Ok(()),
                n => CreditCommand::Release {
                    hold: self.holds[nth % n],
                },
            },
            Step::ClawBack { nth, cents: c } => match self.purchases.len() {
                0 => return Ok(()),
                n => CreditCommand::ClawBack {
                    source: self.purchases[nth % n].clone(),
                    amount: cents(c),
                },
            },
        };
        self.execute(command).map(|_| ())
    }
}
