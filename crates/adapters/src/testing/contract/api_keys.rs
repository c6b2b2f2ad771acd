//! The API key store contract.

use std::sync::Arc;

use futures_util::future::join_all;
use quickscale_domain_credits::Credits;
use quickscale_domain_identity::{
    API_KEY_SHOWN, ApiKey, ApiKeyError, ApiKeyId, KeyLimits, Role, UserId, api_key_hash,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::users::user;
use crate::Stores;

const NOW: OffsetDateTime = datetime!(2026-04-01 12:00:00 UTC);

/// A stored user (keys belong to users that exist).
async fn stored_user(stores: &Stores, email: &str) -> UserId {
    let user = user(email, "Key holder", Role::User, 0);
    stores.users.insert(&user).await.unwrap();
    user.id
}

/// A new key of `user` made `minutes` after `NOW`, and the hash it is stored under.
fn new_key(user: UserId, name: &str, minutes: i64) -> (ApiKey, String) {
    let secret = format!("qs_{}", Uuid::new_v4().simple());
    let key = ApiKey {
        id: ApiKeyId(Uuid::now_v7()),
        user,
        name: name.into(),
        shown: secret[..API_KEY_SHOWN].into(),
        created_at: NOW + Duration::minutes(minutes),
        last_used_at: None,
        revoked_at: None,
        limits: KeyLimits::default(),
    };
    (key, api_key_hash(&secret))
}

/// Stores a new key of `user` under a limit it does not reach.
async fn created(stores: &Stores, user: UserId, name: &str, minutes: i64) -> (ApiKey, String) {
    let (key, hash) = new_key(user, name, minutes);
    stores.api_keys.create(&key, &hash, 100).await.unwrap();
    (key, hash)
}

pub(super) async fn api_keys_authenticate_finds_active_keys_and_records_their_use(stores: Stores) {
    let ada = stored_user(&stores, "ada@example.com").await;
    let (key, hash) = created(&stores, ada, "CI deploys", 0).await;
    let used_at = NOW + Duration::hours(1);
    let found = stores.api_keys.authenticate(&hash, used_at).await.unwrap();
    let used = ApiKey {
        last_used_at: Some(used_at),
        ..key.clone()
    };
    assert_eq!(found.as_ref(), Some(&used), "the same fields, used now");
    assert_eq!(
        stores.api_keys.list(ada).await.unwrap(),
        vec![used],
        "the use is stored"
    );
    assert_eq!(
        stores
            .api_keys
            .authenticate(&api_key_hash("qs_unknown0000000"), used_at)
            .await
            .unwrap(),
        None,
        "an unknown key"
    );
    assert!(stores.api_keys.revoke(ada, key.id, used_at).await.unwrap());
    assert_eq!(
        stores
            .api_keys
            .authenticate(&hash, used_at + Duration::hours(1))
            .await
            .unwrap(),
        None,
        "a revoked key"
    );
}

pub(super) async fn api_keys_last_use_is_written_at_most_once_a_minute(stores: Stores) {
    let ada = stored_user(&stores, "ada@example.com").await;
    let (_, hash) = created(&stores, ada, "busy", 0).await;
    let keys = &stores.api_keys;
    let last_use = |key: Option<ApiKey>| key.expect("an active key").last_used_at;
    assert_eq!(
        last_use(keys.authenticate(&hash, NOW).await.unwrap()),
        Some(NOW)
    );
    let soon = NOW + Duration::seconds(30);
    assert_eq!(
        last_use(keys.authenticate(&hash, soon).await.unwrap()),
        Some(NOW),
        "not written again within a minute"
    );
    assert_eq!(keys.list(ada).await.unwrap()[0].last_used_at, Some(NOW));
    let later = NOW + Duration::seconds(61);
    assert_eq!(
        last_use(keys.authenticate(&hash, later).await.unwrap()),
        Some(later)
    );
    assert_eq!(keys.list(ada).await.unwrap()[0].last_used_at, Some(later));
}

pub(super) async fn api_keys_active_keys_are_capped_per_user(stores: Stores) {
    let ada = stored_user(&stores, "ada@example.com").await;
    let bob = stored_user(&stores, "bob@example.com").await;
    let keys = &stores.api_keys;
    let mut made = Vec::new();
    for i in 0..3 {
        let (key, hash) = new_key(ada, &format!("key {i}"), i);
        keys.create(&key, &hash, 3).await.unwrap();
        made.push(key);
    }
    let (fourth, fourth_hash) = new_key(ada, "one too many", 3);
    let refused = keys.create(&fourth, &fourth_hash, 3).await;
    assert!(matches!(refused, Err(ApiKeyError::TooMany)), "{refused:?}");
    assert_eq!(keys.list(ada).await.unwrap().len(), 3, "nothing stored");

    let (bobs, bobs_hash) = new_key(bob, "bob's", 0);
    keys.create(&bobs, &bobs_hash, 3)
        .await
        .expect("another user's keys do not count");

    assert!(keys.revoke(ada, made[0].id, NOW).await.unwrap());
    keys.create(&fourth, &fourth_hash, 3)
        .await
        .expect("revoked keys do not count");
    assert_eq!(keys.list(ada).await.unwrap().len(), 4);
}

pub(super) async fn api_keys_concurrent_creates_never_pass_the_cap(stores: Stores) {
    let ada = stored_user(&stores, "ada@example.com").await;
    let racing = (0..8).map(|i| {
        let keys = Arc::clone(&stores.api_keys);
        tokio::spawn(async move {
            let (key, hash) = new_key(ada, &format!("racer {i}"), i);
            keys.create(&key, &hash, 3).await
        })
    });
    let results: Vec<_> = join_all(racing)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| matches!(r, Err(ApiKeyError::TooMany))),
        "{results:?}"
    );
    assert_eq!(stores.api_keys.list(ada).await.unwrap().len(), 3);
}

pub(super) async fn api_keys_duplicate_hash_is_refused_and_stored_once(stores: Stores) {
    let ada = stored_user(&stores, "ada@example.com").await;
    let bob = stored_user(&stores, "bob@example.com").await;
    let (first, hash) = created(&stores, ada, "first", 0).await;
    let (again, _) = new_key(bob, "same secret", 1);
    let refused = stores.api_keys.create(&again, &hash, 100).await;
    assert!(
        matches!(refused, Err(ApiKeyError::Storage(_))),
        "{refused:?}"
    );
    assert!(stores.api_keys.list(bob).await.unwrap().is_empty());
    assert_eq!(
        stores.api_keys.list(ada).await.unwrap(),
        vec![first.clone()]
    );
    let found = stores.api_keys.authenticate(&hash, NOW).await.unwrap();
    assert_eq!(found.map(|k| k.id), Some(first.id), "still the first key");
}

pub(super) async fn api_keys_list_shows_a_users_keys_newest_first(stores: Stores) {
    let ada = stored_user(&stores, "ada@example.com").await;
    let bob = stored_user(&stores, "bob@example.com").await;
    let (old, _) = created(&stores, ada, "old", 0).await;
    let (bobs, _) = created(&stores, bob, "bob's", 1).await;
    let (new, _) = created(&stores, ada, "new", 2).await;
    let (middle, _) = created(&stores, ada, "middle", 1).await;
    assert!(stores.api_keys.revoke(ada, middle.id, NOW).await.unwrap());
    let revoked = ApiKey {
        revoked_at: Some(NOW),
        ..middle
    };
    assert_eq!(
        stores.api_keys.list(ada).await.unwrap(),
        vec![new, revoked, old],
        "active and revoked, newest first"
    );
    assert_eq!(stores.api_keys.list(bob).await.unwrap(), vec![bobs]);
    assert!(
        stores
            .api_keys
            .list(UserId::generate())
            .await
            .unwrap()
            .is_empty()
    );
}

pub(super) async fn api_keys_revoke_is_once_and_only_by_the_owner(stores: Stores) {
    let ada = stored_user(&stores, "ada@example.com").await;
    let bob = stored_user(&stores, "bob@example.com").await;
    let (key, hash) = created(&stores, ada, "ada's", 0).await;
    let keys = &stores.api_keys;
    assert!(
        !keys.revoke(bob, key.id, NOW).await.unwrap(),
        "not bob's key"
    );
    assert!(
        keys.authenticate(&hash, NOW).await.unwrap().is_some(),
        "still active"
    );
    assert!(
        !keys
            .revoke(ada, ApiKeyId(Uuid::now_v7()), NOW)
            .await
            .unwrap(),
        "no such key"
    );
    let at = NOW + Duration::minutes(5);
    assert!(keys.revoke(ada, key.id, at).await.unwrap());
    assert!(
        !keys
            .revoke(ada, key.id, at + Duration::minutes(1))
            .await
            .unwrap(),
        "already revoked"
    );
    assert_eq!(
        keys.list(ada).await.unwrap()[0].revoked_at,
        Some(at),
        "revoked when first revoked"
    );
}

pub(super) async fn api_keys_revoke_all_ends_one_users_active_keys(stores: Stores) {
    let ada = stored_user(&stores, "ada@example.com").await;
    let bob = stored_user(&stores, "bob@example.com").await;
    let (earlier, _) = created(&stores, ada, "revoked earlier", 0).await;
    let earlier_at = NOW + Duration::minutes(1);
    assert!(
        stores
            .api_keys
            .revoke(ada, earlier.id, earlier_at)
            .await
            .unwrap()
    );
    for i in 1..3 {
        created(&stores, ada, &format!("active {i}"), i).await;
    }
    let (bobs, bobs_hash) = created(&stores, bob, "bob's", 0).await;
    let at = NOW + Duration::hours(1);
    assert_eq!(stores.api_keys.revoke_all(ada, at).await.unwrap(), 2);
    let adas = stores.api_keys.list(ada).await.unwrap();
    assert_eq!(
        adas.iter().map(|k| k.revoked_at).collect::<Vec<_>>(),
        vec![Some(at), Some(at), Some(earlier_at)],
        "a key revoked before keeps its time"
    );
    assert_eq!(stores.api_keys.revoke_all(ada, at).await.unwrap(), 0);
    assert_eq!(stores.api_keys.list(bob).await.unwrap(), vec![bobs]);
    assert!(
        stores
            .api_keys
            .authenticate(&bobs_hash, at)
            .await
            .unwrap()
            .is_some(),
        "other users' keys stay active"
    );
}

pub(super) async fn api_keys_limits_are_stored_and_changed_only_by_the_owner(stores: Stores) {
    let ada = stored_user(&stores, "ada@example.com").await;
    let bob = stored_user(&stores, "bob@example.com").await;
    let (fresh, hash) = new_key(ada, "capped", 0);
    let limits = KeyLimits {
        per_minute: Some(30),
        monthly_credits: Some(Credits::from_cents(1_050).unwrap()),
    };
    let key = ApiKey { limits, ..fresh };
    stores.api_keys.create(&key, &hash, 10).await.unwrap();
    let found = stores
        .api_keys
        .authenticate(&hash, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.limits, limits, "made with its limits");
    let changed = KeyLimits {
        per_minute: None,
        monthly_credits: Some(Credits::ZERO),
    };
    assert!(
        !stores
            .api_keys
            .set_limits(bob, key.id, changed)
            .await
            .unwrap(),
        "not bob's"
    );
    assert!(
        !stores
            .api_keys
            .set_limits(ada, ApiKeyId(Uuid::now_v7()), changed)
            .await
            .unwrap()
    );
    assert_eq!(stores.api_keys.list(ada).await.unwrap()[0].limits, limits);
    assert!(
        stores
            .api_keys
            .set_limits(ada, key.id, changed)
            .await
            .unwrap()
    );
    assert_eq!(stores.api_keys.list(ada).await.unwrap()[0].limits, changed);
    assert!(stores.api_keys.revoke(ada, key.id, NOW).await.unwrap());
    assert!(
        !stores
            .api_keys
            .set_limits(ada, key.id, limits)
            .await
            .unwrap(),
        "a revoked key keeps its last limits"
    );
    assert_eq!(stores.api_keys.list(ada).await.unwrap()[0].limits, changed);
}
