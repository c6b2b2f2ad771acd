//! The token, audit and outbox contract.

use quickscale_domain_identity::{TokenPurpose, TokenRecord, UserId, token_hash};
use quickscale_domain_kernel::{AuditEntry, AuditQuery, EmailMessage, OutboxQuery, OutboxStatus};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Stores;

const NOW: OffsetDateTime = datetime!(2026-04-01 12:00:00 UTC);

fn record(user: UserId, purpose: TokenPurpose) -> TokenRecord {
    TokenRecord {
        user,
        purpose,
        payload: Some("new@example.com".into()),
        created_at: NOW,
        expires_at: NOW + Duration::hours(1),
    }
}

pub(super) async fn tokens_are_single_use_expiring_and_purpose_bound(stores: Stores) {
    let tokens = stores.tokens;
    let ada = UserId::generate();
    let hash = token_hash("raw-token-1");
    tokens
        .issue(&hash, &record(ada, TokenPurpose::ChangeEmail))
        .await
        .unwrap();
    assert!(
        tokens
            .consume(TokenPurpose::ResetPassword, &hash, NOW)
            .await
            .unwrap()
            .is_none(),
        "wrong purpose"
    );
    assert!(
        tokens
            .find(TokenPurpose::ResetPassword, &hash, NOW)
            .await
            .unwrap()
            .is_none(),
        "found with the wrong purpose"
    );
    for _ in 0..2 {
        let found = tokens
            .find(TokenPurpose::ChangeEmail, &hash, NOW)
            .await
            .unwrap()
            .expect("found, and finding does not use it up");
        assert_eq!(found, record(ada, TokenPurpose::ChangeEmail));
    }
    let used = tokens
        .consume(TokenPurpose::ChangeEmail, &hash, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (used.user, used.payload.as_deref()),
        (ada, Some("new@example.com"))
    );
    assert!(
        tokens
            .consume(TokenPurpose::ChangeEmail, &hash, NOW)
            .await
            .unwrap()
            .is_none(),
        "single use"
    );
    assert!(
        tokens
            .find(TokenPurpose::ChangeEmail, &hash, NOW)
            .await
            .unwrap()
            .is_none(),
        "a used token is not found"
    );

    let late = token_hash("raw-token-2");
    tokens
        .issue(&late, &record(ada, TokenPurpose::ResetPassword))
        .await
        .unwrap();
    assert!(
        tokens
            .find(TokenPurpose::ResetPassword, &late, NOW + Duration::hours(2))
            .await
            .unwrap()
            .is_none(),
        "an expired token is not found"
    );
    assert!(
        tokens
            .consume(TokenPurpose::ResetPassword, &late, NOW + Duration::hours(2))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );

    let revoked = token_hash("raw-token-3");
    tokens
        .issue(&revoked, &record(ada, TokenPurpose::VerifyEmail))
        .await
        .unwrap();
    assert_eq!(
        tokens
            .revoke_all(ada, TokenPurpose::VerifyEmail)
            .await
            .unwrap(),
        1
    );
    assert!(
        tokens
            .consume(TokenPurpose::VerifyEmail, &revoked, NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        tokens
            .issued_since(ada, TokenPurpose::VerifyEmail, NOW - Duration::minutes(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        tokens
            .issued_since(ada, TokenPurpose::VerifyEmail, NOW + Duration::minutes(1))
            .await
            .unwrap(),
        0
    );
}

pub(super) async fn audit_entries_are_kept_and_filtered(stores: Stores) {
    let audit = stores.audit;
    let admin = Uuid::now_v7();
    let subject = Uuid::now_v7();
    for (i, action) in ["user.role_changed", "user.deactivated", "credits.added"]
        .iter()
        .enumerate()
    {
        audit
            .record(&AuditEntry {
                id: Uuid::now_v7(),
                at: NOW + Duration::minutes(i as i64),
                actor: admin,
                actor_label: "admin@example.com".into(),
                action: (*action).into(),
                subject: Some(subject),
                subject_label: "ada@example.com".into(),
                before: json!({"role": "user"}),
                after: json!({"role": "admin"}),
            })
            .await
            .unwrap();
    }
    let all = audit
        .list(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["credits.added", "user.deactivated", "user.role_changed"]
    );
    assert_eq!(all[2].after, json!({"role": "admin"}));
    let users = audit
        .list(&AuditQuery {
            action_prefix: Some("user.".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    let none = audit
        .list(&AuditQuery {
            subject: Some(Uuid::now_v7()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

pub(super) async fn the_outbox_keeps_messages_until_sent_and_schedules_retries(stores: Stores) {
    let outbox = stores.outbox;
    let message = EmailMessage {
        to: "ada@example.com".into(),
        reply_to: None,
        subject: "Hi".into(),
        text: "Hello".into(),
        html: Some("<p>Hello</p>".into()),
    };
    let counts = |pending, failed| quickscale_domain_kernel::OutboxCounts { pending, failed };
    assert_eq!(outbox.counts().await.unwrap(), counts(0, 0));
    let id = outbox.enqueue(&message, NOW).await.unwrap();
    assert_eq!(outbox.due(NOW, 10).await.unwrap().len(), 1);
    assert_eq!(outbox.counts().await.unwrap(), counts(1, 0));
    outbox
        .mark_failed(id, "connection refused", Some(NOW + Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!(
        outbox.counts().await.unwrap(),
        counts(1, 0),
        "a retry is pending"
    );
    assert!(outbox.due(NOW, 10).await.unwrap().is_empty());
    let retry = outbox.due(NOW + Duration::minutes(2), 10).await.unwrap();
    assert_eq!(
        (retry[0].attempts, retry[0].last_error.as_deref()),
        (1, Some("connection refused"))
    );
    assert_eq!(retry[0].message, message);
    outbox
        .mark_sent(id, NOW + Duration::minutes(2))
        .await
        .unwrap();
    assert!(
        outbox
            .due(NOW + Duration::hours(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let stored = outbox.get(id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.attempts), (OutboxStatus::Sent, 2));
    assert_eq!(outbox.counts().await.unwrap(), counts(0, 0), "sent");
    let gave_up = outbox.enqueue(&message, NOW).await.unwrap();
    outbox
        .mark_failed(gave_up, "bad address", None)
        .await
        .unwrap();
    assert_eq!(outbox.counts().await.unwrap(), counts(0, 1), "given up");
    assert!(
        outbox
            .due(NOW + Duration::days(9), 10)
            .await
            .unwrap()
            .is_empty(),
        "given up"
    );
    let failed = outbox
        .list(&OutboxQuery {
            status: Some(OutboxStatus::Failed),
            limit: 10,
            ..OutboxQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        outbox
            .list(&OutboxQuery {
                to: Some("ada@example.com".into()),
                limit: 10,
                ..OutboxQuery::default()
            })
            .await
            .unwrap()
            .len(),
        2
    );
    for (offset, expected) in [(1, 1), (2, 0), (u64::MAX, 0)] {
        let page = outbox
            .list(&OutboxQuery {
                to: Some("ada@example.com".into()),
                offset,
                limit: 10,
                ..OutboxQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(page.len(), expected, "offset {offset}");
    }
}
