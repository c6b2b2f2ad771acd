//! Nothing tells a visitor whether an address has an account: not the answer, not its timing.
//! Covers password reset, email change and registration.

mod support;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use support::{Browser, Page, TestApp};

const PASSWORD: &str = "a long enough password";

/// The app on a SQLite file (as the probe ran it: writes cost what they cost in production),
/// with each test browser's `X-Forwarded-For` taken as its address so that per-client rate
/// limits do not get in the way of sampling.
async fn app_on_sqlite(extra: &[(&str, &str)]) -> (TestApp, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("app.db").display());
    let mut pairs = vec![("DATABASE_URL", url.as_str()), ("TRUST_PROXY", "true")];
    pairs.extend_from_slice(extra);
    (TestApp::with(&pairs).await, data)
}

/// A browser with an address of its own.
fn browser(app: &TestApp, address: &str) -> Browser {
    let mut browser = app.browser();
    browser.forwarded_for = Some(address.to_owned());
    browser
}

/// A page as it would look for any address and session: the address and the session's CSRF
/// token replaced by placeholders; with its status and where it redirects.
fn comparable(page: &Page, email: &str, browser: &Browser) -> (StatusCode, String) {
    let mut body = page.body.replace(email, "EMAIL");
    if let Some(token) = &browser.csrf {
        body = body.replace(token.as_str(), "TOKEN");
    }
    (page.status, format!("{}\n{body}", page.location()))
}

/// The time below which a fraction `q` of the samples fall.
fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at]
}

/// The times of one kind of request.
struct Timings(Vec<Duration>);

impl Timings {
    fn median(&self) -> Duration {
        quantile(&self.0, 0.5)
    }
    /// The lower quartile: where requests that nothing else on the machine slowed down lie
    /// (interference only ever adds time, and on a shared machine it slows many samples).
    fn typical(&self) -> Duration {
        quantile(&self.0, 0.25)
    }
}

/// Held by each timing test from start to end: the tests of a binary run in parallel, and
/// another test's work would be noise in the samples.
async fn timing_turn() -> tokio::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    ONE_AT_A_TIME.lock().await
}

/// One timed request: a browser ready to post `fields` to `action` about `email`.
struct Sample {
    browser: Browser,
    action: &'static str,
    email: String,
    fields: Vec<(&'static str, String)>,
}

impl Sample {
    async fn post(&mut self) -> (Duration, Page) {
        let fields: Vec<(&str, &str)> = self.fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let started = Instant::now();
        let page = self.browser.post(self.action, &fields).await;
        (started.elapsed(), page)
    }
}

/// Posts each pair of samples (one about an address with an account, one about an address
/// without), alternating which goes first; returns the times of each kind and every answer,
/// comparable (see [`comparable`]).
async fn time_pairs(pairs: Vec<(Sample, Sample)>) -> (Timings, Timings, Vec<(StatusCode, String)>) {
    let mut times = (Vec::new(), Vec::new());
    let mut answers = Vec::new();
    for (i, (mut known, mut unknown)) in pairs.into_iter().enumerate() {
        for is_known in [i % 2 == 0, i % 2 == 1] {
            let sample = if is_known { &mut known } else { &mut unknown };
            let (took, page) = sample.post().await;
            if is_known {
                times.0.push(took);
            } else {
                times.1.push(took);
            }
            answers.push(comparable(&page, &sample.email, &sample.browser));
            // Let work done after the answer (it starts 50 ms later) finish, so that it does not
            // slow the next sample.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    (Timings(times.0), Timings(times.1), answers)
}

/// The two kinds take as long, within noise. Work done inside the request for one kind only (a
/// token and an email stored: over a millisecond on SQLite, so every sample of that kind is
/// slower) moves both the median and the lower quartile; noise from the rest of a busy machine
/// moves the median of either kind, rarely the lower quartile. So: medians within half of the
/// slower one plus a millisecond (generous), lower quartiles within a tenth plus 0.3 ms (tight).
fn within_noise(known: &Timings, unknown: &Timings, what: &str) -> Result<(), String> {
    eprintln!(
        "{what}: median {:?} for known addresses, {:?} for unknown ones; lower quartile {:?} and {:?}",
        known.median(),
        unknown.median(),
        known.typical(),
        unknown.typical()
    );
    let close = |a: Duration, b: Duration, share: u32, margin_us: u64| {
        a.abs_diff(b) <= a.max(b) / share + Duration::from_micros(margin_us)
    };
    if !close(known.median(), unknown.median(), 2, 1000) {
        return Err(format!(
            "{what}: median {:?} for known addresses, {:?} for unknown ones",
            known.median(),
            unknown.median()
        ));
    }
    if !close(known.typical(), unknown.typical(), 10, 300) {
        return Err(format!(
            "{what}: lower quartile {:?} for known addresses, {:?} for unknown ones",
            known.typical(),
            unknown.typical()
        ));
    }
    Ok(())
}

/// How many times a timing comparison is measured, each time on a fresh app, before a difference
/// counts: a burst of load from elsewhere on a shared machine can tip one round either way, but
/// work done for one kind of address only shows in every round.
const ROUNDS: usize = 3;

/// Records a round whose timings differed, and fails once every round has.
fn another_round(failures: &mut Vec<String>, failure: String) {
    failures.push(failure);
    assert!(
        failures.len() < ROUNDS,
        "the two kinds differ in every one of {ROUNDS} rounds:\n{}",
        failures.join("\n")
    );
}

fn assert_all_the_same(answers: &[(StatusCode, String)]) {
    for answer in answers {
        assert_eq!(answer, &answers[0], "the same answer for every address");
    }
}

const SAMPLES: usize = 20;

/// Registers `count` accounts `{prefix}{i}@example.com`, each from its own address.
async fn members(app: &TestApp, prefix: &str, count: usize) -> Vec<String> {
    let mut emails = Vec::new();
    for i in 0..count {
        let email = format!("{prefix}{i}@example.com");
        browser(app, &format!("203.0.{}.{i}", prefix.len()))
            .register(&email, PASSWORD)
            .await;
        emails.push(email);
    }
    emails
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_answers_the_same_as_fast_for_known_and_unknown_addresses() {
    let _turn = timing_turn().await;
    let mut failures = Vec::new();
    let (app, _data) = loop {
        let (app, data) = app_on_sqlite(&[]).await;
        let known = members(&app, "member", SAMPLES).await;
        let mut pairs = Vec::new();
        for (i, email) in known.iter().enumerate() {
            let sample = |email: String, address: String| {
                let browser = browser(&app, &address);
                Sample {
                    browser,
                    action: "/password/forgot",
                    fields: vec![("email", email.clone())],
                    email,
                }
            };
            let pair = (
                sample(email.clone(), format!("198.51.{i}.1")),
                sample(format!("stranger{i}@example.com"), format!("198.51.{i}.2")),
            );
            pairs.push(pair);
        }
        for (known, unknown) in &mut pairs {
            known.browser.get("/password/forgot").await;
            unknown.browser.get("/password/forgot").await;
        }
        let (known_times, unknown_times, answers) = time_pairs(pairs).await;
        assert_all_the_same(&answers);
        assert_eq!(answers[0].0, StatusCode::OK);
        match within_noise(&known_times, &unknown_times, "a password reset") {
            Ok(()) => break (app, data),
            Err(failure) => another_round(&mut failures, failure),
        }
    };
    // The work still happens, after the answer.
    app.link_to("member0@example.com", "/password/reset?token=")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_change_answers_the_same_as_fast_for_taken_and_free_addresses() {
    let _turn = timing_turn().await;
    let mut failures = Vec::new();
    let (app, _data, movers) = loop {
        let (app, data) = app_on_sqlite(&[]).await;
        let taken = members(&app, "owner", SAMPLES).await;
        let movers = members(&app, "mover", 2 * SAMPLES).await;
        let mut pairs = Vec::new();
        for (i, taken) in taken.iter().enumerate() {
            let mut signed_in = Vec::new();
            for (who, email) in [(1, &movers[2 * i]), (2, &movers[2 * i + 1])] {
                let mut browser = browser(&app, &format!("198.51.{i}.{who}"));
                browser.login(email, PASSWORD).await;
                browser.get("/settings").await;
                signed_in.push(browser);
            }
            let sample = |browser: Browser, email: String| Sample {
                browser,
                action: "/settings/email",
                fields: vec![
                    ("new_email", email.clone()),
                    ("current_password", PASSWORD.to_owned()),
                ],
                email,
            };
            let free = signed_in.pop().unwrap();
            let in_use = signed_in.pop().unwrap();
            pairs.push((
                sample(in_use, taken.clone()),
                sample(free, format!("fresh{i}@example.com")),
            ));
        }
        let (known_times, unknown_times, answers) = time_pairs(pairs).await;
        assert_all_the_same(&answers);
        assert_eq!(answers[0].0, StatusCode::SEE_OTHER);
        match within_noise(&known_times, &unknown_times, "an email change") {
            Ok(()) => break (app, data, movers),
            Err(failure) => another_round(&mut failures, failure),
        }
    };

    // What the mover reads next is the same too.
    let mut flashes = Vec::new();
    for (mover, target) in [
        (&movers[0], "owner0@example.com"),
        (&movers[1], "elsewhere@example.com"),
    ] {
        let mut browser = browser(&app, "192.0.2.1");
        browser.login(mover, PASSWORD).await;
        browser.get("/settings").await;
        browser
            .post(
                "/settings/email",
                &[("new_email", target), ("current_password", PASSWORD)],
            )
            .await;
        let page = browser.get("/settings").await;
        assert_eq!(page.status, StatusCode::OK);
        let flash = page
            .body
            .split("role=\"status\"")
            .nth(1)
            .and_then(|rest| rest.split("</div>").next())
            .unwrap_or_default()
            .replace(target, "EMAIL");
        flashes.push(flash);
    }
    assert!(
        flashes[0].contains("We sent a message to EMAIL"),
        "{}",
        flashes[0]
    );
    assert_eq!(flashes[0], flashes[1]);
    // The owner of the taken address is told, with a way in; the free address gets its link.
    let notice = app
        .mail_matching(|m| {
            m.to == "owner0@example.com"
                && m.subject == "Someone tried to move another account to your email address"
        })
        .await;
    assert!(
        notice.text.contains("/password/reset?token="),
        "{}",
        notice.text
    );
    app.link_to("fresh0@example.com", "/settings/email/confirm?token=")
        .await;
}

/// Posts the registration form with `email` and `password` from a fresh browser.
async fn register_from(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
) -> (Page, Browser) {
    let mut visitor = browser(app, address);
    visitor.get("/register").await;
    let page = visitor
        .post(
            "/register",
            &[
                ("email", email),
                ("display_name", ""),
                ("password", password),
                ("password_confirmation", password),
            ],
        )
        .await;
    (page, visitor)
}

const REQUIRED: &[(&str, &str)] = &[("REQUIRE_EMAIL_VERIFICATION", "true")];

#[tokio::test]
async fn with_verification_required_registration_answers_the_same_for_new_and_taken_emails() {
    let app = TestApp::with(&[REQUIRED, &[("TRUST_PROXY", "true")]].concat()).await;
    let (new, mut ada) = register_from(&app, "198.51.100.1", "ada@example.com", PASSWORD).await;
    let (taken, intruder) = register_from(
        &app,
        "198.51.100.2",
        "ADA@example.com",
        "the intruder's password",
    )
    .await;
    assert_eq!(new.status, StatusCode::SEE_OTHER, "{}", new.body);
    assert_eq!(new.location(), "/register/check-email");
    assert_eq!(
        comparable(&new, "ada@example.com", &ada),
        comparable(&taken, "ADA@example.com", &intruder),
        "the same status, redirect and body"
    );
    assert_eq!(new.headers.get("set-cookie"), None, "no session change");
    assert_eq!(taken.headers.get("set-cookie"), None, "no session change");
    let check = ada.get(new.location()).await;
    assert!(check.contains("Check your email"), "{}", check.body);
    assert_eq!(
        ada.get("/dashboard").await.status,
        StatusCode::SEE_OTHER,
        "not signed in before the address is confirmed"
    );
    assert_eq!(
        app.state.users().counts().await.unwrap().total,
        2,
        "ada and the admin"
    );

    // The owner hears of the attempt, with a way in; the new account gets its link.
    let notice = app
        .mail_matching(|m| m.subject == "Someone tried to register with your email address")
        .await;
    assert_eq!(notice.to, "ada@example.com");
    assert!(
        notice.text.contains("http://127.0.0.1:8000/login"),
        "{}",
        notice.text
    );
    assert!(
        notice.text.contains("/password/reset?token="),
        "{}",
        notice.text
    );
    let link = app.link_to("ada@example.com", "/verify?token=").await;

    // Signing in before confirming is refused like a wrong password: otherwise whoever registered
    // could tell a new account (their password works) from a taken email (it does not).
    let mut early = browser(&app, "198.51.100.3");
    let unconfirmed = early.login("ada@example.com", PASSWORD).await;
    let mut stranger = browser(&app, "198.51.100.4");
    let unknown = stranger.login("nobody@example.com", PASSWORD).await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        comparable(&unconfirmed, "ada@example.com", &early),
        comparable(&unknown, "nobody@example.com", &stranger)
    );
    assert!(
        unconfirmed.contains("follow the link we emailed"),
        "{}",
        unconfirmed.body
    );
    // With the right password, a fresh link is sent (the welcome email's link is revoked).
    let fresh = loop {
        let fresh = app.link_to("ada@example.com", "/verify?token=").await;
        if fresh != link {
            break fresh;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };

    let confirmed = ada.get(&fresh).await;
    assert_eq!(confirmed.location(), "/login");
    assert!(ada.get("/login").await.contains("You can sign in now"));
    assert_eq!(
        ada.login("ada@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        ada.get("/dashboard").await.balance().as_deref(),
        Some("100 credits available")
    );
    let mut intruder = browser(&app, "198.51.100.5");
    assert_eq!(
        intruder
            .login("ada@example.com", "the intruder's password")
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The admin, made by the operator, signs in unconfirmed.
    assert_eq!(
        browser(&app, "198.51.100.6")
            .login("admin@example.com", "admin-password-1")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_verification_required_registration_takes_as_long_for_new_and_taken_emails() {
    let _turn = timing_turn().await;
    let mut failures = Vec::new();
    let (app, _data) = loop {
        let (app, data) = app_on_sqlite(REQUIRED).await;
        let taken = members(&app, "member", SAMPLES).await;
        let mut pairs = Vec::new();
        for (i, email) in taken.iter().enumerate() {
            let sample = |email: String, address: String| Sample {
                browser: browser(&app, &address),
                action: "/register",
                fields: vec![
                    ("email", email.clone()),
                    ("display_name", String::new()),
                    ("password", PASSWORD.to_owned()),
                    ("password_confirmation", PASSWORD.to_owned()),
                ],
                email,
            };
            let mut pair = (
                sample(email.clone(), format!("198.51.{i}.1")),
                sample(format!("newcomer{i}@example.com"), format!("198.51.{i}.2")),
            );
            pair.0.browser.get("/register").await;
            pair.1.browser.get("/register").await;
            pairs.push(pair);
        }
        let (taken_times, new_times, answers) = time_pairs(pairs).await;
        assert_all_the_same(&answers);
        assert_eq!(answers[0].0, StatusCode::SEE_OTHER);
        match within_noise(&taken_times, &new_times, "a registration") {
            Ok(()) => break (app, data),
            Err(failure) => another_round(&mut failures, failure),
        }
    };
    app.link_to("newcomer0@example.com", "/verify?token=").await;
}

#[tokio::test]
async fn registration_that_reveals_taken_emails_is_a_choice() {
    // Optional verification (the default): a new account is signed in at once, so a taken
    // email is necessarily told apart; the same with the revealing setting on.
    for extra in [
        &[][..],
        &[
            ("REQUIRE_EMAIL_VERIFICATION", "true"),
            ("REGISTRATION_REVEALS_EXISTING_EMAILS", "true"),
        ][..],
    ] {
        let app = TestApp::with(&[extra, &[("TRUST_PROXY", "true")]].concat()).await;
        let (new, mut ada) = register_from(&app, "198.51.100.1", "ada@example.com", PASSWORD).await;
        assert_eq!(new.location(), "/dashboard", "{extra:?}");
        assert_eq!(ada.get("/dashboard").await.status, StatusCode::OK);
        let (taken, _) = register_from(&app, "198.51.100.2", "ada@example.com", PASSWORD).await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY, "{extra:?}");
        assert!(taken.contains("If it is yours, sign in instead"));
    }
}
