//! `verify` finds each kind of broken ledger: a sound ledger is built through the ledger's own
//! operations, then corrupted one way at a time, as a bad migration, a hand edit or a store
//! bug would.

use quickscale_domain_credits::memory::MemoryLedger;
use quickscale_domain_credits::{
    AccountId, AccountSnapshot, Actor, CreditCommand, Credits, EntryKind, GrantKind,
    IdempotencyKey, Operation, Reason, SourceRef, verify,
};
use time::Duration;
use time::macros::datetime;
use uuid::Uuid;

const NOW: time::OffsetDateTime = datetime!(2026-03-01 09:00 UTC);

fn op(key: &str, command: CreditCommand) -> Operation {
    Operation {
        key: IdempotencyKey::parse(key).unwrap(),
        actor: Actor::System,
        reason: Reason::parse("test").unwrap(),
        command,
    }
}

/// A welcome grant of 100, a purchase of 50 expiring in a day, two runs of 30 (the first one
/// reversed), and an expiry sweep after the purchase expired.
fn sound() -> AccountSnapshot {
    let mut ledger = MemoryLedger::new();
    let account = AccountId::new(Uuid::from_u128(7));
    ledger.open_account(account);
    let grant = |kind, credits, expires_at, source: &str| CreditCommand::Grant {
        kind,
        amount: Credits::whole(credits),
        expires_at,
        source: SourceRef::parse(source).unwrap(),
    };
    let consume = CreditCommand::Consume {
        amount: Credits::whole(30),
    };
    ledger
        .execute(
            account,
            &op("w", grant(GrantKind::Welcome, 100, None, "signup")),
            NOW,
        )
        .unwrap();
    ledger
        .execute(
            account,
            &op(
                "p",
                grant(
                    GrantKind::Purchase,
                    50,
                    Some(NOW + Duration::days(1)),
                    "payment:1",
                ),
            ),
            NOW,
        )
        .unwrap();
    let first = ledger
        .execute(account, &op("run-1", consume.clone()), NOW)
        .unwrap();
    ledger
        .execute(
            account,
            &op("undo-1", CreditCommand::Reverse { entry: first.entry }),
            NOW,
        )
        .unwrap();
    ledger
        .execute(account, &op("run-2", consume), NOW + Duration::hours(1))
        .unwrap();
    // A spend after the purchase expired sweeps what it had left.
    ledger
        .execute(
            account,
            &op(
                "run-3",
                CreditCommand::Consume {
                    amount: Credits::whole(1),
                },
            ),
            NOW + Duration::days(2),
        )
        .unwrap();
    let snapshot = ledger.snapshot(account).unwrap();
    assert!(verify(&snapshot).is_empty(), "{:?}", verify(&snapshot));
    assert!(
        snapshot.entries.iter().any(|e| e.kind == EntryKind::Expire),
        "the history has an expiry"
    );
    snapshot
}

/// What `verify` says about the sound ledger after `corrupt`.
fn findings(corrupt: impl FnOnce(&mut AccountSnapshot)) -> Vec<String> {
    let mut snapshot = sound();
    corrupt(&mut snapshot);
    verify(&snapshot).into_iter().map(|v| v.0).collect()
}

fn assert_found(found: &[String], needle: &str) {
    assert!(
        found.iter().any(|f| f.contains(needle)),
        "expected a finding containing {needle:?}, got {found:?}"
    );
}

#[test]
fn a_grant_holding_more_than_it_was_given_is_found() {
    let found = findings(|s| {
        let grant = &mut s.grants[0];
        grant.remaining = Credits::from_cents(grant.amount.cents() + 1).unwrap();
    });
    assert_found(&found, "left of");
}

#[test]
fn a_wrong_balance_after_is_found() {
    let found = findings(|s| {
        let last = s.entries.last_mut().unwrap();
        last.balance_after = Credits::from_cents(last.balance_after.cents() + 100).unwrap();
    });
    assert_found(&found, "says the balance after is");
}

#[test]
fn grants_that_do_not_hold_what_the_ledger_sums_to_are_found() {
    let found = findings(|s| {
        let grant = s
            .grants
            .iter_mut()
            .find(|g| !g.remaining.is_zero())
            .unwrap();
        grant.remaining = Credits::from_cents(grant.remaining.cents() - 1).unwrap();
    });
    assert_found(&found, "the ledger sums to");
    assert_found(&found, "should have");
}

#[test]
fn a_debit_whose_allocations_do_not_add_up_is_found() {
    let found = findings(|s| {
        let debit = s
            .entries
            .iter()
            .rev()
            .find(|e| e.kind == EntryKind::Consume)
            .unwrap()
            .id;
        let at = s.allocations.iter().position(|(e, _)| *e == debit).unwrap();
        s.allocations.remove(at);
    });
    assert_found(&found, "allocations do not add up");
}

#[test]
fn spending_an_expired_grant_is_found() {
    let found = findings(|s| {
        // The last run took its one credit from the welcome grant; say it took it from the
        // purchase, which had expired by then.
        let purchase = s
            .grants
            .iter()
            .find(|g| g.kind == GrantKind::Purchase)
            .unwrap()
            .id;
        let last_run = s.entries.last().unwrap().id;
        for (entry, allocation) in &mut s.allocations {
            if *entry == last_run {
                allocation.grant = purchase;
            }
        }
    });
    assert_found(&found, "after it expired");
}

#[test]
fn a_reversal_of_what_is_not_a_consumption_or_a_second_reversal_is_found() {
    let twice = findings(|s| {
        let reversal = s
            .entries
            .iter()
            .find(|e| e.kind == EntryKind::Reversal)
            .unwrap()
            .clone();
        let mut copy = reversal.clone();
        copy.id = quickscale_domain_credits::EntryId(9_999);
        s.entries.push(copy);
    });
    assert_found(&twice, "was reversed twice");

    let wrong_kind = findings(|s| {
        let welcome = s.entries[0].id;
        let reversal = s
            .entries
            .iter_mut()
            .find(|e| e.kind == EntryKind::Reversal)
            .unwrap();
        reversal.reverses = Some(welcome);
    });
    assert_found(&wrong_kind, "which is not a consumption");
}

#[test]
fn an_allocation_to_a_missing_grant_or_entry_is_found() {
    let found = findings(|s| {
        s.grants.retain(|g| g.kind != GrantKind::Welcome);
    });
    assert_found(&found, "spent missing grant");
    let found = findings(|s| {
        let (_, allocation) = s.allocations[0];
        s.allocations
            .push((quickscale_domain_credits::EntryId(4_242), allocation));
    });
    assert_found(&found, "allocation points at missing entry");
}

#[test]
fn a_hold_ended_twice_or_an_ending_of_what_is_not_a_hold_is_found() {
    let account = AccountId::new(Uuid::from_u128(5));
    let mut ledger = MemoryLedger::new();
    ledger.open_account(account);
    let now = datetime!(2026-05-01 10:00 UTC);
    let op = |key: &str, command| Operation {
        key: IdempotencyKey::parse(key).unwrap(),
        actor: Actor::System,
        reason: Reason::parse("test").unwrap(),
        command,
    };
    ledger
        .execute(
            account,
            &op(
                "g",
                CreditCommand::Grant {
                    kind: GrantKind::Welcome,
                    amount: Credits::whole(10),
                    expires_at: None,
                    source: SourceRef::parse("s").unwrap(),
                },
            ),
            now,
        )
        .unwrap();
    let hold = ledger
        .execute(
            account,
            &op(
                "h",
                CreditCommand::Hold {
                    amount: Credits::whole(4),
                },
            ),
            now,
        )
        .unwrap();
    ledger
        .execute(
            account,
            &op("r", CreditCommand::Release { hold: hold.entry }),
            now,
        )
        .unwrap();
    let sound = ledger.snapshot(account).unwrap();
    assert_eq!(verify(&sound), vec![]);

    let mut twice = sound.clone();
    let mut copy = twice.entries.last().unwrap().clone();
    copy.id = quickscale_domain_credits::EntryId(9_999);
    twice.entries.push(copy);
    let found: Vec<String> = verify(&twice).into_iter().map(|v| v.0).collect();
    assert_found(&found, "was reversed twice");

    let mut not_a_hold = sound;
    let grant = not_a_hold.entries[0].id;
    not_a_hold.entries.last_mut().unwrap().reverses = Some(grant);
    let found: Vec<String> = verify(&not_a_hold).into_iter().map(|v| v.0).collect();
    assert_found(&found, "which is not a hold");
}
