//! The user store contract, including the account use cases over it.

use std::sync::Arc;

use futures_util::future::join_all;
use quickscale_domain_identity::Clock as _;
use quickscale_domain_identity::{
    AccountLoginState, Accounts, AuthError, ClientKey, DisplayName, Email, FixedClock,
    LockoutPolicy, LoginState, Password, PasswordHash, PasswordPolicy, Registration, Rejection,
    Role, User, UserId, UserQuery, UserStoreError,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::Stores;
use crate::memory::PlainTextHasher;

const NOW: OffsetDateTime = datetime!(2026-04-01 12:00:00 UTC);

pub(super) fn user(email: &str, name: &str, role: Role, created_minutes: i64) -> User {
    User {
        id: UserId::generate(),
        email: Email::parse(email).unwrap(),
        password_hash: PasswordHash::from_phc("$plain$secret-password"),
        role,
        display_name: DisplayName::parse(name).unwrap(),
        is_active: true,
        email_verified_at: None,
        created_at: NOW + Duration::minutes(created_minutes),
        login: AccountLoginState::default(),
        profile: quickscale_domain_identity::Profile::default(),
        onboarded_at: None,
        deleted_at: None,
    }
}

pub(super) async fn users_insert_and_find_by_id_and_email(stores: Stores) {
    let users = stores.users;
    let ada = user("ada@example.com", "Ada", Role::User, 0);
    users.insert(&ada).await.unwrap();
    assert_eq!(users.by_id(ada.id).await.unwrap().as_ref(), Some(&ada));
    assert_eq!(
        users
            .by_email(&Email::parse("ADA@example.com").unwrap())
            .await
            .unwrap(),
        Some(ada)
    );
    assert_eq!(
        users
            .by_email(&Email::parse("bob@example.com").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(users.by_id(UserId::generate()).await.unwrap(), None);
}

pub(super) async fn users_duplicate_email_is_a_domain_error(stores: Stores) {
    let users = stores.users;
    users
        .insert(&user("ada@example.com", "Ada", Role::User, 0))
        .await
        .unwrap();
    let again = users
        .insert(&user("Ada@Example.com", "Other", Role::User, 1))
        .await;
    assert!(
        matches!(again, Err(UserStoreError::DuplicateEmail)),
        "{again:?}"
    );
    assert_eq!(users.counts().await.unwrap().total, 1);
}

pub(super) async fn users_concurrent_duplicate_registrations_create_one_account(stores: Stores) {
    let users = stores.users;
    let tasks = (0..10).map(|i| {
        let users = Arc::clone(&users);
        tokio::spawn(async move {
            users
                .insert(&user("race@example.com", &format!("n{i}"), Role::User, i))
                .await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| matches!(r, Err(UserStoreError::DuplicateEmail)))
    );
}

pub(super) async fn users_login_state_is_compare_and_swap(stores: Stores) {
    let users = stores.users;
    let ada = user("ada@example.com", "Ada", Role::User, 0);
    users.insert(&ada).await.unwrap();
    let failed = AccountLoginState {
        failed_attempts: 1,
        last_failed_at: Some(NOW),
        ..AccountLoginState::default()
    };
    assert!(
        users
            .swap_login_state(ada.id, AccountLoginState::default(), failed)
            .await
            .unwrap()
    );
    assert!(
        !users
            .swap_login_state(ada.id, AccountLoginState::default(), failed)
            .await
            .unwrap()
    );
    let told = AccountLoginState {
        failed_attempts: 2,
        last_failed_at: Some(NOW + Duration::seconds(1)),
        locked_until: Some(NOW + Duration::minutes(15)),
        notice_sent_at: Some(NOW + Duration::seconds(1)),
    };
    assert!(users.swap_login_state(ada.id, failed, told).await.unwrap());
    assert_eq!(users.by_id(ada.id).await.unwrap().unwrap().login, told);
    let stale = AccountLoginState {
        notice_sent_at: None,
        ..told
    };
    assert!(
        !users
            .swap_login_state(ada.id, stale, AccountLoginState::default())
            .await
            .unwrap(),
        "every field is compared"
    );
}

fn client(address: &str) -> ClientKey {
    address.parse().unwrap()
}

pub(super) async fn users_client_login_states_are_kept_per_account_and_client(stores: Stores) {
    let users = stores.users;
    let ada = user("ada@example.com", "Ada", Role::User, 0);
    let bob = user("bob@example.com", "Bob", Role::User, 1);
    users.insert(&ada).await.unwrap();
    users.insert(&bob).await.unwrap();
    let (home, away, v6) = (
        client("203.0.113.7"),
        client("198.51.100.1"),
        client("2001:db8:1:2::/64"),
    );
    let none = LoginState::default();
    assert_eq!(users.client_login_state(ada.id, &home).await.unwrap(), none);
    let one = LoginState {
        failed_attempts: 1,
        window_started_at: Some(NOW),
        locked_until: None,
    };
    let locked = LoginState {
        failed_attempts: 0,
        window_started_at: None,
        locked_until: Some(NOW + Duration::minutes(15)),
    };
    // A missing record is the default; the first insert wins, a second sees it taken.
    assert!(
        users
            .swap_client_login_state(ada.id, &home, none, one)
            .await
            .unwrap()
    );
    assert!(
        !users
            .swap_client_login_state(ada.id, &home, none, one)
            .await
            .unwrap()
    );
    assert!(
        users
            .swap_client_login_state(ada.id, &v6, none, locked)
            .await
            .unwrap()
    );
    assert!(
        users
            .swap_client_login_state(ada.id, &home, one, locked)
            .await
            .unwrap()
    );
    assert!(
        !users
            .swap_client_login_state(ada.id, &home, one, none)
            .await
            .unwrap()
    );
    assert_eq!(
        users.client_login_state(ada.id, &home).await.unwrap(),
        locked
    );
    assert_eq!(users.client_login_state(ada.id, &v6).await.unwrap(), locked);
    assert_eq!(users.client_login_state(ada.id, &away).await.unwrap(), none);
    assert_eq!(users.client_login_state(bob.id, &home).await.unwrap(), none);
    // Storing the default removes the record; it can start again.
    assert!(
        users
            .swap_client_login_state(ada.id, &home, locked, none)
            .await
            .unwrap()
    );
    assert_eq!(users.client_login_state(ada.id, &home).await.unwrap(), none);
    assert!(
        users
            .swap_client_login_state(ada.id, &home, none, one)
            .await
            .unwrap()
    );

    // Spent records (window over, not locked) are forgotten, the others kept.
    assert!(
        users
            .swap_client_login_state(bob.id, &away, none, one)
            .await
            .unwrap()
    );
    let spent_lock = LoginState {
        locked_until: Some(NOW),
        ..locked
    };
    assert!(
        users
            .swap_client_login_state(bob.id, &home, none, spent_lock)
            .await
            .unwrap()
    );
    let forgotten = users
        .forget_spent_client_login_states(NOW + Duration::seconds(1), NOW)
        .await
        .unwrap();
    assert_eq!(
        forgotten, 3,
        "the two windows that started before, and the lock that ended"
    );
    assert_eq!(users.client_login_state(bob.id, &home).await.unwrap(), none);
    assert_eq!(users.client_login_state(ada.id, &v6).await.unwrap(), locked);
    assert!(
        users
            .swap_client_login_state(ada.id, &home, none, one)
            .await
            .unwrap()
    );
    assert!(
        users
            .swap_client_login_state(bob.id, &home, none, one)
            .await
            .unwrap()
    );

    // Clearing one account lifts everything on it, and nothing on the other.
    assert!(
        users
            .swap_login_state(
                ada.id,
                AccountLoginState::default(),
                AccountLoginState {
                    failed_attempts: 9,
                    last_failed_at: Some(NOW),
                    locked_until: Some(NOW + Duration::minutes(15)),
                    notice_sent_at: Some(NOW),
                }
            )
            .await
            .unwrap()
    );
    users.clear_login_failures(ada.id).await.unwrap();
    assert_eq!(
        users.by_id(ada.id).await.unwrap().unwrap().login,
        AccountLoginState::default()
    );
    assert_eq!(users.client_login_state(ada.id, &home).await.unwrap(), none);
    assert_eq!(users.client_login_state(ada.id, &v6).await.unwrap(), none);
    assert_eq!(users.client_login_state(bob.id, &home).await.unwrap(), one);
    // A deleted account keeps no client addresses.
    users.anonymize(bob.id, NOW).await.unwrap();
    assert_eq!(users.client_login_state(bob.id, &home).await.unwrap(), none);
}

pub(super) async fn users_updates_change_one_user(stores: Stores) {
    let users = stores.users;
    let ada = user("ada@example.com", "Ada", Role::User, 0);
    let bob = user("bob@example.com", "Bob", Role::User, 1);
    users.insert(&ada).await.unwrap();
    users.insert(&bob).await.unwrap();
    users
        .set_password(ada.id, &PasswordHash::from_phc("$plain$new"))
        .await
        .unwrap();
    users
        .set_display_name(ada.id, &DisplayName::parse("Ada L.").unwrap())
        .await
        .unwrap();
    users.set_role(ada.id, Role::Admin).await.unwrap();
    let stored = users.by_id(ada.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_phc(), "$plain$new");
    assert_eq!(stored.display_name.as_str(), "Ada L.");
    assert_eq!(stored.role, Role::Admin);
    assert_eq!(users.by_id(bob.id).await.unwrap().unwrap(), bob);
    let counts = users.counts().await.unwrap();
    assert_eq!((counts.total, counts.admins, counts.active), (2, 1, 2));
}

pub(super) async fn users_onboarding_is_recorded(stores: Stores) {
    let users = stores.users;
    let ada = user("ada@example.com", "Ada", Role::User, 0);
    let bob = User {
        onboarded_at: Some(NOW),
        ..user("bob@example.com", "Bob", Role::User, 1)
    };
    users.insert(&ada).await.unwrap();
    users.insert(&bob).await.unwrap();
    assert_eq!(
        users.by_id(ada.id).await.unwrap().unwrap().onboarded_at,
        None
    );
    assert_eq!(
        users.by_id(bob.id).await.unwrap().unwrap(),
        bob,
        "stored as given"
    );
    let later = NOW + Duration::minutes(5);
    users.set_onboarded(ada.id, later).await.unwrap();
    assert_eq!(
        users.by_id(ada.id).await.unwrap().unwrap().onboarded_at,
        Some(later)
    );
    assert_eq!(users.by_id(bob.id).await.unwrap().unwrap(), bob);
}

pub(super) async fn users_search_filters_pages_and_escapes_wildcards(stores: Stores) {
    let users = stores.users;
    for i in 0..7 {
        users
            .insert(&user(
                &format!("user{i}@example.com"),
                &format!("Person {i}"),
                Role::User,
                i,
            ))
            .await
            .unwrap();
    }
    users
        .insert(&user("boss@corp.example", "The Boss", Role::Admin, 10))
        .await
        .unwrap();
    users
        .insert(&user(
            "under_score@example.com",
            "100% real",
            Role::User,
            11,
        ))
        .await
        .unwrap();

    let all = users
        .search(&UserQuery {
            limit: 4,
            ..UserQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, 9);
    assert_eq!(all.users.len(), 4);
    assert_eq!(
        all.users[0].email.as_str(),
        "under_score@example.com",
        "newest first"
    );
    let page3 = users
        .search(&UserQuery {
            limit: 4,
            offset: 8,
            ..UserQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page3.users.len(), 1);

    let by_name = users
        .search(&UserQuery {
            text: Some("BOSS".into()),
            limit: 10,
            ..UserQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_name.total, 1);
    let admins = users
        .search(&UserQuery {
            role: Some(Role::Admin),
            limit: 10,
            ..UserQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        admins
            .users
            .iter()
            .map(|u| u.email.as_str())
            .collect::<Vec<_>>(),
        vec!["boss@corp.example"]
    );
    let percent = users
        .search(&UserQuery {
            text: Some("%".into()),
            limit: 10,
            ..UserQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(percent.total, 1, "a % is a literal, not a wildcard");
    let underscore = users
        .search(&UserQuery {
            text: Some("e_1".into()),
            limit: 10,
            ..UserQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(underscore.total, 0, "an _ is a literal, not a wildcard");
}

fn accounts(stores: &Stores, clock: Arc<FixedClock>) -> Accounts {
    Accounts::new(
        Arc::clone(&stores.users),
        Arc::new(PlainTextHasher),
        clock,
        LockoutPolicy::new(3, Duration::minutes(10), Duration::minutes(30))
            .unwrap()
            .with_throttle(6, Duration::minutes(5))
            .unwrap(),
        PasswordPolicy::default(),
    )
}

async fn register(accounts: &Accounts, email: &str) -> User {
    let registration = Registration::parse(
        email,
        "correct horse",
        "correct horse",
        "",
        accounts.password_policy(),
    )
    .unwrap();
    accounts.register(registration, Role::User).await.unwrap()
}

fn reason(error: &AuthError) -> Rejection {
    match error {
        AuthError::Rejected { reason, .. } => *reason,
        other => panic!("not a refusal: {other:?}"),
    }
}

pub(super) async fn users_sign_in_locks_a_client_after_failures_and_resets_on_success(
    stores: Stores,
) {
    let clock = Arc::new(FixedClock::at(NOW));
    let accounts = accounts(&stores, Arc::clone(&clock));
    register(&accounts, "ada@example.com").await;
    let wrong = Password::new("wrong password");
    let right = Password::new("correct horse");
    let home = client("203.0.113.7");
    for _ in 0..2 {
        let err = accounts
            .authenticate("ada@example.com", &wrong, home)
            .await
            .unwrap_err();
        assert_eq!(reason(&err), Rejection::WrongPassword);
    }
    // A success resets the client's count.
    accounts
        .authenticate("ada@example.com", &right, home)
        .await
        .unwrap();
    for _ in 0..2 {
        accounts
            .authenticate("ada@example.com", &wrong, home)
            .await
            .unwrap_err();
    }
    let third = accounts
        .authenticate("ada@example.com", &wrong, home)
        .await
        .unwrap_err();
    assert!(
        matches!(reason(&third), Rejection::Locked { .. }),
        "{third:?}"
    );
    // Locked: even the right password is refused from there, with the same message as a wrong
    // one or an unknown email.
    let locked = accounts
        .authenticate("ada@example.com", &right, home)
        .await
        .unwrap_err();
    let unknown = accounts
        .authenticate("nobody@example.com", &right, home)
        .await
        .unwrap_err();
    assert!(matches!(reason(&locked), Rejection::Locked { .. }));
    assert_eq!(reason(&unknown), Rejection::UnknownEmail);
    assert_eq!(locked.to_string(), unknown.to_string());
    clock.advance(Duration::minutes(31));
    accounts
        .authenticate("ada@example.com", &right, home)
        .await
        .unwrap();
}

/// The attack of the probe: wrong passwords from many addresses. None of them locks the owner
/// out; each address that passes the limit is locked; past the throttle's threshold every
/// attempt waits, growing; the owner is told once.
pub(super) async fn users_failures_from_many_clients_never_lock_the_owner_out(stores: Stores) {
    let clock = Arc::new(FixedClock::at(NOW));
    let accounts = accounts(&stores, Arc::clone(&clock));
    let ada = register(&accounts, "ada@example.com").await;
    let wrong = Password::new("wrong password");
    let right = Password::new("correct horse");
    let owner = client("203.0.113.7");
    let mut alerts = Vec::new();
    // Five attackers, two wrong passwords each (under the limit of three): no lock anywhere.
    for attacker in 0..5 {
        let from = client(&format!("198.51.100.{attacker}"));
        for _ in 0..2 {
            clock.advance(Duration::minutes(1));
            let err = accounts
                .authenticate("ada@example.com", &wrong, from)
                .await
                .unwrap_err();
            assert_eq!(reason(&err), Rejection::WrongPassword);
            if let AuthError::Rejected {
                alert: Some(alert), ..
            } = err
            {
                alerts.push(alert);
            }
        }
    }
    // Ten failures: the throttle started (after six) and the owner was told, once.
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].user.id, ada.id);
    assert_eq!(alerts[0].failures, 6);
    assert!(alerts[0].throttled_until.is_some());
    assert_eq!(alerts[0].client_locked_until, None);
    // While the last failure's delay runs, every attempt waits, the owner's too.
    let paused = accounts
        .authenticate("ada@example.com", &right, owner)
        .await
        .unwrap_err();
    let Rejection::Throttled { until } = reason(&paused) else {
        panic!("{paused:?}");
    };
    assert_eq!(
        until - clock.now(),
        Duration::seconds(16),
        "1, 2, 4, 8, then 16 s"
    );
    assert_eq!(
        paused.to_string(),
        "the email or password is incorrect, or sign-in is paused after too many attempts"
    );
    // Once it has run, the owner's address, which never failed, signs in.
    clock.advance(Duration::seconds(16));
    accounts
        .authenticate("ada@example.com", &right, owner)
        .await
        .unwrap();
    // The count stays (the guesses happened): the next failure waits twice as long.
    let next = client("192.0.2.1");
    accounts
        .authenticate("ada@example.com", &wrong, next)
        .await
        .unwrap_err();
    let waiting = accounts
        .authenticate("ada@example.com", &wrong, next)
        .await
        .unwrap_err();
    assert_eq!(
        reason(&waiting),
        Rejection::Throttled {
            until: clock.now() + Duration::seconds(32)
        }
    );
    // One address that keeps failing is locked out: three failures, then refusals.
    clock.advance(Duration::seconds(32));
    let stubborn = client("198.51.100.0");
    let third = accounts
        .authenticate("ada@example.com", &wrong, stubborn)
        .await
        .unwrap_err();
    let AuthError::Rejected {
        reason: Rejection::Locked { until },
        alert: None,
    } = third
    else {
        panic!("locked, without a second alert: {third:?}");
    };
    assert_eq!(until, clock.now() + Duration::minutes(30));
    clock.advance(Duration::minutes(6));
    assert!(matches!(
        reason(
            &accounts
                .authenticate("ada@example.com", &right, stubborn)
                .await
                .unwrap_err()
        ),
        Rejection::Locked { .. }
    ));
    accounts
        .authenticate("ada@example.com", &right, owner)
        .await
        .unwrap();
    let stored = stores.users.by_id(ada.id).await.unwrap().unwrap();
    assert!(
        stored.login.is_locked_at(clock.now()),
        "admins see a locked client"
    );
    assert_eq!(
        stored.login.failed_attempts, 12,
        "refusals while paused do not count"
    );
    // An admin's unlock lifts both.
    accounts.clear_sign_in_failures(ada.id).await.unwrap();
    accounts
        .authenticate("ada@example.com", &right, stubborn)
        .await
        .unwrap();
}

pub(super) async fn users_concurrent_failures_are_all_counted(stores: Stores) {
    let clock = Arc::new(FixedClock::at(NOW));
    let accounts = accounts(&stores, clock);
    let bob = register(&accounts, "bob@example.com").await;
    let from = client("203.0.113.9");
    let tasks = (0..2).map(|i| {
        let accounts = accounts.clone();
        let other = client(&format!("198.51.100.{i}"));
        tokio::spawn(async move {
            let wrong = Password::new("nope nope");
            let _ = accounts.authenticate("bob@example.com", &wrong, from).await;
            let _ = accounts
                .authenticate("bob@example.com", &wrong, other)
                .await;
        })
    });
    join_all(tasks).await;
    let stored = stores.users.by_id(bob.id).await.unwrap().unwrap();
    assert_eq!(
        stored.login.failed_attempts, 4,
        "every failure on the account"
    );
    assert_eq!(
        stores
            .users
            .client_login_state(bob.id, &from)
            .await
            .unwrap()
            .failed_attempts,
        2,
        "every failure from the shared client"
    );
}

pub(super) async fn users_change_password_needs_the_current_one(stores: Stores) {
    let accounts = accounts(&stores, Arc::new(FixedClock::at(NOW)));
    let registration = Registration::parse(
        "cy@example.com",
        "first password",
        "first password",
        "",
        accounts.password_policy(),
    )
    .unwrap();
    let cy = accounts.register(registration, Role::User).await.unwrap();
    let wrong = accounts
        .change_password(
            cy.id,
            &Password::new("not it"),
            &Password::new("second password"),
        )
        .await;
    assert!(wrong.is_err());
    accounts
        .change_password(
            cy.id,
            &Password::new("first password"),
            &Password::new("second password"),
        )
        .await
        .unwrap();
    let here = client("203.0.113.7");
    accounts
        .authenticate("cy@example.com", &Password::new("second password"), here)
        .await
        .unwrap();
    assert!(
        accounts
            .authenticate("cy@example.com", &Password::new("first password"), here)
            .await
            .is_err()
    );
}

pub(super) async fn users_profiles_emails_activity_and_deletion(stores: Stores) {
    use quickscale_domain_identity::Profile;
    let users = stores.users;
    let ada = user("ada@example.com", "Ada", Role::User, 0);
    let bob = user("bob@example.com", "Bob", Role::User, 1);
    users.insert(&ada).await.unwrap();
    users.insert(&bob).await.unwrap();
    let profile =
        Profile::parse("Acme", "CTO", "https://acme.example", "Builds things", true).unwrap();
    users
        .set_profile(ada.id, &DisplayName::parse("Ada L.").unwrap(), &profile)
        .await
        .unwrap();
    let stored = users.by_id(ada.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.display_name.as_str(), &stored.profile),
        ("Ada L.", &profile)
    );

    let taken = users
        .set_email(ada.id, &Email::parse("bob@example.com").unwrap())
        .await;
    assert!(matches!(taken, Err(UserStoreError::DuplicateEmail)));
    users
        .set_email(ada.id, &Email::parse("ada.l@example.com").unwrap())
        .await
        .unwrap();
    assert!(
        users
            .by_email(&Email::parse("ada.l@example.com").unwrap())
            .await
            .unwrap()
            .is_some()
    );

    users.set_email_verified(ada.id, Some(NOW)).await.unwrap();
    users.set_active(bob.id, false).await.unwrap();
    let locked = AccountLoginState {
        failed_attempts: 5,
        last_failed_at: Some(NOW),
        locked_until: Some(NOW + Duration::hours(1)),
        notice_sent_at: Some(NOW),
    };
    users
        .swap_login_state(ada.id, AccountLoginState::default(), locked)
        .await
        .unwrap();
    let find = |q: UserQuery| {
        let users = Arc::clone(&users);
        async move {
            users
                .search(&UserQuery { limit: 10, ..q })
                .await
                .unwrap()
                .users
                .iter()
                .map(|u| u.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        find(UserQuery {
            verified: Some(true),
            ..UserQuery::default()
        })
        .await,
        vec![ada.id]
    );
    assert_eq!(
        find(UserQuery {
            verified: Some(false),
            ..UserQuery::default()
        })
        .await,
        vec![bob.id]
    );
    assert_eq!(
        find(UserQuery {
            active: Some(false),
            ..UserQuery::default()
        })
        .await,
        vec![bob.id]
    );
    assert_eq!(
        find(UserQuery {
            locked_at: Some(NOW),
            ..UserQuery::default()
        })
        .await,
        vec![ada.id]
    );
    assert!(
        find(UserQuery {
            locked_at: Some(NOW + Duration::hours(2)),
            ..UserQuery::default()
        })
        .await
        .is_empty()
    );

    users.anonymize(ada.id, NOW).await.unwrap();
    let gone = users.by_id(ada.id).await.unwrap().unwrap();
    assert!(gone.email.as_str().ends_with("@deleted.invalid"));
    assert_eq!(
        (gone.display_name.as_str(), gone.is_active, gone.deleted_at),
        ("", false, Some(NOW))
    );
    assert_eq!(gone.profile, Profile::default());
    assert!(
        users
            .by_email(&Email::parse("ada.l@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}
