//! Real-browser end-to-end tests: headless Chromium, driven through chromedriver (WebDriver),
//! against the real binary of a freshly generated project on SQLite.
//!
//! - the five-minute journey: register, 100 credits, run the sentiment service through HTMX,
//!   99 credits; an admin in a second browser adds credits with a reason; the user reloads and
//!   sees them;
//! - a credit purchase through the offline Stripe stand-in (ENABLE_STRIPE=true, test card);
//! - a password reset through the development outbox;
//! - a phone (375×740): the burger opens the menu, the register form is usable;
//! - the core journey with JavaScript disabled: the service form posts as a plain form, and on a
//!   phone the menu is shown open (the burger needs a script);
//! - `audit`: every page the crawler reaches, for a visitor, a user and an admin, checked by
//!   axe-core and laid out at seven widths from 320 to 1920 px;
//! - `keyboard`: a keyboard-only journey, the focus visible at every step.
//! - `background`: a run that takes a while (the generated project's example background
//!   service): queued behind a busy worker, its progress advancing on its page, cancelled with
//!   its button (the hold released), settled when it ends; its page without JavaScript
//!   refreshes itself to the end.
//!
//! Every step is screenshotted to `target/e2e-screenshots/<scenario>/<browser>/NN-step.png`
//! (the whole page, through DevTools); with `QS_SCREENSHOTS=docs/screenshots` the audit also
//! writes every page at desktop and phone width to that gallery (`browser/gallery.rs`), beside a
//! few picked by hand from the other scenarios. The browser console is checked for errors along
//! the way.
//! Without chromium and chromedriver the tests skip and the skip is recorded; with
//! `QS_REQUIRE_BROWSER=1` (CI) they fail instead.

mod audit;
mod background;
mod gallery;
mod keyboard;

use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use tokio::sync::Semaphore;

use crate::support::webdriver::{self, Browser, Driver, Session, SessionOptions};
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, App, PASSWORD, measure, project, target_dir};

/// Two scenarios at a time: each runs an app and a browser, and the machine has two cores.
static SLOTS: Semaphore = Semaphore::const_new(2);

fn screenshots(scenario: &str) -> PathBuf {
    target_dir().join("e2e-screenshots").join(scenario)
}

/// Everything a scenario needs: the app, chromedriver, the screenshot folder.
struct Stage {
    app: App,
    driver: Driver,
    shots: PathBuf,
    started: Instant,
    name: &'static str,
    _slot: tokio::sync::SemaphorePermit<'static>,
}

impl Stage {
    async fn new(name: &'static str, env: &[(&str, &str)]) -> Option<Stage> {
        Stage::in_project(name, "browser-app", env).await
    }

    /// A stage on a project of its own: the offline Stripe stand-in keeps its state in the
    /// project's folder, so two scenarios with billing on cannot share one.
    async fn in_project(
        name: &'static str,
        project_name: &str,
        env: &[(&str, &str)],
    ) -> Option<Stage> {
        let browser = Browser::find(name)?;
        let project = project(project_name);
        let slot = SLOTS.acquire().await.unwrap();
        let shots = screenshots(name);
        let _ = std::fs::remove_dir_all(&shots);
        let started = Instant::now();
        let app = App::start(project, env).await;
        let driver = Driver::start(&browser, &shots).await;
        Some(Stage {
            app,
            driver,
            shots,
            started,
            name,
            _slot: slot,
        })
    }

    async fn desktop(&self, who: &str) -> Session {
        self.driver
            .session(&SessionOptions::desktop(self.shots.join(who)))
            .await
    }

    /// A desktop window with JavaScript off.
    async fn without_javascript(&self, who: &str) -> Session {
        let options = SessionOptions {
            javascript: false,
            ..SessionOptions::desktop(self.shots.join(who))
        };
        self.driver.session(&options).await
    }

    fn done(self) {
        measure(format!(
            "browser {}: {:.1} s",
            self.name,
            self.started.elapsed().as_secs_f64()
        ));
    }
}

/// Registers through the form (starting from the home page's Register button) and waits for
/// the dashboard.
async fn register(s: &mut Session, app: &App, email: &str, name: &str, shots: bool) {
    s.goto(&app.url("/")).await;
    s.click("nav a[href='/register']").await;
    s.wait_path("/register").await;
    s.fill("#email", email).await;
    s.fill("#display_name", name).await;
    s.fill("#password", PASSWORD).await;
    s.fill("#password_confirmation", PASSWORD).await;
    if shots {
        s.screenshot("register").await;
    }
    s.click("form[action='/register'] button[type=submit]")
        .await;
    s.wait_path("/dashboard").await;
    s.wait_text("[data-testid=balance]", "100 credits available")
        .await;
}

/// Fails on errors in the browser console since the last look (script errors, refused
/// resources, CSP violations).
async fn console_is_clean(s: &Session) {
    let errors: Vec<String> = s
        .console()
        .await
        .into_iter()
        .filter(|m| m.starts_with("SEVERE"))
        .collect();
    if !errors.is_empty() {
        s.fail(&format!("errors in the browser console: {errors:#?}"))
            .await;
    }
}

async fn sign_in(s: &mut Session, app: &App, email: &str, password: &str) {
    s.goto(&app.url("/login")).await;
    s.fill("#email", email).await;
    s.fill("#password", password).await;
    s.click("form[action='/login'] button[type=submit]").await;
    s.wait_path("/dashboard").await;
}

#[tokio::test]
async fn the_five_minute_journey_in_a_browser() {
    let Some(stage) = Stage::new("journey", &[]).await else {
        return;
    };
    let app = &stage.app;
    let email = "ada@example.com";
    let mut ada = stage.desktop("user").await;
    ada.goto(&app.url("/")).await;
    ada.find("nav.navbar").await;
    assert!(ada.title().await.contains("Browser App"), "the app's name");
    ada.screenshot("home").await;
    register(&mut ada, app, email, "Ada", true).await;
    ada.screenshot("dashboard").await;

    ada.click("nav a[href='/services']").await;
    ada.wait_path("/services").await;
    ada.screenshot("services").await;
    ada.click("a[href='/services/text_sentiment_analysis']")
        .await;
    ada.wait_path("/services/text_sentiment_analysis").await;
    // A mark on the window: it survives only if the result comes without a page load.
    ada.execute("window.qsMark = 'no reload'; return true;", json!([]))
        .await;
    ada.fill("#input", "I love this product, it works wonderfully")
        .await;
    ada.screenshot("service-form").await;
    ada.click("form[hx-post] button[type=submit]").await;
    ada.wait_text("[data-testid=result-summary]", "Positive")
        .await;
    ada.wait_text("[data-testid=balance-after]", "99 credits remaining")
        .await;
    ada.wait_text("#nav-balance", "99").await;
    let mark = ada
        .execute("return window.qsMark || null;", json!([]))
        .await;
    assert_eq!(mark, "no reload", "HTMX swapped the result into the page");
    ada.wait_path("/services/text_sentiment_analysis").await;
    console_is_clean(&ada).await;
    ada.screenshot("service-result").await;

    // The admin, in a second browser.
    let mut admin = stage.desktop("admin").await;
    sign_in(&mut admin, app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    admin.click("nav a[href='/admin']").await;
    admin.wait_path("/admin").await;
    admin.screenshot("admin").await;
    admin.goto(&app.url("/admin/users")).await;
    admin.fill("input[name=q]", email).await;
    admin
        .click("form[action='/admin/users'] button[type=submit]")
        .await;
    admin.wait_path("/admin/users?q=").await;
    admin.screenshot("users").await;
    admin.click("a[href^='/admin/users/']").await;
    admin
        .wait_text("[data-testid=admin-balance]", "99 credits")
        .await;
    admin.fill("#amount", "25").await;
    admin.fill("#reason", "Welcome bonus for early users").await;
    admin.screenshot("adjust-credits").await;
    admin
        .click("form[action$='/credits'] button[type=submit]")
        .await;
    admin
        .wait_text("[data-testid=admin-balance]", "124 credits")
        .await;
    admin.screenshot("credits-added").await;

    // The user reloads and sees the grant and its reason.
    ada.goto(&app.url("/dashboard")).await;
    ada.wait_text("[data-testid=balance]", "124 credits available")
        .await;
    ada.wait_text("body", "Welcome bonus for early users").await;
    ada.wait_text("#nav-balance", "124").await;
    ada.screenshot("dashboard-after-grant").await;
    console_is_clean(&admin).await;
    console_is_clean(&ada).await;
    admin.close().await;
    ada.close().await;
    stage.done();
}

/// The purchase, in a real browser: Buy credits → the stand-in's hosted page → pay with the test
/// card → the success page turns complete → +100 credits.
///
/// Chromium applies the app's Content-Security-Policy `form-action` to the redirect that follows
/// the Buy form's POST, so the policy must allow the checkout origin (the offline stand-in here,
/// checkout.stripe.com in production): a refusal fails the test.
#[tokio::test]
async fn buying_credits_through_the_offline_stripe_stand_in() {
    let scenario = "purchase";
    let Some(stage) = Stage::new(scenario, &[("ENABLE_STRIPE", "true")]).await else {
        return;
    };
    let app = &stage.app;
    let mut s = stage.desktop("user").await;
    register(&mut s, app, "buyer@example.com", "Bea", false).await;
    s.click("nav a[href='/billing']").await;
    s.wait_path("/billing").await;
    s.wait_text("[data-testid=test-mode]", "4242 4242 4242 4242")
        .await;
    let pack = s.text(".card[data-pack]").await;
    assert!(pack.contains("100"), "the starter pack: {pack}");
    s.screenshot("buy-credits").await;
    let buy = ".card[data-pack] form[action='/billing/checkout'] button";
    s.click(buy).await;

    // The hosted checkout page, served by the stand-in on a port of its own.
    let started = Instant::now();
    let mut console = Vec::new();
    while s.try_find("#card_number").await.is_none() {
        console.extend(s.console().await);
        let refused = console.iter().any(|m| m.contains("form-action"));
        if refused || started.elapsed() > webdriver::WAIT {
            s.fail(&format!(
                "the Buy button did not lead to the checkout page; console: {console:#?}"
            ))
            .await;
        }
        tokio::time::sleep(webdriver::POLL).await;
    }
    let hosted = s.current_url().await;
    assert!(
        !hosted.starts_with(&app.url("/")),
        "the payment page is not the app: {hosted}"
    );
    s.fill("#card_number", "4242 4242 4242 4242").await;
    s.fill("#card_exp", "12 / 34").await;
    s.fill("#card_cvc", "123").await;
    s.fill("#card_name", "Bea Buyer").await;
    s.screenshot("hosted-checkout").await;
    s.click("form button[type=submit]:not(.secondary)").await;

    // Back in the app: the success page confirms once the webhook arrived (HTMX polls).
    s.wait_path("/billing/success").await;
    s.screenshot("success-page").await;
    s.wait_text("[data-testid=purchase-complete]", "Payment received")
        .await;
    // The navbar's balance follows without a reload.
    s.wait_text("#nav-balance", "200").await;
    s.screenshot("purchase-complete").await;
    s.goto(&app.url("/dashboard")).await;
    s.wait_text("[data-testid=balance]", "200 credits available")
        .await;
    s.wait_text("#nav-balance", "200").await;
    s.screenshot("dashboard-after-purchase").await;
    console_is_clean(&s).await;
    s.close().await;
    stage.done();
}

#[tokio::test]
async fn resetting_a_password_through_the_development_outbox() {
    let Some(stage) = Stage::new("password-reset", &[]).await else {
        return;
    };
    let app = &stage.app;
    let email = "forgetful@example.com";
    let mut s = stage.desktop("user").await;
    register(&mut s, app, email, "Fred", false).await;
    s.click("nav form[action='/logout'] button").await;
    s.find("nav a[href='/login']").await;

    s.goto(&app.url("/login")).await;
    s.click("a[href='/password/forgot']").await;
    s.wait_path("/password/forgot").await;
    s.fill("#email", email).await;
    s.screenshot("forgot").await;
    s.click("form[action='/password/forgot'] button[type=submit]")
        .await;
    s.wait_text("[data-testid=reset-sent]", email).await;
    s.screenshot("link-sent").await;

    s.goto(&app.url("/dev/outbox")).await;
    s.wait_text("[data-testid=outbox-message]", email).await;
    s.screenshot("outbox").await;
    let source = s.source().await;
    let prefix = app.url("/password/reset?token=");
    let at = source
        .find(&prefix)
        .unwrap_or_else(|| panic!("a reset link in the outbox:\n{source}"));
    let link: String = source[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '<' && *c != '"')
        .collect();
    s.goto(&link.replace("&amp;", "&")).await;
    s.wait_path("/password/reset").await;
    let new_password = "a brand new passphrase";
    s.fill("#password", new_password).await;
    s.fill("#password_confirmation", new_password).await;
    s.screenshot("new-password").await;
    s.click("form[action='/password/reset'] button[type=submit]")
        .await;
    s.wait_path("/dashboard").await;
    s.wait_text("main", "Your password was changed and you are signed in")
        .await;
    s.screenshot("signed-in").await;

    // The new password works, the old one no longer does.
    s.click("nav form[action='/logout'] button").await;
    s.find("nav a[href='/login']").await;
    s.goto(&app.url("/login")).await;
    s.fill("#email", email).await;
    s.fill("#password", PASSWORD).await;
    s.click("form[action='/login'] button[type=submit]").await;
    s.find("[role=alert]").await;
    // The refusal is a 422, which the console reports: expected here.
    let refused = s.console().await;
    assert!(
        refused
            .iter()
            .filter(|m| m.starts_with("SEVERE"))
            .all(|m| m.contains("422") || m.contains("favicon")),
        "{refused:?}"
    );
    sign_in(&mut s, app, email, new_password).await;
    console_is_clean(&s).await;
    s.close().await;
    stage.done();
}

#[tokio::test]
async fn a_phone_sized_screen() {
    let Some(stage) = Stage::new("mobile", &[]).await else {
        return;
    };
    let app = &stage.app;
    let options = SessionOptions {
        width: 375,
        height: 740,
        mobile: true,
        javascript: true,
        screenshots: stage.shots.join("phone"),
    };
    let mut s = stage.driver.session(&options).await;
    s.goto(&app.url("/")).await;
    let burger = s.find("[data-testid=burger]").await;
    assert!(s.displayed(&burger).await, "the burger shows on a phone");
    let menu = s.find("#main-menu").await;
    assert!(!s.displayed(&menu).await, "the menu starts folded");
    let fits = "return [window.innerWidth, document.documentElement.scrollWidth];";
    let widths = s.execute(fits, json!([])).await;
    assert_eq!(widths[0], 375, "the viewport: {widths}");
    assert!(
        widths[1].as_u64().unwrap() <= 375,
        "the home page fits the width, no sideways scrolling: {widths}"
    );
    s.screenshot("home").await;

    s.click_element(&burger).await;
    let started = Instant::now();
    while !s.displayed(&menu).await {
        assert!(
            started.elapsed() < webdriver::WAIT,
            "the burger did not open the menu"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        s.attribute(&burger, "aria-expanded").await.as_deref(),
        Some("true")
    );
    // Bulma animates the burger into a cross: let it finish before the picture.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    s.screenshot("menu-open").await;
    s.click("#main-menu a[href='/register']").await;
    s.wait_path("/register").await;
    let widths = s.execute(fits, json!([])).await;
    assert!(
        widths[1].as_u64().unwrap() <= 375,
        "the register page fits the width: {widths}"
    );
    s.fill("#email", "phone@example.com").await;
    s.fill("#display_name", "Pho").await;
    s.fill("#password", PASSWORD).await;
    s.fill("#password_confirmation", PASSWORD).await;
    s.screenshot("register").await;
    s.click("form[action='/register'] button[type=submit]")
        .await;
    s.wait_path("/dashboard").await;
    s.wait_text("[data-testid=balance]", "100 credits available")
        .await;
    let widths = s.execute(fits, json!([])).await;
    assert!(
        widths[1].as_u64().unwrap() <= 375,
        "the dashboard fits the width: {widths}"
    );
    s.screenshot("dashboard").await;
    console_is_clean(&s).await;
    s.close().await;
    stage.done();
}

#[tokio::test]
async fn the_core_journey_without_javascript() {
    let Some(stage) = Stage::new("no-javascript", &[]).await else {
        return;
    };
    let app = &stage.app;
    let mut s = stage.without_javascript("user").await;
    s.goto(&app.url("/")).await;
    // Alpine sets aria-expanded on the burger when it runs: without JavaScript it is absent.
    let burger = s.find("[data-testid=burger]").await;
    assert_eq!(
        s.attribute(&burger, "aria-expanded").await,
        None,
        "scripts do not run"
    );
    register(&mut s, app, "plain@example.com", "Plain", false).await;
    s.screenshot("dashboard").await;
    s.goto(&app.url("/services/text_sentiment_analysis")).await;
    s.fill("#input", "What a wonderful, delightful service")
        .await;
    s.screenshot("service-form").await;
    s.click("form[action='/services/text_sentiment_analysis'] button[type=submit]")
        .await;
    s.wait_text("[data-testid=balance-after]", "99 credits remaining")
        .await;
    s.wait_text("[data-testid=result-summary]", "Positive")
        .await;
    // A full page came back: the layout, the title and the navbar's balance.
    let source = s.source().await;
    assert!(source.contains("<nav"), "a full page, not a fragment");
    assert!(s.title().await.contains("Sentiment"), "{}", s.title().await);
    s.wait_text("#nav-balance", "99").await;
    s.wait_path("/services/text_sentiment_analysis").await;
    s.screenshot("service-result").await;
    s.goto(&app.url("/dashboard")).await;
    s.wait_text("[data-testid=balance]", "99 credits available")
        .await;
    // On a phone the burger needs a script to open the menu: without one, the menu is shown
    // open and the burger is hidden, so every link (Sign out included) stays reachable.
    s.set_viewport(390, 800, true).await;
    let burger = s.find("[data-testid=burger]").await;
    assert!(!s.displayed(&burger).await, "no burger that cannot open");
    let sign_out = s.find("form[action='/logout'] button").await;
    assert!(
        s.displayed(&sign_out).await,
        "Sign out reachable on a phone"
    );
    s.screenshot("phone-menu").await;
    console_is_clean(&s).await;
    s.close().await;
    stage.done();
}
