//! The contract of the session and contact stores.

use quickscale_domain_identity::UserId;
use quickscale_domain_kernel::ContactMessage;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use tower_sessions_core::SessionStore;
use tower_sessions_core::session::{Id, Record};

use crate::Stores;
use crate::sessions::USER_ID_KEY;

fn record(user: Option<UserId>, expires_in: Duration) -> Record {
    let mut data = std::collections::HashMap::new();
    data.insert("csrf".to_owned(), json!("token"));
    if let Some(user) = user {
        data.insert(USER_ID_KEY.to_owned(), json!(user.to_string()));
    }
    Record {
        id: Id::default(),
        data,
        expiry_date: OffsetDateTime::now_utc() + expires_in,
    }
}

pub(super) async fn sessions_round_trip_and_expire(stores: Stores) {
    let store = stores.sessions;
    let mut live = record(None, Duration::hours(1));
    store.create(&mut live).await.unwrap();
    let loaded = store
        .load(&live.id)
        .await
        .unwrap()
        .expect("a live session loads");
    assert_eq!(loaded.data, live.data);
    live.data.insert("flash".into(), json!(["saved"]));
    store.save(&live).await.unwrap();
    assert_eq!(
        store.load(&live.id).await.unwrap().unwrap().data["flash"],
        json!(["saved"])
    );

    let mut old = record(None, Duration::seconds(-5));
    store.create(&mut old).await.unwrap();
    assert!(
        store.load(&old.id).await.unwrap().is_none(),
        "an expired session does not load"
    );
    assert_eq!(
        store
            .admin()
            .delete_expired(OffsetDateTime::now_utc())
            .await
            .unwrap(),
        1
    );

    store.delete(&live.id).await.unwrap();
    assert!(store.load(&live.id).await.unwrap().is_none());
}

pub(super) async fn sessions_of_a_user_can_be_ended_except_the_current_one(stores: Stores) {
    let store = stores.sessions;
    let ada = UserId::generate();
    let bob = UserId::generate();
    let mut current = record(Some(ada), Duration::hours(1));
    let mut other = record(Some(ada), Duration::hours(1));
    let mut bobs = record(Some(bob), Duration::hours(1));
    for r in [&mut current, &mut other, &mut bobs] {
        store.create(r).await.unwrap();
    }
    let now = OffsetDateTime::now_utc();
    assert_eq!(store.admin().count_for_user(ada, now).await.unwrap(), 2);
    let listed = store.admin().list_for_user(ada, now).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|(id, _)| *id == current.id.to_string()));
    let ended = store
        .admin()
        .delete_for_user(ada, Some(&current.id.to_string()))
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert!(store.load(&current.id).await.unwrap().is_some());
    assert!(store.load(&other.id).await.unwrap().is_none());
    assert!(store.load(&bobs.id).await.unwrap().is_some());
    store.admin().delete_for_user(ada, None).await.unwrap();
    assert!(store.load(&current.id).await.unwrap().is_none());
}

pub(super) async fn contact_messages_are_kept_newest_first(stores: Stores) {
    let contact = stores.contact;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let first = ContactMessage::parse(
        "Ada",
        "ada@example.com",
        "",
        "Hello there, a question.",
        now,
    )
    .unwrap();
    let second = ContactMessage::parse(
        "Bob",
        "bob@example.com",
        "Billing",
        "Another question here.",
        now + Duration::minutes(1),
    )
    .unwrap();
    contact.save(&first).await.unwrap();
    contact.save(&second).await.unwrap();
    let recent = contact.recent(10).await.unwrap();
    assert_eq!(recent, vec![second, first]);
    assert_eq!(recent[1].subject, "Contact form");
}
