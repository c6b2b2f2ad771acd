//! Property tests: random histories of operations never break a ledger invariant.

use proptest::prelude::*;
use quickscale_domain_credits::memory::MemoryLedger;
use quickscale_domain_credits::plan::usable_balance;
use quickscale_domain_credits::{
    AccountId, Actor, Balance, CreditCommand, CreditError, Credits, EntryKind, GrantKind,
    IdempotencyKey, Operation, Reason, Receipt, SourceRef, verify,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

#[derive(Clone, Debug)]
enum Step {
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

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (kind(), 1i64..20_000, proptest::option::of(1i64..200))
            .prop_map(|(kind, cents, expires_in_hours)| Step::Grant { kind, cents, expires_in_hours }),
        5 => (1i64..5_000).prop_map(|cents| Step::Consume { cents }),
        1 => (1i64..5_000).prop_map(|cents| Step::AdminRemove { cents }),
        2 => any::<usize>().prop_map(|nth| Step::Reverse { nth }),
        1 => (any::<usize>(), 1i64..20_000).prop_map(|(nth, cents)| Step::ClawBack { nth, cents }),
        2 => any::<usize>().prop_map(|nth| Step::Replay { nth }),
        2 => (1i64..72).prop_map(|hours| Step::Wait { hours }),
    ]
}

fn cents(c: i64) -> Credits {
    Credits::from_cents(c).unwrap()
}

struct Harness {
    ledger: MemoryLedger,
    account: AccountId,
    now: OffsetDateTime,
    done: Vec<(Operation, Receipt)>,
    consumptions: Vec<quickscale_domain_credits::EntryId>,
    purchases: Vec<SourceRef>,
    counter: u64,
}

impl Harness {
    fn new() -> Self {
        let mut ledger = MemoryLedger::new();
        let account = AccountId::new(Uuid::from_u128(7));
        ledger.open_account(account);
        Harness {
            ledger,
            account,
            now: START,
            done: Vec::new(),
            consumptions: Vec::new(),
            purchases: Vec::new(),
            counter: 0,
        }
    }

    fn op(&mut self, command: CreditCommand) -> Operation {
        self.counter += 1;
        Operation {
            key: IdempotencyKey::parse(format!("op-{}", self.counter)).unwrap(),
            actor: Actor::System,
            reason: Reason::parse("property test").unwrap(),
            command,
        }
    }

    fn usable(&self) -> Credits {
        usable_balance(&self.ledger.open_grants(self.account).unwrap(), self.now)
    }

    fn run(&mut self, step: Step) -> Result<(), TestCaseError> {
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
                let before = self.ledger.snapshot(self.account).unwrap();
                let again = self.ledger.execute(self.account, &op, self.now).unwrap();
                prop_assert!(again.replayed);
                prop_assert_eq!(
                    Receipt {
                        replayed: false,
                        ..again
                    },
                    first
                );
                prop_assert_eq!(self.ledger.snapshot(self.account).unwrap(), before);
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
            Step::ClawBack { nth, cents: c } => match self.purchases.len() {
                0 => return Ok(()),
                n => CreditCommand::ClawBack {
                    source: self.purchases[nth % n].clone(),
                    amount: cents(c),
                },
            },
        };
        let usable_before = self.usable();
        let before = self.ledger.snapshot(self.account).unwrap();
        let op = self.op(command.clone());
        match self.ledger.execute(self.account, &op, self.now) {
            Ok(receipt) => {
                prop_assert!(!receipt.replayed);
                let balance =
                    Balance::of(&self.ledger.open_grants(self.account).unwrap(), self.now);
                prop_assert_eq!(balance.total, receipt.balance_after);
                match &command {
                    CreditCommand::Consume { amount } | CreditCommand::AdminRemove { amount } => {
                        prop_assert!(usable_before >= *amount, "spent more than was usable");
                        prop_assert_eq!(receipt.amount, *amount);
                        prop_assert_eq!(balance.total, usable_before.checked_sub(*amount).unwrap());
                        if receipt.kind == EntryKind::Consume {
                            self.consumptions.push(receipt.entry);
                        }
                    }
                    CreditCommand::Grant { amount, .. } => {
                        prop_assert_eq!(balance.total, usable_before.checked_add(*amount).unwrap());
                    }
                    CreditCommand::ClawBack { amount, .. } => {
                        prop_assert_eq!(
                            receipt.amount.checked_add(receipt.shortfall),
                            Some(*amount)
                        );
                        prop_assert_eq!(
                            balance.total,
                            usable_before.checked_sub(receipt.amount).unwrap()
                        );
                    }
                    CreditCommand::Reverse { .. } => {
                        prop_assert_eq!(
                            balance.total,
                            usable_before.checked_add(receipt.amount).unwrap()
                        );
                    }
                }
                self.done.push((op, receipt));
            }
            Err(error) => {
                prop_assert_eq!(
                    self.ledger.snapshot(self.account).unwrap(),
                    before,
                    "a failed operation changed the ledger"
                );
                match (&command, &error) {
                    (
                        CreditCommand::Consume { amount } | CreditCommand::AdminRemove { amount },
                        CreditError::Insufficient(short),
                    ) => {
                        prop_assert_eq!(short.required, *amount);
                        prop_assert_eq!(short.available, usable_before);
                        prop_assert!(usable_before < *amount);
                    }
                    (CreditCommand::Reverse { .. }, CreditError::AlreadyReversed { .. }) => {}
                    _ => prop_assert!(false, "unexpected error {error:?} for {command:?}"),
                }
            }
        }
        let problems = verify(&self.ledger.snapshot(self.account).unwrap());
        prop_assert!(problems.is_empty(), "invariants broken: {problems:?}");
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_keep_every_invariant(steps in proptest::collection::vec(step(), 1..60)) {
        let mut harness = Harness::new();
        for step in steps {
            harness.run(step)?;
        }
        // Whatever happened, the balance never went negative and expired credits are gone.
        let grants = harness.ledger.open_grants(harness.account).unwrap();
        let later = harness.now + Duration::days(400);
        let balance = Balance::of(&grants, later);
        prop_assert!(balance.total <= Balance::of(&grants, harness.now).total);
        prop_assert!(grants.iter().filter(|g| g.expires_at.is_none()).map(|g| g.remaining).sum::<Credits>() == balance.total);
    }

    #[test]
    fn expired_credits_are_never_spent(
        expiring in 1i64..10_000,
        lasting in 0i64..10_000,
        wanted in 1i64..20_000,
        hours in 1i64..100,
    ) {
        let mut h = Harness::new();
        let source = SourceRef::parse("sub").unwrap();
        let op = h.op(CreditCommand::Grant {
            kind: GrantKind::Subscription,
            amount: cents(expiring),
            expires_at: Some(h.now + Duration::hours(hours)),
            source,
        });
        h.ledger.execute(h.account, &op, h.now).unwrap();
        if lasting > 0 {
            let op = h.op(CreditCommand::Grant {
                kind: GrantKind::Purchase,
                amount: cents(lasting),
                expires_at: None,
                source: SourceRef::parse("pack").unwrap(),
            });
            h.ledger.execute(h.account, &op, h.now).unwrap();
        }
        h.now += Duration::hours(hours);
        let op = h.op(CreditCommand::Consume { amount: cents(wanted) });
        let result = h.ledger.execute(h.account, &op, h.now);
        if wanted <= lasting {
            let receipt = result.unwrap();
            prop_assert_eq!(receipt.balance_after, cents(lasting - wanted));
        } else {
            match result {
                Err(CreditError::Insufficient(short)) => {
                    prop_assert_eq!(short.available, cents(lasting));
                }
                other => prop_assert!(false, "expected insufficient credits, got {other:?}"),
            }
        }
        prop_assert!(verify(&h.ledger.snapshot(h.account).unwrap()).is_empty());
    }
}
