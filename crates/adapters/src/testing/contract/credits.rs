//! The credit store contract.

use std::sync::Arc;

use futures_util::future::join_all;
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, CreditError, CreditStore, Credits, EntryKind, GrantId,
    GrantKind, HistoryQuery, IdempotencyKey, Operation, Reason, SourceRef, verify,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Stores;

const NOW: OffsetDateTime = datetime!(2026-04-01 12:00:00 UTC);

fn op(key: &str, command: CreditCommand) -> Operation {
    Operation {
        key: IdempotencyKey::parse(key).expect("valid key"),
        actor: Actor::System,
        reason: Reason::parse("contract test").expect("valid reason"),
        command,
    }
}

fn grant(
    kind: GrantKind,
    credits: u32,
    source: &str,
    expires_at: Option<OffsetDateTime>,
) -> CreditCommand {
    CreditCommand::Grant {
        kind,
        amount: Credits::whole(credits),
        expires_at,
        source: SourceRef::parse(source).expect("valid source"),
    }
}

fn consume(credits: u32) -> CreditCommand {
    CreditCommand::Consume {
        amount: Credits::whole(credits),
    }
}

async fn account(credits: &Arc<dyn CreditStore>) -> AccountId {
    let account = AccountId::new(Uuid::now_v7());
    credits
        .open_account(account, NOW)
        .await
        .expect("account opens");
    account
}

async fn assert_invariants(credits: &Arc<dyn CreditStore>, account: AccountId) {
    let snapshot = credits.snapshot(account).await.expect("snapshot");
    let problems = verify(&snapshot);
    assert!(
        problems.is_empty(),
        "ledger invariants broken: {problems:?}"
    );
}

pub(super) async fn credits_open_account_is_idempotent_and_unknown_accounts_are_errors(
    stores: Stores,
) {
    let credits = stores.credits;
    let id = account(&credits).await;
    credits
        .open_account(id, NOW)
        .await
        .expect("opening again is harmless");
    let stranger = AccountId::new(Uuid::now_v7());
    let err = credits
        .execute(stranger, op("k", consume(1)), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CreditError::AccountNotFound(a) if a == stranger),
        "{err:?}"
    );
}

pub(super) async fn credits_grants_show_in_balance_history_and_round_trip(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    let expiry = NOW + Duration::days(30);
    let receipt = credits
        .execute(
            id,
            op("welcome", grant(GrantKind::Welcome, 100, "signup", None)),
            NOW,
        )
        .await
        .expect("grant");
    assert_eq!(receipt.balance_after, Credits::whole(100));
    assert_eq!(receipt.kind, EntryKind::Grant);
    credits
        .execute(
            id,
            op(
                "sub",
                grant(GrantKind::Subscription, 50, "invoice:1", Some(expiry)),
            ),
            NOW,
        )
        .await
        .expect("grant");
    let balance = credits.balance(id, NOW).await.expect("balance");
    assert_eq!(balance.total, Credits::whole(150));
    assert_eq!(balance.of_kind(GrantKind::Subscription), Credits::whole(50));
    assert_eq!(balance.pay_as_you_go(), Credits::whole(100));
    assert_eq!(balance.next_expiry, Some((expiry, Credits::whole(50))));
    let grants = credits.open_grants(id).await.expect("grants");
    let sub = grants
        .iter()
        .find(|g| g.kind == GrantKind::Subscription)
        .expect("sub grant");
    assert_eq!(sub.granted_at, NOW);
    assert_eq!(sub.expires_at, Some(expiry));
    assert_eq!(sub.source.as_str(), "invoice:1");
    let history = credits
        .history(id, HistoryQuery::newest(10))
        .await
        .expect("history");
    assert_eq!(history.entries.len(), 2);
    assert_eq!(history.entries[0].balance_after, Credits::whole(150));
    assert_eq!(history.entries[0].at, NOW);
    assert_eq!(history.entries[0].reason, "contract test");
    assert_eq!(
        history.entries[1]
            .idempotency_key
            .as_ref()
            .map(|k| k.as_str()),
        Some("welcome")
    );

    // The grants behind a page of history, spent or not; other accounts' grants stay out.
    credits
        .execute(id, op("spend-all", consume(150)), NOW)
        .await
        .expect("spend");
    let other = account(&credits).await;
    credits
        .execute(
            other,
            op("welcome", grant(GrantKind::Welcome, 1, "signup", None)),
            NOW,
        )
        .await
        .expect("grant");
    let others = credits.open_grants(other).await.expect("grants");
    let mut ids: Vec<GrantId> = history.entries.iter().filter_map(|e| e.grant).collect();
    ids.push(others[0].id);
    let kinds: Vec<(Option<GrantId>, GrantKind)> = credits
        .grants(id, &ids)
        .await
        .expect("grants")
        .iter()
        .map(|g| (Some(g.id), g.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (history.entries[1].grant, GrantKind::Welcome),
            (history.entries[0].grant, GrantKind::Subscription)
        ]
    );
    assert!(credits.grants(id, &[]).await.expect("no ids").is_empty());
    // A page of history with the kind of grant each entry created: the spend created none.
    let (page, created) = credits
        .history_with_kinds(id, HistoryQuery::newest(2))
        .await
        .expect("history with kinds");
    assert_eq!(page.entries.len(), 2);
    assert_eq!(created, [None, Some(GrantKind::Subscription)]);
    assert_eq!(page.next_before, Some(page.entries[1].id), "one more entry");
    let (older, created) = credits
        .history_with_kinds(
            id,
            HistoryQuery {
                before: page.next_before,
                limit: 2,
            },
        )
        .await
        .expect("the next page");
    assert_eq!(older.entries.len(), 1);
    assert_eq!(created, [Some(GrantKind::Welcome)]);
    assert_eq!(older.next_before, None);
    assert_invariants(&credits, id).await;
}

pub(super) async fn credits_consumption_spends_expiring_grants_first(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    credits
        .execute(
            id,
            op("p", grant(GrantKind::Purchase, 10, "payment:1", None)),
            NOW,
        )
        .await
        .unwrap();
    let expiry = Some(NOW + Duration::days(3));
    credits
        .execute(
            id,
            op("s", grant(GrantKind::Subscription, 4, "invoice:1", expiry)),
            NOW,
        )
        .await
        .unwrap();
    let receipt = credits
        .execute(id, op("run", consume(6)), NOW)
        .await
        .unwrap();
    assert_eq!(receipt.balance_after, Credits::whole(8));
    let balance = credits.balance(id, NOW).await.unwrap();
    assert_eq!(balance.of_kind(GrantKind::Subscription), Credits::ZERO);
    assert_eq!(balance.of_kind(GrantKind::Purchase), Credits::whole(8));
    assert_invariants(&credits, id).await;
}

pub(super) async fn credits_insufficient_credits_change_nothing(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    credits
        .execute(
            id,
            op("w", grant(GrantKind::Welcome, 2, "signup", None)),
            NOW,
        )
        .await
        .unwrap();
    let before = credits.snapshot(id).await.unwrap();
    let err = credits
        .execute(id, op("run", consume(3)), NOW)
        .await
        .unwrap_err();
    match err {
        CreditError::Insufficient(short) => {
            assert_eq!(short.required, Credits::whole(3));
            assert_eq!(short.available, Credits::whole(2));
        }
        other => panic!("expected insufficient credits, got {other:?}"),
    }
    assert_eq!(credits.snapshot(id).await.unwrap(), before);
    // The key was not used up by the failure: it works once credits arrive.
    credits
        .execute(
            id,
            op("more", grant(GrantKind::Admin, 5, "admin:1", None)),
            NOW,
        )
        .await
        .unwrap();
    let ok = credits
        .execute(id, op("run", consume(3)), NOW)
        .await
        .unwrap();
    assert_eq!(ok.balance_after, Credits::whole(4));
}

pub(super) async fn credits_replays_return_the_first_receipt(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    credits
        .execute(
            id,
            op("w", grant(GrantKind::Welcome, 10, "signup", None)),
            NOW,
        )
        .await
        .unwrap();
    let first = credits
        .execute(id, op("run-1", consume(1)), NOW)
        .await
        .unwrap();
    let again = credits
        .execute(id, op("run-1", consume(1)), NOW + Duration::hours(1))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(
        (again.entry, again.amount, again.balance_after, again.at),
        (first.entry, first.amount, first.balance_after, first.at)
    );
    assert_eq!(
        credits.balance(id, NOW).await.unwrap().total,
        Credits::whole(9)
    );
    let conflict = credits
        .execute(id, op("run-1", consume(2)), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(conflict, CreditError::IdempotencyConflict(_)),
        "{conflict:?}"
    );
    let replayed_grant = credits
        .execute(
            id,
            op("w", grant(GrantKind::Welcome, 10, "signup", None)),
            NOW,
        )
        .await
        .unwrap();
    assert!(replayed_grant.replayed);
    let duplicate = credits
        .execute(
            id,
            op("w2", grant(GrantKind::Welcome, 10, "signup", None)),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, CreditError::DuplicateSource(_)),
        "{duplicate:?}"
    );
    assert_invariants(&credits, id).await;
}

pub(super) async fn credits_expiry_is_swept_and_never_spent(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    let expiry = Some(NOW + Duration::days(1));
    credits
        .execute(
            id,
            op("s", grant(GrantKind::Subscription, 50, "invoice:1", expiry)),
            NOW,
        )
        .await
        .unwrap();
    credits
        .execute(
            id,
            op("p", grant(GrantKind::Purchase, 5, "payment:1", None)),
            NOW,
        )
        .await
        .unwrap();
    let later = NOW + Duration::days(2);
    assert_eq!(
        credits.balance(id, later).await.unwrap().total,
        Credits::whole(5)
    );
    let err = credits
        .execute(id, op("big", consume(6)), later)
        .await
        .unwrap_err();
    assert!(matches!(err, CreditError::Insufficient(s) if s.available == Credits::whole(5)));
    let receipt = credits
        .execute(id, op("small", consume(5)), later)
        .await
        .unwrap();
    assert_eq!(receipt.balance_after, Credits::ZERO);
    let kinds: Vec<EntryKind> = credits
        .history(id, HistoryQuery::newest(10))
        .await
        .unwrap()
        .entries
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![
            EntryKind::Consume,
            EntryKind::Expire,
            EntryKind::Grant,
            EntryKind::Grant
        ]
    );
    assert_invariants(&credits, id).await;
}

pub(super) async fn credits_reversal_restores_grants_once(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    credits
        .execute(
            id,
            op("w", grant(GrantKind::Welcome, 10, "signup", None)),
            NOW,
        )
        .await
        .unwrap();
    let spent = credits
        .execute(id, op("run", consume(4)), NOW)
        .await
        .unwrap();
    let back = credits
        .execute(
            id,
            op("undo", CreditCommand::Reverse { entry: spent.entry }),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(back.kind, EntryKind::Reversal);
    assert_eq!(back.amount, Credits::whole(4));
    assert_eq!(back.balance_after, Credits::whole(10));
    let twice = credits
        .execute(
            id,
            op("undo-again", CreditCommand::Reverse { entry: spent.entry }),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(twice, CreditError::AlreadyReversed { .. }),
        "{twice:?}"
    );
    let not_consumption = credits
        .execute(
            id,
            op("undo-grant", CreditCommand::Reverse { entry: back.entry }),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(not_consumption, CreditError::NotReversible { .. }),
        "{not_consumption:?}"
    );
    assert_invariants(&credits, id).await;
}

pub(super) async fn credits_clawback_takes_what_is_left_and_reports_the_shortfall(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    credits
        .execute(
            id,
            op("p", grant(GrantKind::Purchase, 100, "payment:pi_1", None)),
            NOW,
        )
        .await
        .unwrap();
    credits
        .execute(id, op("run", consume(30)), NOW)
        .await
        .unwrap();
    let claw = CreditCommand::ClawBack {
        source: SourceRef::parse("payment:pi_1").unwrap(),
        amount: Credits::whole(100),
    };
    let receipt = credits.execute(id, op("refund", claw), NOW).await.unwrap();
    assert_eq!(receipt.amount, Credits::whole(70));
    assert_eq!(receipt.shortfall, Credits::whole(30));
    assert_eq!(receipt.balance_after, Credits::ZERO);
    let replay = credits
        .execute(
            id,
            op(
                "refund",
                CreditCommand::ClawBack {
                    source: SourceRef::parse("payment:pi_1").unwrap(),
                    amount: Credits::whole(100),
                },
            ),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(replay.shortfall, Credits::whole(30));
    let unknown = CreditCommand::ClawBack {
        source: SourceRef::parse("payment:nope").unwrap(),
        amount: Credits::whole(1),
    };
    let err = credits
        .execute(id, op("refund-2", unknown), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, CreditError::UnknownSource(_)), "{err:?}");
    assert_invariants(&credits, id).await;
}

pub(super) async fn credits_history_pages_newest_first(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    credits
        .execute(
            id,
            op("w", grant(GrantKind::Welcome, 100, "signup", None)),
            NOW,
        )
        .await
        .unwrap();
    for i in 0..6 {
        credits
            .execute(id, op(&format!("r{i}"), consume(1)), NOW)
            .await
            .unwrap();
    }
    let first = credits.history(id, HistoryQuery::newest(3)).await.unwrap();
    assert_eq!(first.entries.len(), 3);
    assert_eq!(first.entries[0].balance_after, Credits::whole(94));
    let second = credits
        .history(
            id,
            HistoryQuery {
                before: first.next_before,
                limit: 3,
            },
        )
        .await
        .unwrap();
    let third = credits
        .history(
            id,
            HistoryQuery {
                before: second.next_before,
                limit: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!(third.entries.len(), 1);
    assert_eq!(third.next_before, None);
    assert_eq!(third.entries[0].kind, EntryKind::Grant);
}

/// The concurrency promise of docs/architecture.md: 50 consumers of 3 credits on 100 credits give
/// exactly 33 successes and leave 1.
pub(super) async fn credits_concurrent_consumers_never_overdraw(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    credits
        .execute(
            id,
            op("w", grant(GrantKind::Welcome, 100, "signup", None)),
            NOW,
        )
        .await
        .unwrap();
    let tasks = (0..50).map(|i| {
        let credits = Arc::clone(&credits);
        tokio::spawn(async move {
            credits
                .execute(id, op(&format!("c{i}"), consume(3)), NOW)
                .await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let successes = results.iter().filter(|r| r.is_ok()).count();
    let short = results
        .iter()
        .filter(|r| matches!(r, Err(CreditError::Insufficient(_))))
        .count();
    assert_eq!(
        successes,
        33,
        "errors: {:?}",
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .collect::<Vec<_>>()
    );
    assert_eq!(short, 17);
    assert_eq!(
        credits.balance(id, NOW).await.unwrap().total,
        Credits::whole(1)
    );
    let mut balances: Vec<Credits> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| r.balance_after)
        .collect();
    balances.sort();
    balances.dedup();
    assert_eq!(
        balances.len(),
        33,
        "every success reports its own exact balance"
    );
    assert_invariants(&credits, id).await;
}

pub(super) async fn credits_concurrent_replays_debit_once(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    credits
        .execute(
            id,
            op("w", grant(GrantKind::Welcome, 10, "signup", None)),
            NOW,
        )
        .await
        .unwrap();
    let tasks = (0..10).map(|_| {
        let credits = Arc::clone(&credits);
        tokio::spawn(async move { credits.execute(id, op("same", consume(2)), NOW).await })
    });
    let receipts: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(receipts.iter().filter(|r| !r.replayed).count(), 1);
    assert!(receipts.iter().all(|r| r.entry == receipts[0].entry));
    assert_eq!(
        credits.balance(id, NOW).await.unwrap().total,
        Credits::whole(8)
    );
    assert_invariants(&credits, id).await;
}

pub(super) async fn credits_accounts_are_independent(stores: Stores) {
    let credits = stores.credits;
    let a = account(&credits).await;
    let b = account(&credits).await;
    credits
        .execute(
            a,
            op("w", grant(GrantKind::Welcome, 10, "signup", None)),
            NOW,
        )
        .await
        .unwrap();
    credits
        .execute(
            b,
            op("w", grant(GrantKind::Welcome, 20, "signup", None)),
            NOW,
        )
        .await
        .unwrap();
    let spent = credits
        .execute(a, op("run", consume(1)), NOW)
        .await
        .unwrap();
    // B cannot reverse A's entry.
    let err = credits
        .execute(
            b,
            op("undo", CreditCommand::Reverse { entry: spent.entry }),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CreditError::EntryNotFound(_)), "{err:?}");
    assert_eq!(
        credits.balance(a, NOW).await.unwrap().total,
        Credits::whole(9)
    );
    assert_eq!(
        credits.balance(b, NOW).await.unwrap().total,
        Credits::whole(20)
    );
}

fn hold(credits: u32) -> CreditCommand {
    CreditCommand::Hold {
        amount: Credits::whole(credits),
    }
}

/// A hold takes from the grants the consumption order would use and is not spendable; settling
/// charges at most the hold and gives the rest back; releasing gives all of it back.
pub(super) async fn credits_holds_reserve_then_settle_or_release_once(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    // Nothing granted, nothing held: one statement still answers both.
    let (empty, held) = credits.balance_and_held(id, NOW).await.unwrap();
    assert_eq!(
        (empty.total, empty.by_kind.len(), held),
        (Credits::ZERO, 0, Credits::ZERO)
    );
    let expiry = NOW + Duration::days(30);
    credits
        .execute(
            id,
            op("w", grant(GrantKind::Purchase, 10, "pack", None)),
            NOW,
        )
        .await
        .unwrap();
    credits
        .execute(
            id,
            op("s", grant(GrantKind::Subscription, 5, "sub", Some(expiry))),
            NOW,
        )
        .await
        .unwrap();

    let held = credits.execute(id, op("h1", hold(8)), NOW).await.unwrap();
    assert_eq!(held.kind, EntryKind::Hold);
    assert_eq!(
        held.balance_after,
        Credits::whole(7),
        "held credits are not spendable"
    );
    let balance = credits.balance(id, NOW).await.unwrap();
    assert_eq!(balance.total, Credits::whole(7));
    assert_eq!(
        balance.of_kind(GrantKind::Subscription),
        Credits::ZERO,
        "the hold took the expiring credits first"
    );
    let holds = credits.open_holds(id).await.unwrap();
    assert_eq!(holds.len(), 1);
    let (both, held_now) = credits.balance_and_held(id, NOW).await.unwrap();
    assert_eq!((both, held_now), (balance.clone(), Credits::whole(8)));
    assert_eq!(
        (holds[0].entry, holds[0].amount),
        (held.entry, Credits::whole(8))
    );
    let short = credits
        .execute(id, op("c", consume(8)), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(short, CreditError::Insufficient(s) if s.available == Credits::whole(7)),
        "{short:?}"
    );

    // Settle 3 of 8: the charge keeps the subscription credits, 5 purchase credits come back.
    let above = credits
        .execute(
            id,
            op(
                "too-much",
                CreditCommand::Settle {
                    hold: held.entry,
                    charge: Credits::whole(9),
                },
            ),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(above, CreditError::ChargeAboveHold { .. }),
        "{above:?}"
    );
    let settled = credits
        .execute(
            id,
            op(
                "settle-1",
                CreditCommand::Settle {
                    hold: held.entry,
                    charge: Credits::whole(3),
                },
            ),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(settled.kind, EntryKind::Settle);
    assert_eq!(settled.amount, Credits::whole(5));
    assert_eq!(settled.balance_after, Credits::whole(12));
    let balance = credits.balance(id, NOW).await.unwrap();
    assert_eq!(balance.of_kind(GrantKind::Subscription), Credits::whole(2));
    assert_eq!(balance.of_kind(GrantKind::Purchase), Credits::whole(10));
    assert!(credits.open_holds(id).await.unwrap().is_empty());
    assert_eq!(
        credits.balance_and_held(id, NOW).await.unwrap(),
        (balance, Credits::ZERO)
    );

    // A second hold, released in full.
    let second = credits.execute(id, op("h2", hold(12)), NOW).await.unwrap();
    assert_eq!(second.balance_after, Credits::ZERO);
    let released = credits
        .execute(
            id,
            op("release-2", CreditCommand::Release { hold: second.entry }),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(
        (released.kind, released.amount, released.balance_after),
        (EntryKind::Release, Credits::whole(12), Credits::whole(12))
    );
    // Settling what is not a hold is refused.
    let spent = credits
        .execute(id, op("c2", consume(1)), NOW)
        .await
        .unwrap();
    let not_hold = credits
        .execute(
            id,
            op("r", CreditCommand::Release { hold: spent.entry }),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(not_hold, CreditError::NotAHold { .. }),
        "{not_hold:?}"
    );
    let history = credits.history(id, HistoryQuery::newest(20)).await.unwrap();
    let kinds: Vec<EntryKind> = history.entries.iter().rev().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::Grant,
            EntryKind::Grant,
            EntryKind::Hold,
            EntryKind::Settle,
            EntryKind::Hold,
            EntryKind::Release,
            EntryKind::Consume
        ]
    );
    assert_invariants(&credits, id).await;
}

/// A replayed hold holds once; a hold is ended once: a second settle or release (whatever its
/// key) changes nothing and answers with the first ending.
pub(super) async fn credits_hold_replays_and_second_endings_change_nothing(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    credits
        .execute(
            id,
            op("w", grant(GrantKind::Welcome, 10, "signup", None)),
            NOW,
        )
        .await
        .unwrap();
    let first = credits
        .execute(id, op("run-1", hold(4)), NOW)
        .await
        .unwrap();
    let again = credits
        .execute(id, op("run-1", hold(4)), NOW)
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.entry, first.entry);
    assert_eq!(
        credits.balance(id, NOW).await.unwrap().total,
        Credits::whole(6)
    );

    let settle = |key: &str, charge: u32| {
        op(
            key,
            CreditCommand::Settle {
                hold: first.entry,
                charge: Credits::whole(charge),
            },
        )
    };
    let settled = credits.execute(id, settle("end-1", 1), NOW).await.unwrap();
    assert!(!settled.replayed);
    let twice = credits.execute(id, settle("end-1", 1), NOW).await.unwrap();
    let other_key = credits.execute(id, settle("end-2", 2), NOW).await.unwrap();
    let release = credits
        .execute(
            id,
            op("end-3", CreditCommand::Release { hold: first.entry }),
            NOW,
        )
        .await
        .unwrap();
    for later in [twice, other_key, release] {
        assert!(later.replayed);
        assert_eq!(
            (later.entry, later.kind, later.amount, later.balance_after),
            (
                settled.entry,
                EntryKind::Settle,
                Credits::whole(3),
                Credits::whole(9)
            )
        );
    }
    assert_eq!(
        credits.balance(id, NOW).await.unwrap().total,
        Credits::whole(9)
    );
    assert_invariants(&credits, id).await;
}

/// 30 holds of 4 on 100 credits: 25 succeed, 5 are refused, and ending them all concurrently
/// (settle and release racing on each) ends each exactly once.
pub(super) async fn credits_concurrent_holds_never_overdraw(stores: Stores) {
    let credits = stores.credits;
    let id = account(&credits).await;
    credits
        .execute(
            id,
            op("w", grant(GrantKind::Welcome, 100, "signup", None)),
            NOW,
        )
        .await
        .unwrap();
    let tasks = (0..30).map(|i| {
        let credits = Arc::clone(&credits);
        tokio::spawn(async move {
            credits
                .execute(id, op(&format!("h{i}"), hold(4)), NOW)
                .await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let holds: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(holds.len(), 25, "{results:?}");
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, Err(CreditError::Insufficient(_))))
            .count(),
        5
    );
    assert_eq!(credits.balance(id, NOW).await.unwrap().total, Credits::ZERO);
    assert_eq!(credits.open_holds(id).await.unwrap().len(), 25);
    let (balance, held) = credits.balance_and_held(id, NOW).await.unwrap();
    assert_eq!((balance.total, held), (Credits::ZERO, Credits::whole(100)));

    let endings = holds.iter().flat_map(|h| {
        let entry = h.entry;
        [
            op(
                &format!("settle-{entry}"),
                CreditCommand::Settle {
                    hold: entry,
                    charge: Credits::whole(1),
                },
            ),
            op(
                &format!("release-{entry}"),
                CreditCommand::Release { hold: entry },
            ),
        ]
    });
    let tasks = endings.map(|ending| {
        let credits = Arc::clone(&credits);
        tokio::spawn(async move { credits.execute(id, ending, NOW).await })
    });
    let ended: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().expect("an ending never fails"))
        .collect();
    assert_eq!(ended.iter().filter(|r| !r.replayed).count(), 25);
    let charged: i64 = ended
        .iter()
        .filter(|r| !r.replayed)
        .map(|r| 400 - r.amount.cents())
        .sum();
    assert!(credits.open_holds(id).await.unwrap().is_empty());
    assert_eq!(
        credits.balance(id, NOW).await.unwrap().total.cents(),
        10_000 - charged
    );
    let (balance, held) = credits.balance_and_held(id, NOW).await.unwrap();
    assert_eq!(
        (balance.total.cents(), held),
        (10_000 - charged, Credits::ZERO)
    );
    assert_invariants(&credits, id).await;
}
