//! Failed sign-ins lock one address out of an account, never the owner's: wrong passwords from
//! many addresses only slow the account down, and its owner hears of it once.

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use quickscale_app_web::App;
use quickscale_domain_identity::FixedClock;
use support::{Browser, Page, TestApp};
use time::Duration;

const PASSWORD: &str = "a long enough password";
const NOTICE: &str = "Failed sign-ins to your account";

/// The app with a clock the test moves, taking each browser's `X-Forwarded-For` as its
/// address (as behind a proxy), with ada registered from her usual address.
async fn app() -> (TestApp, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::at(time::OffsetDateTime::now_utc()));
    let app = TestApp::with_app(
        App::new("Test App").with_clock(clock.clone()),
        &[("TRUST_PROXY", "true")],
    )
    .await;
    from(&app, OWNER)
        .register("ada@example.com", PASSWORD)
        .await;
    (app, clock)
}

const OWNER: &str = "203.0.113.10";

fn from(app: &TestApp, address: &str) -> Browser {
    let mut browser = app.browser();
    browser.forwarded_for = Some(address.to_owned());
    browser
}

/// Signs in from `address` with a fresh browser.
async fn sign_in(app: &TestApp, address: &str, email: &str, password: &str) -> (Page, Browser) {
    let mut browser = from(app, address);
    let page = browser.login(email, password).await;
    (page, browser)
}

/// The notices sent to ada, once the work after the answers had time to run.
async fn notices(app: &TestApp) -> usize {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.mailer
        .sent()
        .iter()
        .filter(|m| m.to == "ada@example.com" && m.subject == NOTICE)
        .count()
}

/// A refusal as any email would get it: the address and the session's token replaced.
fn refusal(page: &Page, email: &str, browser: &Browser) -> (StatusCode, String) {
    let mut body = page.body.replace(email, "EMAIL");
    if let Some(token) = &browser.csrf {
        body = body.replace(token.as_str(), "TOKEN");
    }
    (page.status, body)
}

#[tokio::test]
async fn wrong_passwords_from_twenty_addresses_do_not_lock_the_owner_out() {
    let (app, clock) = app().await;
    for i in 0..20 {
        clock.advance(Duration::seconds(20));
        let (page, _) = sign_in(
            &app,
            &format!("198.51.100.{i}"),
            "ada@example.com",
            "wrong guess!",
        )
        .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Right after the last failure the account-wide delay runs: the owner waits too, and is
    // told nothing more than anyone else.
    let (paused, owner) = sign_in(&app, OWNER, "ada@example.com", PASSWORD).await;
    let (unknown, stranger) = sign_in(&app, "192.0.2.1", "nobody@example.com", PASSWORD).await;
    assert_eq!(
        refusal(&paused, "ada@example.com", &owner),
        refusal(&unknown, "nobody@example.com", &stranger),
        "the same answer as for an email without an account"
    );
    // Once it has run (five minutes at most), her address, which never failed, signs in.
    clock.advance(Duration::minutes(5));
    let (signed_in, mut ada) = sign_in(&app, OWNER, "ada@example.com", PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(ada.get("/dashboard").await.status, StatusCode::OK);
    // So does a new address of hers (a phone on another network).
    let (phone, _) = sign_in(&app, "192.0.2.77", "ada@example.com", PASSWORD).await;
    assert_eq!(phone.status, StatusCode::SEE_OTHER);
    assert_eq!(notices(&app).await, 1, "told once");
    let notice = app.mail_matching(|m| m.subject == NOTICE).await;
    assert!(notice.text.contains("/password/forgot"), "{}", notice.text);
}

#[tokio::test]
async fn one_address_is_locked_out_after_the_limit_and_told_once() {
    let (app, clock) = app().await;
    let attacker = "198.51.100.66";
    for _ in 0..5 {
        clock.advance(Duration::seconds(30));
        sign_in(&app, attacker, "ada@example.com", "wrong guess!").await;
    }
    // Locked out from there: even the right password is refused, with the one message.
    clock.advance(Duration::seconds(30));
    let (locked, browser) = sign_in(&app, attacker, "ada@example.com", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (unknown, stranger) = sign_in(&app, "198.51.100.67", "nobody@example.com", PASSWORD).await;
    assert_eq!(
        refusal(&locked, "ada@example.com", &browser),
        refusal(&unknown, "nobody@example.com", &stranger)
    );
    // Not from the owner's address.
    let (owner, _) = sign_in(&app, OWNER, "ada@example.com", PASSWORD).await;
    assert_eq!(owner.status, StatusCode::SEE_OTHER);
    // More tries while locked tell the owner nothing new (ten in all: the per-client rate
    // limit would answer the next).
    for _ in 0..3 {
        sign_in(&app, attacker, "ada@example.com", "wrong guess!").await;
    }
    assert_eq!(notices(&app).await, 1);
    let notice = app.mail_matching(|m| m.subject == NOTICE).await;
    assert!(notice.text.contains(attacker), "{}", notice.text);
    assert!(
        notice.text.contains("paused for 15 minutes"),
        "{}",
        notice.text
    );
    // The lock ends after LOCKOUT_MINUTES.
    clock.advance(Duration::minutes(15));
    let (after, _) = sign_in(&app, attacker, "ada@example.com", PASSWORD).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_account_wide_throttle_slows_a_distributed_attack() {
    let (app, clock) = app().await;
    // One attempt a second for ten minutes, from 150 addresses that each stay under the limit.
    let mut checked = 0;
    for attempt in 0..600u32 {
        clock.advance(Duration::seconds(1));
        let address = format!("198.51.{}.{}", attempt / 4 / 250, attempt / 4 % 250);
        let before = app.user("ada@example.com").await.login.failed_attempts;
        let (page, _) = sign_in(&app, &address, "ada@example.com", "wrong guess!").await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        if app.user("ada@example.com").await.login.failed_attempts > before {
            checked += 1;
        }
    }
    // Ten free guesses, then waits of 1, 2, 4, ... 256 s: 19 guesses in 600 s, not 600.
    assert_eq!(checked, 19, "passwords actually checked");
    assert_eq!(notices(&app).await, 1);
    // A password reset lifts the pause at once.
    let mut ada = from(&app, OWNER);
    ada.get("/password/forgot").await;
    ada.post("/password/forgot", &[("email", "ada@example.com")])
        .await;
    let link = app
        .link_to("ada@example.com", "/password/reset?token=")
        .await;
    ada.get(&link).await;
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let reset = ada
        .post(
            "/password/reset",
            &[
                ("token", &token),
                ("password", "a brand new password"),
                ("password_confirmation", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.body);
    let (signed_in, _) =
        sign_in(&app, "192.0.2.8", "ada@example.com", "a brand new password").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
}
