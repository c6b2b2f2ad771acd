//! The signed-in user kept in process (`user_cache::CachedUsers`), with two app instances on one
//! database: a change made through an instance is seen there at once; a change made on the other
//! instance within `SESSION_USER_TTL`; a deactivated or deleted user loses access at once on the
//! instance that made the change; signing out ends the session at once everywhere.

mod support;

use axum::http::StatusCode;
use quickscale_adapters::testing::postgres::test_database_url;
use quickscale_app_web::user_cache::SESSION_USER_TTL;
use support::api::PASSWORD;
use support::{Browser, TestApp};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-password-1");

/// Two instances on one new SQLite file (the first migrates it); the folder lives as long as
/// the instances.
async fn two_on_sqlite() -> (TestApp, TestApp, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("app.db").display());
    let first = TestApp::with(&[("DATABASE_URL", &url)]).await;
    let second = TestApp::with(&[("DATABASE_URL", &url)]).await;
    (first, second, data)
}

/// The same browser (its cookies) sending its requests to `app`, as behind a load balancer.
fn same_browser_on(app: &TestApp, browser: &Browser) -> Browser {
    let mut moved = app.browser();
    moved.cookie.clone_from(&browser.cookie);
    moved.csrf_cookie.clone_from(&browser.csrf_cookie);
    moved.csrf.clone_from(&browser.csrf);
    moved
}

async fn admin_on(app: &TestApp) -> Browser {
    let mut admin = app.browser();
    admin.login(ADMIN.0, ADMIN.1).await;
    admin
}

/// The name the navbar shows the signed-in user (from the user the request was served with).
async fn shown_name(browser: &mut Browser) -> String {
    let page = browser.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    page.body
        .split("navbar-user-name\" href=\"/settings\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The user renames themselves on the settings page (through the browser's instance).
async fn rename(browser: &mut Browser, name: &str) {
    browser.get("/settings").await;
    let page = browser
        .post("/settings/profile", &[("display_name", name)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

/// Whether the browser's session gets the dashboard (a signed-out one is sent to sign in).
async fn signed_in(browser: &mut Browser) -> bool {
    browser.get("/dashboard").await.status == StatusCode::OK
}

async fn set_active(admin: &mut Browser, app: &TestApp, email: &str, active: bool) {
    let id = app.user(email).await.id;
    admin.get(&format!("/admin/users/{id}")).await;
    let page = admin
        .post(
            &format!("/admin/users/{id}/active"),
            &[("active", if active { "true" } else { "false" })],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

#[tokio::test]
async fn a_change_made_through_an_instance_is_seen_there_at_once() {
    let (first, _second, _data) = two_on_sqlite().await;
    let mut ada = first.browser();
    ada.register("ada@example.com", PASSWORD).await;
    rename(&mut ada, "Ada").await;
    // Her laptop's session, on the same instance: its user is now cached here.
    let mut laptop = first.browser();
    laptop.login("ada@example.com", PASSWORD).await;
    assert_eq!(shown_name(&mut laptop).await, "Ada");

    rename(&mut ada, "Ada Lovelace").await;
    assert_eq!(
        shown_name(&mut laptop).await,
        "Ada Lovelace",
        "at once, on the instance that made the change"
    );
}

async fn a_change_on_another_instance_is_seen_within_the_lifetime(
    first: &TestApp,
    second: &TestApp,
) {
    let mut admin = admin_on(first).await;
    let mut ada = first.browser();
    ada.register("ada@example.com", PASSWORD).await;
    rename(&mut ada, "Ada").await;
    let mut ada_on_second = same_browser_on(second, &ada);
    assert_eq!(
        shown_name(&mut ada_on_second).await,
        "Ada",
        "cached there now"
    );

    // Renamed through the first instance: the second shows it within the lifetime.
    rename(&mut ada, "Ada Lovelace").await;
    tokio::time::sleep(SESSION_USER_TTL + std::time::Duration::from_millis(100)).await;
    assert_eq!(shown_name(&mut ada_on_second).await, "Ada Lovelace");

    // Deactivated through the first instance: refused there at once, and on the second (at
    // once too, since deactivating ends her sessions, and within the lifetime at the latest).
    set_active(&mut admin, first, "ada@example.com", false).await;
    assert!(
        !signed_in(&mut ada).await,
        "deactivated: at once where it was done"
    );
    tokio::time::sleep(SESSION_USER_TTL + std::time::Duration::from_millis(100)).await;
    assert!(
        !signed_in(&mut same_browser_on(second, &ada_on_second)).await,
        "deactivated: on the other within the lifetime"
    );
}

#[tokio::test]
async fn a_change_on_another_instance_is_seen_within_the_lifetime_on_sqlite() {
    let (first, second, _data) = two_on_sqlite().await;
    a_change_on_another_instance_is_seen_within_the_lifetime(&first, &second).await;
}

#[tokio::test]
async fn a_change_on_another_instance_is_seen_within_the_lifetime_on_postgres() {
    let Some(url) = test_database_url().await else {
        return;
    };
    let first = TestApp::with(&[("DATABASE_URL", &url)]).await;
    let second = TestApp::with(&[("DATABASE_URL", &url)]).await;
    a_change_on_another_instance_is_seen_within_the_lifetime(&first, &second).await;
}

#[tokio::test]
async fn a_deactivated_or_deleted_user_loses_access_at_once_where_it_was_done() {
    let (first, _second, _data) = two_on_sqlite().await;
    let mut admin = admin_on(&first).await;
    // Ada on two browsers: the admin deactivates her; both are refused at their next request.
    let mut ada = first.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let mut ada_laptop = first.browser();
    ada_laptop.login("ada@example.com", PASSWORD).await;
    assert!(signed_in(&mut ada).await && signed_in(&mut ada_laptop).await);
    set_active(&mut admin, &first, "ada@example.com", false).await;
    assert!(!signed_in(&mut ada).await);
    assert!(!signed_in(&mut ada_laptop).await);

    // Bob on two browsers deletes his account on one: the other is refused at once.
    let mut bob = first.browser();
    bob.register("bob@example.com", PASSWORD).await;
    let mut bob_phone = first.browser();
    bob_phone.login("bob@example.com", PASSWORD).await;
    assert!(signed_in(&mut bob_phone).await, "his user is cached here");
    bob.get("/settings").await;
    let gone = bob
        .post(
            "/settings/delete",
            &[("current_password", PASSWORD), ("confirmation", "DELETE")],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    assert!(!signed_in(&mut bob_phone).await, "deleted: at once");
}

#[tokio::test]
async fn signing_out_ends_the_session_at_once_on_every_instance() {
    let (first, second, _data) = two_on_sqlite().await;
    let mut ada = first.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let mut ada_on_second = same_browser_on(&second, &ada);
    assert!(
        signed_in(&mut ada_on_second).await,
        "her user is cached there"
    );
    ada.get("/dashboard").await;
    let mut old_cookie_on_first = same_browser_on(&first, &ada);
    let out = ada.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert!(
        !signed_in(&mut ada_on_second).await,
        "the old cookie: no session"
    );
    assert!(!signed_in(&mut old_cookie_on_first).await);
}
