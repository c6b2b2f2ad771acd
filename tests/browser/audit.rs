//! Every page, for everyone, at every width: `quickscale crawl` finds the pages a visitor, a user
//! and an admin reach (billing through the offline stand-in, subscriptions and the API on), then
//! Chromium opens each of them and
//!
//! - runs axe-core (injected through WebDriver) at 1280 and 390 px: a violation of impact
//!   serious or critical fails the test, the others are listed in its output and in
//!   `QS_MEASURE_LOG`;
//! - lays the page out at 320, 390, 768, 1024, 1200, 1280 and 1920 px: no page scrolls sideways, and
//!   nothing in the navbar (opened by its burger on narrow screens) is cut off, clips its text or
//!   overlaps something else, with the longest name `quickscale init` accepts as the app's name
//!   and 60-character emails as the user's and the admin's names;
//! - screenshots it at 390 and 1280 px (`target/e2e-screenshots/audit/<who>/`), and with
//!   `QS_SCREENSHOTS=docs/screenshots` also into that gallery, with an index (`gallery.rs`).
//!
//! Pages reached only after an action are checked the same way: a run's result (swapped in by
//! HTMX), a refused form, a run refused for want of credits, a new API key, the return from
//! checkout.
//!
//! axe-core is the npm package pinned by `tests/browser-tools/package-lock.json`, installed by
//! `scripts/browser-tools.sh` (called from here when it is missing).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::{Value, json};

use super::gallery::Gallery;
use super::{Stage, sign_in};
use crate::crawl::crawl_as;
use crate::support::webdriver::Session;
use quickscale_adapters::testing::require::{Requirement, skip};

use crate::support::{App, HttpBrowser, PASSWORD, measure, workspace};

/// The widths every page is laid out at, in CSS pixels: phones to wide screens, and 1200, where
/// the navbar with billing on once cut "Sign out" off.
const WIDTHS: [u32; 7] = [320, 390, 768, 1024, 1200, 1280, 1920];

/// The widths axe-core checks every page at (and the screenshots are taken at).
const AXE_WIDTHS: [u32; 2] = [390, 1280];

/// Below this width Bulma folds the navbar behind its burger.
const DESKTOP: u32 = 1024;

const LAYOUT: &str = include_str!("layout.js");

const MOTION: &str = include_str!("motion.js");

const FORMS: &str = include_str!("forms.js");

/// axe-core's impacts that fail the test.
const FAILING: [&str; 2] = ["serious", "critical"];

/// axe-core's source, installed by `scripts/browser-tools.sh` on first use. Without npm (and
/// no copy installed before): `None` and a recorded skip, or a failure with
/// `QS_REQUIRE_BROWSER=1`.
fn axe_source() -> Option<&'static str> {
    static SOURCE: OnceLock<Option<String>> = OnceLock::new();
    SOURCE
        .get_or_init(|| {
            let output = Command::new("bash")
                .arg(workspace().join("scripts/browser-tools.sh"))
                .output()
                .expect("bash runs");
            if !output.status.success() {
                skip(
                    Requirement::Browser,
                    &format!(
                        "axe-core could not be installed by scripts/browser-tools.sh (it needs \
                         npm): {}",
                        String::from_utf8_lossy(&output.stderr)
                    ),
                );
                return None;
            }
            let folder = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            let source = std::fs::read_to_string(folder.join("node_modules/axe-core/axe.min.js"))
                .expect("axe-core installed");
            Some(source)
        })
        .as_deref()
}

/// The longest app name `quickscale init` accepts (the display name of a 50-character project
/// name, one word of wide letters: the hardest to fit).
fn longest_app_name() -> String {
    let name = quickscale_cli::name::ProjectName::parse(&"w".repeat(50))
        .expect("the generator accepts 50 characters");
    name.display_name()
}

/// An email of exactly 60 characters starting with `who`.
fn email_of_60(who: &str) -> String {
    let domain = "@example.com";
    let pad = 60 - who.len() - domain.len();
    let email = format!("{who}.{}{domain}", "m".repeat(pad - 1));
    assert_eq!(email.chars().count(), 60);
    email
}

/// What the checks found, over every page, role and width.
#[derive(Default)]
struct Findings {
    /// Problems that fail the test, each with where it was seen.
    failures: BTreeMap<String, Vec<String>>,
    /// axe-core's minor and moderate violations, listed but not failing.
    notes: BTreeMap<String, Vec<String>>,
    pages: usize,
    axe_runs: usize,
}

impl Findings {
    fn fail(&mut self, what: String, place: &str) {
        self.failures
            .entry(what)
            .or_default()
            .push(place.to_owned());
    }

    fn note(&mut self, what: String, place: &str) {
        self.notes.entry(what).or_default().push(place.to_owned());
    }
}

fn listed(found: &BTreeMap<String, Vec<String>>) -> String {
    found
        .iter()
        .map(|(what, places)| {
            let shown: Vec<&str> = places.iter().take(6).map(String::as_str).collect();
            let more = places.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("- {what}\n    at {}{more}", shown.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The path (and query) of a URL on the app.
fn path_of(url: &str) -> String {
    url.split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
        .unwrap_or_default()
}

/// One role's browser, checking the page it is on.
struct Auditor<'a> {
    session: Session,
    axe: &'static str,
    who: &'static str,
    findings: &'a RefCell<Findings>,
    gallery: Option<&'a Gallery>,
}

impl Auditor<'_> {
    /// Runs axe-core on the page as it is now.
    async fn axe(&mut self, place: &str) {
        let present = self
            .session
            .execute("return typeof window.axe !== 'undefined';", json!([]))
            .await;
        if present != true {
            self.session
                .execute(&format!("{}\nreturn true;", self.axe), json!([]))
                .await;
        }
        let script = "return window.axe.run(document, { resultTypes: ['violations'] }).then(r => \
                      r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, \
                      nodes: v.nodes.map(n => n.target.join(' ')) })));";
        let violations = self.session.execute(script, json!([])).await;
        self.findings.borrow_mut().axe_runs += 1;
        for violation in violations.as_array().into_iter().flatten() {
            let impact = violation["impact"].as_str().unwrap_or("unknown");
            let nodes: Vec<&str> = violation["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let what = format!(
                "axe {impact} {}: {} ({})",
                violation["id"].as_str().unwrap_or_default(),
                violation["help"].as_str().unwrap_or_default(),
                nodes.join(" | ")
            );
            if FAILING.contains(&impact) {
                self.findings.borrow_mut().fail(what, place);
            } else {
                self.findings.borrow_mut().note(what, place);
            }
        }
    }

    /// Lays the page out at `width` and collects its layout problems, the navbar's folded menu
    /// opened on narrow screens.
    async fn layout(&mut self, width: u32, place: &str) {
        self.session.set_viewport(width, 900, width < DESKTOP).await;
        for problem in self.layout_problems().await {
            self.findings.borrow_mut().fail(problem, place);
        }
        if width >= DESKTOP {
            return;
        }
        // The burger, clicked in the page (no element reference to go stale); Alpine opens the
        // menu on its next tick.
        let toggle = "const burger = document.querySelector('[data-testid=burger]'); \
                      const menu = document.getElementById('main-menu'); \
                      if (!burger || !menu || burger.offsetParent === null) return null; \
                      burger.click(); \
                      return new Promise(done => setTimeout(() => \
                        done(getComputedStyle(menu).display !== 'none'), 50));";
        let opened = self.session.execute(toggle, json!([])).await;
        if opened.is_null() {
            return;
        }
        if opened == true {
            for problem in self.layout_problems().await {
                self.findings
                    .borrow_mut()
                    .fail(problem, &format!("{place}, menu open"));
            }
        } else {
            self.findings
                .borrow_mut()
                .fail("the burger does not open the menu".to_owned(), place);
        }
        // Folded again for the next width.
        let folded = self.session.execute(toggle, json!([])).await;
        if folded != false {
            self.findings
                .borrow_mut()
                .fail("the burger does not fold the menu".to_owned(), place);
        }
    }

    /// The elements that move (transitions, animations) on the page as it is now.
    async fn moving(&self) -> Vec<String> {
        let moving = self.session.execute(MOTION, json!([])).await;
        moving
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect()
    }

    /// From now on the browser tells pages that the reader prefers reduced motion.
    async fn prefer_reduced_motion(&self) {
        self.session
            .devtools(
                "Emulation.setEmulatedMedia",
                json!({ "features": [{ "name": "prefers-reduced-motion", "value": "reduce" }] }),
            )
            .await;
    }

    async fn layout_problems(&self) -> Vec<String> {
        self.session
            .execute(LAYOUT, json!([]))
            .await
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect()
    }

    /// Every check on the page the browser shows now, named `name` in the screenshots.
    async fn check(&mut self, name: &str) {
        let path = path_of(&self.session.current_url().await);
        self.findings.borrow_mut().pages += 1;
        for width in WIDTHS {
            let place = format!("{} {path} at {width} px", self.who);
            self.layout(width, &place).await;
            if width == 1280 {
                let untied = self.session.execute(FORMS, json!([])).await;
                for problem in untied.as_array().into_iter().flatten() {
                    let problem = problem.as_str().unwrap_or_default().to_owned();
                    self.findings.borrow_mut().fail(problem, &place);
                }
                let moving = self.moving().await;
                if !moving.is_empty() {
                    self.findings.borrow_mut().fail(
                        format!(
                            "moves although the reader asked for reduced motion: {}",
                            moving.join(", ")
                        ),
                        &place,
                    );
                }
            }
            if AXE_WIDTHS.contains(&width) {
                self.axe(&place).await;
                let shot = self.session.screenshot(&format!("{name}-{width}")).await;
                if let Some(gallery) = self.gallery {
                    gallery.add(self.who, name, &path, width, &shot);
                }
            }
        }
        self.session.set_viewport(1280, 900, false).await;
    }

    /// Fills the form's fields (`fields`: selector and text), submits it with `submit`, and
    /// expects a refusal in which the first field in error is `first` and has the focus, naming
    /// its error in aria-describedby; then checks the page as `name`.
    async fn refused(&mut self, fields: &[(&str, &str)], submit: &str, first: &str, name: &str) {
        let s = &self.session;
        for (field, text) in fields {
            s.fill(field, text).await;
        }
        s.click(submit).await;
        s.find("[aria-invalid=true]").await;
        let focus = s
            .execute(
                "const el = document.activeElement; \
                 const ids = (el.getAttribute('aria-describedby') || '').split(' '); \
                 return [el.id, ids.map(id => document.getElementById(id)).filter(Boolean) \
                   .map(e => e.textContent.trim()).join(' ')];",
                json!([]),
            )
            .await;
        assert_eq!(
            focus[0], first,
            "{name}: the first field in error has the focus: {focus}"
        );
        assert!(
            !focus[1].as_str().unwrap_or_default().is_empty(),
            "{name}: the field names its error in aria-describedby: {focus}"
        );
        self.check(name).await;
    }

    /// Opens each crawled page and checks it.
    async fn check_all(&mut self, app: &App, urls: &[String]) {
        for url in urls {
            let path = path_of(url);
            self.session.goto(&app.url(&path)).await;
            let name = path
                .trim_start_matches('/')
                .replace(['/', '?', '=', '&'], "_");
            self.check(if name.is_empty() { "home" } else { &name })
                .await;
        }
    }
}

/// The HTML pages a crawl as `who` reached (status 200), in the order it reached them.
fn html_pages(report: &Value) -> Vec<String> {
    report["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["status"] == 200
                && p["content_type"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("text/html")
        })
        .map(|p| p["url"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_page_is_accessible_and_fits_every_width() {
    let app_name = longest_app_name();
    let admin_email = email_of_60("owner");
    let user_email = email_of_60("grace");
    let env = [
        ("ENABLE_STRIPE", "true"),
        ("ENABLE_SUBSCRIPTIONS", "true"),
        ("ENABLE_API", "true"),
        ("APP_NAME", app_name.as_str()),
        ("ADMIN_EMAIL", admin_email.as_str()),
    ];
    // A project of its own: the purchase scenario runs the offline Stripe stand-in at the same
    // time, on the shared project's folder.
    let Some(stage) = Stage::in_project("audit", "browser-audit", &env).await else {
        return;
    };
    let Some(axe) = axe_source() else {
        return;
    };
    let app = &stage.app;

    // Some life in the app: a user (no display name: the navbar shows the email) who ran
    // services and got credits from the admin.
    let mut grace = HttpBrowser::new(app.port);
    grace.register(&user_email, "").await;
    grace
        .run_service("text_sentiment_analysis", "I love this product")
        .await;
    grace.run_service("title_case", "the hobbit").await;

    let dir = tempfile::tempdir().unwrap();
    let visitor = crawl_as(app, "visitor", &[], dir.path()).await;
    let user = crawl_as(
        app,
        "user",
        &["--login", &user_email, "--password-env", "QS_USER_PASSWORD"],
        dir.path(),
    )
    .await;
    let admin = crawl_as(
        app,
        "admin",
        &[
            "--login",
            &admin_email,
            "--password-env",
            "QS_ADMIN_PASSWORD",
            "--admin",
        ],
        dir.path(),
    )
    .await;

    let findings = RefCell::new(Findings::default());
    let gallery = Gallery::from_env();
    let started = Instant::now();

    // A visitor: every page, then a refused registration.
    let mut visitor_browser = Auditor {
        axe,
        session: stage.desktop("visitor").await,
        who: "visitor",
        findings: &findings,
        gallery: gallery.as_ref(),
    };
    // Bulma's buttons move (the check can fail) until the reader asks for less motion.
    visitor_browser.session.goto(&app.url("/")).await;
    let moving = visitor_browser.moving().await;
    assert!(!moving.is_empty(), "something moves by default");
    visitor_browser.prefer_reduced_motion().await;
    visitor_browser
        .check_all(app, &html_pages(&visitor.report))
        .await;
    // Refused forms: the first field in error has the focus and names its error.
    let s = &visitor_browser.session;
    s.goto(&app.url("/register")).await;
    visitor_browser
        .refused(
            &[("#email", "not an email"), ("#password", "short")],
            "form[action='/register'] button[type=submit]",
            "email",
            "register-refused",
        )
        .await;
    visitor_browser.session.goto(&app.url("/contact")).await;
    visitor_browser
        .refused(
            &[],
            "form[action='/contact'] button[type=submit]",
            "name",
            "contact-refused",
        )
        .await;
    visitor_browser.session.goto(&app.url("/login")).await;
    visitor_browser
        .refused(
            &[
                ("#email", "nobody@example.com"),
                ("#password", "not the password"),
            ],
            "form[action='/login'] button[type=submit]",
            "password",
            "login-refused",
        )
        .await;
    visitor_browser.session.close().await;

    // A user: every page, then a run's result, a new API key, a purchase's return, and a run
    // refused for want of credits.
    let mut user_browser = Auditor {
        axe,
        session: stage.desktop("user").await,
        who: "user",
        findings: &findings,
        gallery: gallery.as_ref(),
    };
    user_browser.prefer_reduced_motion().await;
    sign_in(&mut user_browser.session, app, &user_email, PASSWORD).await;
    user_browser.check_all(app, &html_pages(&user.report)).await;
    user_browser.session.goto(&app.url("/settings")).await;
    user_browser
        .refused(
            &[
                ("#current_password", "not the password"),
                ("#new_password", "a new long passphrase"),
                ("#new_password_confirmation", "a new long passphrase"),
            ],
            "form[action='/settings/password'] button[type=submit]",
            "current_password",
            "password-change-refused",
        )
        .await;
    let s = &user_browser.session;
    s.goto(&app.url("/services/text_sentiment_analysis")).await;
    s.fill("#input", "What a wonderful, delightful service")
        .await;
    s.click("form[hx-post] button[type=submit]").await;
    s.wait_text("[data-testid=result-summary]", "Positive")
        .await;
    user_browser.check("run-result").await;
    let s = &user_browser.session;
    s.goto(&app.url("/settings/api-keys")).await;
    s.fill("#name", "Deploy script").await;
    s.fill("#key_password", PASSWORD).await;
    s.click("form[action='/settings/api-keys'] button[type=submit]")
        .await;
    s.find("input[name=new_key]").await;
    user_browser.check("api-key-created").await;
    let s = &user_browser.session;
    s.goto(&app.url("/billing")).await;
    s.click(".card[data-pack] form[action='/billing/checkout'] button")
        .await;
    s.find("#card_number").await;
    s.fill("#card_number", "4242 4242 4242 4242").await;
    s.fill("#card_exp", "12 / 34").await;
    s.fill("#card_cvc", "123").await;
    s.fill("#card_name", "Grace").await;
    s.click("form button[type=submit]:not(.secondary)").await;
    s.wait_path("/billing/success").await;
    s.wait_text("[data-testid=purchase-complete]", "Payment received")
        .await;
    user_browser.check("checkout-return").await;
    let s = &user_browser.session;
    s.goto(&app.url("/billing/cancel")).await;
    user_browser.check("checkout-cancelled").await;

    // The admin: every page, then takes the user's credits away; the user's run is refused.
    let mut admin_browser = Auditor {
        axe,
        session: stage.desktop("admin").await,
        who: "admin",
        findings: &findings,
        gallery: gallery.as_ref(),
    };
    admin_browser.prefer_reduced_motion().await;
    sign_in(
        &mut admin_browser.session,
        app,
        &admin_email,
        crate::support::ADMIN_PASSWORD,
    )
    .await;
    // Without a display name the navbar shows the admin's 60-character email, beside the most
    // links any navbar has.
    let s = &admin_browser.session;
    s.goto(&app.url("/settings")).await;
    s.fill("#display_name", "").await;
    s.click("form[action='/settings/profile'] button[type=submit]")
        .await;
    s.wait_text("nav .navbar-user-name", &admin_email).await;
    admin_browser
        .check_all(app, &html_pages(&admin.report))
        .await;
    let s = &admin_browser.session;
    s.goto(&app.url(&format!("/admin/users?q={user_email}")))
        .await;
    s.click("a[href^='/admin/users/']").await;
    s.find("#amount").await;
    admin_browser
        .refused(
            &[("#amount", ""), ("#reason", "")],
            "form[action$='/credits'] button[type=submit]",
            "amount",
            "credits-refused",
        )
        .await;
    let s = &admin_browser.session;
    let balance = s.text("[data-testid=admin-balance]").await;
    let amount: String = balance
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    s.click("input[name=action][value=remove]").await;
    s.fill("#amount", &amount).await;
    s.fill("#reason", "Testing a refusal").await;
    s.click("form[action$='/credits'] button[type=submit]")
        .await;
    s.wait_text("[data-testid=admin-balance]", "0 credits")
        .await;
    admin_browser.check("credits-removed").await;
    admin_browser.session.close().await;

    let s = &user_browser.session;
    s.goto(&app.url("/services/text_sentiment_analysis")).await;
    s.fill("#input", "Refused for want of credits").await;
    s.click("form[hx-post] button[type=submit]").await;
    s.find("[data-testid=run-error], [data-testid=run-refused], #result [role=alert]")
        .await;
    user_browser.check("run-refused").await;
    user_browser.session.close().await;

    if let Some(gallery) = &gallery {
        gallery.write_index();
    }
    let findings = findings.into_inner();
    let elapsed = started.elapsed().as_secs_f64();
    measure(format!(
        "browser audit: {} pages checked at {} widths, axe-core run {} times, in {elapsed:.1} s",
        findings.pages,
        WIDTHS.len(),
        findings.axe_runs
    ));
    for (what, places) in &findings.notes {
        measure(format!("axe (not failing) {what}: {} pages", places.len()));
    }
    if !findings.notes.is_empty() {
        eprintln!(
            "axe-core's minor and moderate findings (not failing):\n{}",
            listed(&findings.notes)
        );
    }
    assert!(
        findings.failures.is_empty(),
        "{} problems (screenshots in {}):\n{}",
        findings.failures.len(),
        stage.shots.display(),
        listed(&findings.failures)
    );
    stage.done();
}
