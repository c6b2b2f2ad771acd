//! The ledger's rules, one scenario each.

use quickscale_domain_credits::memory::MemoryLedger;
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, CreditError, Credits, EntryKind, GrantKind, HistoryQuery,
    IdempotencyKey, Operation, Reason, SourceRef, verify,
};
use time::Duration;
use time::macros::datetime;
use uuid::Uuid;

fn op(key: &str, command: CreditCommand) -> Operation {
    Operation {
        key: IdempotencyKey::parse(key).unwrap(),
        actor: Actor::System,
        reason: Reason::parse("test").unwrap(),
        command,
    }
}

fn grant(kind: GrantKind, credits: u32, source: &str) -> CreditCommand {
    CreditCommand::Grant {
        kind,
        amount: Credits::whole(credits),
        expires_at: None,
        source: SourceRef::parse(source).unwrap(),
    }
}

fn setup() -> (MemoryLedger, AccountId) {
    let mut ledger = MemoryLedger::new();
    let account = AccountId::new(Uuid::from_u128(1));
    ledger.open_account(account);
    (ledger, account)
}

const NOW: time::OffsetDateTime = datetime!(2026-03-01 09:00 UTC);

#[test]
fn a_replay_returns_the_first_result_and_changes_nothing() {
    let (mut ledger, account) = setup();
    ledger
        .execute(
            account,
            &op("w", grant(GrantKind::Welcome, 100, "signup")),
            NOW,
        )
        .unwrap();
    let spend = op(
        "run-1",
        CreditCommand::Consume {
            amount: Credits::whole(1),
        },
    );
    let first = ledger.execute(account, &spend, NOW).unwrap();
    let second = ledger
        .execute(account, &spend, NOW + Duration::minutes(5))
        .unwrap();
    assert!(!first.replayed);
    assert!(second.replayed);
    assert_eq!(second.entry, first.entry);
    assert_eq!(second.balance_after, Credits::whole(99));
    assert_eq!(
        ledger
            .history(account, HistoryQuery::newest(10))
            .unwrap()
            .entries
            .len(),
        2
    );
}

#[test]
fn reusing_a_key_for_another_operation_is_refused() {
    let (mut ledger, account) = setup();
    ledger
        .execute(
            account,
            &op("w", grant(GrantKind::Welcome, 100, "signup")),
            NOW,
        )
        .unwrap();
    ledger
        .execute(
            account,
            &op(
                "k",
                CreditCommand::Consume {
                    amount: Credits::whole(1),
                },
            ),
            NOW,
        )
        .unwrap();
    let err = ledger
        .execute(
            account,
            &op(
                "k",
                CreditCommand::Consume {
                    amount: Credits::whole(2),
                },
            ),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, CreditError::IdempotencyConflict(_)));
}

#[test]
fn the_same_source_is_granted_once_even_under_another_key() {
    let (mut ledger, account) = setup();
    ledger
        .execute(
            account,
            &op("a", grant(GrantKind::Purchase, 100, "payment:pi_1")),
            NOW,
        )
        .unwrap();
    let err = ledger
        .execute(
            account,
            &op("b", grant(GrantKind::Purchase, 100, "payment:pi_1")),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, CreditError::DuplicateSource(_)));
}

#[test]
fn insufficient_credits_name_both_amounts_and_debit_nothing() {
    let (mut ledger, account) = setup();
    ledger
        .execute(
            account,
            &op("w", grant(GrantKind::Welcome, 2, "signup")),
            NOW,
        )
        .unwrap();
    let err = ledger
        .execute(
            account,
            &op(
                "r",
                CreditCommand::Consume {
                    amount: Credits::whole(3),
                },
            ),
            NOW,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "3 credits are required but only 2 credits can be used"
    );
    assert_eq!(
        ledger.open_grants(account).unwrap()[0].remaining,
        Credits::whole(2)
    );
}

#[test]
fn expiry_is_written_to_the_ledger_before_the_next_operation() {
    let (mut ledger, account) = setup();
    let expiring = CreditCommand::Grant {
        kind: GrantKind::Subscription,
        amount: Credits::whole(50),
        expires_at: Some(NOW + Duration::days(30)),
        source: SourceRef::parse("invoice:in_1").unwrap(),
    };
    ledger.execute(account, &op("s", expiring), NOW).unwrap();
    ledger
        .execute(
            account,
            &op("p", grant(GrantKind::Purchase, 10, "payment:pi_1")),
            NOW,
        )
        .unwrap();
    let later = NOW + Duration::days(31);
    let receipt = ledger
        .execute(
            account,
            &op(
                "r",
                CreditCommand::Consume {
                    amount: Credits::whole(4),
                },
            ),
            later,
        )
        .unwrap();
    assert_eq!(receipt.balance_after, Credits::whole(6));
    let history = ledger
        .history(account, HistoryQuery::newest(10))
        .unwrap()
        .entries;
    let kinds: Vec<EntryKind> = history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EntryKind::Consume,
            EntryKind::Expire,
            EntryKind::Grant,
            EntryKind::Grant
        ]
    );
    assert_eq!(history[1].amount, Credits::whole(50));
    assert!(verify(&ledger.snapshot(account).unwrap()).is_empty());
}

#[test]
fn a_reversal_returns_credits_to_the_grants_they_came_from_once() {
    let (mut ledger, account) = setup();
    let sub = CreditCommand::Grant {
        kind: GrantKind::Subscription,
        amount: Credits::whole(1),
        expires_at: Some(NOW + Duration::days(30)),
        source: SourceRef::parse("invoice:in_1").unwrap(),
    };
    ledger.execute(account, &op("s", sub), NOW).unwrap();
    ledger
        .execute(
            account,
            &op("p", grant(GrantKind::Purchase, 10, "payment:pi_1")),
            NOW,
        )
        .unwrap();
    let spent = ledger
        .execute(
            account,
            &op(
                "run",
                CreditCommand::Consume {
                    amount: Credits::whole(3),
                },
            ),
            NOW,
        )
        .unwrap();
    let back = ledger
        .execute(
            account,
            &op("undo", CreditCommand::Reverse { entry: spent.entry }),
            NOW,
        )
        .unwrap();
    assert_eq!(back.amount, Credits::whole(3));
    assert_eq!(back.balance_after, Credits::whole(11));
    let grants = ledger.open_grants(account).unwrap();
    assert!(grants.iter().all(|g| g.remaining == g.amount));
    let err = ledger
        .execute(
            account,
            &op("undo-2", CreditCommand::Reverse { entry: spent.entry }),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, CreditError::AlreadyReversed { .. }));
    assert!(verify(&ledger.snapshot(account).unwrap()).is_empty());
}

#[test]
fn a_clawback_takes_only_what_is_left_of_the_payment_and_reports_the_shortfall() {
    let (mut ledger, account) = setup();
    ledger
        .execute(
            account,
            &op("w", grant(GrantKind::Welcome, 5, "signup")),
            NOW,
        )
        .unwrap();
    ledger
        .execute(
            account,
            &op("p", grant(GrantKind::Purchase, 100, "payment:pi_1")),
            NOW,
        )
        .unwrap();
    // The welcome grant is older, so it is spent first; then 65 of the purchase.
    ledger
        .execute(
            account,
            &op(
                "r",
                CreditCommand::Consume {
                    amount: Credits::whole(70),
                },
            ),
            NOW,
        )
        .unwrap();
    let refund = CreditCommand::ClawBack {
        source: SourceRef::parse("payment:pi_1").unwrap(),
        amount: Credits::whole(100),
    };
    let receipt = ledger.execute(account, &op("refund", refund), NOW).unwrap();
    assert_eq!(receipt.amount, Credits::whole(35));
    assert_eq!(receipt.shortfall, Credits::whole(65));
    assert_eq!(receipt.balance_after, Credits::ZERO);
    assert!(verify(&ledger.snapshot(account).unwrap()).is_empty());
}

#[test]
fn an_admin_removal_never_overdraws() {
    let (mut ledger, account) = setup();
    ledger
        .execute(
            account,
            &op("w", grant(GrantKind::Welcome, 5, "signup")),
            NOW,
        )
        .unwrap();
    let err = ledger
        .execute(
            account,
            &op(
                "rm",
                CreditCommand::AdminRemove {
                    amount: Credits::whole(6),
                },
            ),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, CreditError::Insufficient(_)));
    let ok = ledger
        .execute(
            account,
            &op(
                "rm2",
                CreditCommand::AdminRemove {
                    amount: Credits::whole(5),
                },
            ),
            NOW,
        )
        .unwrap();
    assert_eq!(ok.kind, EntryKind::AdminRemove);
    assert_eq!(ok.balance_after, Credits::ZERO);
}

#[test]
fn history_pages_walk_the_whole_ledger_newest_first() {
    let (mut ledger, account) = setup();
    ledger
        .execute(
            account,
            &op("w", grant(GrantKind::Welcome, 100, "signup")),
            NOW,
        )
        .unwrap();
    for i in 0..9 {
        let spend = CreditCommand::Consume {
            amount: Credits::whole(1),
        };
        ledger
            .execute(account, &op(&format!("r{i}"), spend), NOW)
            .unwrap();
    }
    let first = ledger.history(account, HistoryQuery::newest(4)).unwrap();
    assert_eq!(first.entries.len(), 4);
    let mut seen: Vec<_> = first.entries.iter().map(|e| e.id).collect();
    let mut before = first.next_before;
    while let Some(cursor) = before {
        let page = ledger
            .history(
                account,
                HistoryQuery {
                    before: Some(cursor),
                    limit: 4,
                },
            )
            .unwrap();
        seen.extend(page.entries.iter().map(|e| e.id));
        before = page.next_before;
    }
    assert_eq!(seen.len(), 10);
    assert!(seen.windows(2).all(|w| w[0] > w[1]));
}

#[test]
fn unknown_accounts_and_zero_amounts_are_errors() {
    let (mut ledger, _) = setup();
    let stranger = AccountId::new(Uuid::from_u128(99));
    let err = ledger
        .execute(stranger, &op("x", grant(GrantKind::Admin, 1, "a")), NOW)
        .unwrap_err();
    assert!(matches!(err, CreditError::AccountNotFound(_)));
    let (mut ledger, account) = setup();
    let err = ledger
        .execute(
            account,
            &op(
                "z",
                CreditCommand::Consume {
                    amount: Credits::ZERO,
                },
            ),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, CreditError::Amount(_)));
}
