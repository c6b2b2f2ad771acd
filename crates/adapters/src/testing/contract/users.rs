//! The user store contract, including the account use cases over it.

use std::sync::Arc;

use futures_util::future::join_all;
use quickscale_domain_identity::{
    Accounts, AuthError, DisplayName, Email, FixedClock, LockoutPolicy, LoginState, Password,
    PasswordHash, PasswordPolicy, Registration, Rejection, Role, User, UserId, UserQuery,
    UserStoreError,
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
        login: LoginState::default(),
        profile: quickscale_domain_identity::Profile::default(),
        onboarded_at: None,
        deleted_at: None,
    }
}

pub async fn users_insert_and_find_by_id_and_email(stores: Stores) {
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

pub async fn users_duplicate_email_is_a_domain_error(stores: Stores) {
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

pub async fn users_concurrent_duplicate_registrations_create_one_account(stores: Stores) {
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

pub async fn users_login_state_is_compare_and_swap(stores: Stores) {
    let users = stores.users;
    let ada = user("ada@example.com", "Ada", Role::User, 0);
    users.insert(&ada).await.unwrap();
    let failed = LoginState {
        failed_attempts: 1,
        window_started_at: Some(NOW),
        locked_until: None,
    };
    assert!(
        users
            .swap_login_state(ada.id, LoginState::default(), failed)
            .await
            .unwrap()
    );
    assert!(
        !users
            .swap_login_state(ada.id, LoginState::default(), failed)
            .await
            .unwrap()
    );
    let locked = LoginState {
        failed_attempts: 0,
        window_started_at: None,
        locked_until: Some(NOW),
    };
    assert!(
        users
            .swap_login_state(ada.id, failed, locked)
            .await
            .unwrap()
    );
    assert_eq!(users.by_id(ada.id).await.unwrap().unwrap().login, locked);
}

pub async fn users_updates_change_one_user(stores: Stores) {
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

pub async fn users_onboarding_is_recorded(stores: Stores) {
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

pub async fn users_search_filters_pages_and_escapes_wildcards(stores: Stores) {
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
        LockoutPolicy::new(3, Duration::minutes(10), Duration::minutes(30)).unwrap(),
        PasswordPolicy::default(),
    )
}

pub async fn users_sign_in_locks_after_failures_and_resets_on_success(stores: Stores) {
    let clock = Arc::new(FixedClock::at(NOW));
    let accounts = accounts(&stores, Arc::clone(&clock));
    let registration = Registration::parse(
        "ada@example.com",
        "correct horse",
        "correct horse",
        "Ada",
        accounts.password_policy(),
    )
    .unwrap();
    accounts.register(registration, Role::User).await.unwrap();

    let wrong = Password::new("wrong password");
    let right = Password::new("correct horse");
    for _ in 0..2 {
        let err = accounts
            .authenticate("ada@example.com", &wrong)
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthError::Rejected(Rejection::WrongPassword)),
            "{err:?}"
        );
    }
    // A success resets the count.
    accounts
        .authenticate("ada@example.com", &right)
        .await
        .unwrap();
    for _ in 0..2 {
        accounts
            .authenticate("ada@example.com", &wrong)
            .await
            .unwrap_err();
    }
    let third = accounts
        .authenticate("ada@example.com", &wrong)
        .await
        .unwrap_err();
    assert!(
        matches!(third, AuthError::Rejected(Rejection::Locked { .. })),
        "{third:?}"
    );
    // Locked: even the right password is refused, with the same message as a wrong one.
    let locked = accounts
        .authenticate("ada@example.com", &right)
        .await
        .unwrap_err();
    let unknown = accounts
        .authenticate("nobody@example.com", &right)
        .await
        .unwrap_err();
    assert!(matches!(
        locked,
        AuthError::Rejected(Rejection::Locked { .. })
    ));
    assert!(matches!(
        unknown,
        AuthError::Rejected(Rejection::UnknownEmail)
    ));
    assert_eq!(locked.to_string(), unknown.to_string());
    clock.advance(Duration::minutes(31));
    accounts
        .authenticate("ada@example.com", &right)
        .await
        .unwrap();
}

pub async fn users_concurrent_failures_are_all_counted(stores: Stores) {
    let clock = Arc::new(FixedClock::at(NOW));
    let accounts = accounts(&stores, clock);
    let registration = Registration::parse(
        "bob@example.com",
        "correct horse",
        "correct horse",
        "",
        accounts.password_policy(),
    )
    .unwrap();
    let bob = accounts.register(registration, Role::User).await.unwrap();
    let tasks = (0..2).map(|_| {
        let accounts = accounts.clone();
        tokio::spawn(async move {
            accounts
                .authenticate("bob@example.com", &Password::new("nope nope"))
                .await
        })
    });
    join_all(tasks).await;
    let stored = stores.users.by_id(bob.id).await.unwrap().unwrap();
    assert_eq!(stored.login.failed_attempts, 2);
}

pub async fn users_change_password_needs_the_current_one(stores: Stores) {
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
    accounts
        .authenticate("cy@example.com", &Password::new("second password"))
        .await
        .unwrap();
    assert!(
        accounts
            .authenticate("cy@example.com", &Password::new("first password"))
            .await
            .is_err()
    );
}

pub async fn users_profiles_emails_activity_and_deletion(stores: Stores) {
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
    let locked = LoginState {
        failed_attempts: 0,
        window_started_at: None,
        locked_until: Some(NOW + Duration::hours(1)),
    };
    users
        .swap_login_state(ada.id, LoginState::default(), locked)
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
