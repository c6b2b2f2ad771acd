//! Property tests: random histories of operations on the in-memory ledger agree, step by step,
//! with a deliberately simple model of lots (tests/support/model.rs), and never break a ledger
//! invariant. The same histories run on the SQLite store in crates/adapters.

#[path = "support/model.rs"]
mod model;

use model::{Harness, Ledger, START, cents, step};
use proptest::prelude::*;
use quickscale_domain_credits::memory::MemoryLedger;
use quickscale_domain_credits::{
    AccountId, AccountSnapshot, Balance, CreditCommand, CreditError, Credits, GrantKind, Operation,
    Receipt, SourceRef,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// One account of the in-memory ledger.
struct InMemory {
    ledger: MemoryLedger,
    account: AccountId,
}

impl InMemory {
    fn new() -> Self {
        let mut ledger = MemoryLedger::new();
        let account = AccountId::new(Uuid::from_u128(7));
        ledger.open_account(account);
        InMemory { ledger, account }
    }
}

impl Ledger for InMemory {
    fn execute(&mut self, op: &Operation, now: OffsetDateTime) -> Result<Receipt, CreditError> {
        self.ledger.execute(self.account, op, now)
    }

    fn snapshot(&mut self) -> AccountSnapshot {
        self.ledger.snapshot(self.account).unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_match_the_model(steps in proptest::collection::vec(step(), 1..60)) {
        let mut harness = Harness::new(InMemory::new());
        for step in steps {
            harness.run(step)?;
        }
        // Long after, every expiring lot is gone: what is left is what never expires.
        let later = harness.now + Duration::days(400);
        let grants = harness.ledger.ledger.open_grants(harness.ledger.account).unwrap();
        prop_assert_eq!(Balance::of(&grants, later).total, cents(harness.model.usable(later)));
        prop_assert!(harness.model.usable(later) <= harness.model.usable(harness.now));
    }

    #[test]
    fn expired_credits_are_never_spent(
        expiring in 1i64..10_000,
        lasting in 0i64..10_000,
        wanted in 1i64..20_000,
        hours in 1i64..100,
    ) {
        let mut h = Harness::new(InMemory::new());
        h.execute(CreditCommand::Grant {
            kind: GrantKind::Subscription,
            amount: cents(expiring),
            expires_at: Some(START + Duration::hours(hours)),
            source: SourceRef::parse("sub").unwrap(),
        })?.unwrap();
        if lasting > 0 {
            h.execute(CreditCommand::Grant {
                kind: GrantKind::Purchase,
                amount: cents(lasting),
                expires_at: None,
                source: SourceRef::parse("pack").unwrap(),
            })?.unwrap();
        }
        h.now += Duration::hours(hours);
        // The harness checks the ledger against the model; the model's answer, written out:
        match h.execute(CreditCommand::Consume { amount: cents(wanted) })? {
            Ok(receipt) => {
                prop_assert!(wanted <= lasting);
                prop_assert_eq!(receipt.balance_after, cents(lasting - wanted));
            }
            Err(CreditError::Insufficient(short)) => {
                prop_assert!(wanted > lasting);
                prop_assert_eq!(short.available, cents(lasting));
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
        prop_assert_eq!(
            h.ledger.ledger.open_grants(h.ledger.account).unwrap().iter().map(|g| g.remaining).sum::<Credits>(),
            cents(if wanted <= lasting { lasting - wanted } else { expiring + lasting }),
            "the expired lot is swept only by an operation that succeeds"
        );
    }
}
