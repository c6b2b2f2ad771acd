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

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
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
/// without), alternating which goes first; returns the median time of each kind and every
/// answer, comparable (see [`comparable`]).
async fn medians(pairs: Vec<(Sample, Sample)>) -> (Duration, Duration, Vec<(StatusCode, String)>) {
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
    (median(times.0), median(times.1), answers)
}

/// The medians differ by no more than noise: a tenth of the slower one plus 0.3 ms. Work done
/// inside the request for one kind of address only (a token and an email stored: over a
/// millisecond on SQLite) is well beyond that.
fn assert_within_noise(known: Duration, unknown: Duration, what: &str) {
    let slower = known.max(unknown);
    let gap = known.abs_diff(unknown);
    eprintln!("{what}: median {known:?} for known addresses, {unknown:?} for unknown ones");
    assert!(
        gap <= slower / 10 + Duration::from_micros(300),
        "{what} takes {known:?} for known addresses and {unknown:?} for unknown ones"
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
    let (app, _data) = app_on_sqlite(&[]).await;
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
    let (known_median, unknown_median, answers) = medians(pairs).await;
    assert_all_the_same(&answers);
    assert_eq!(answers[0].0, StatusCode::OK);
    assert_within_noise(known_median, unknown_median, "a password reset");
    // The work still happens, after the answer.
    app.link_to("member0@example.com", "/password/reset?token=")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_change_answers_the_same_as_fast_for_taken_and_free_addresses() {
    let (app, _data) = app_on_sqlite(&[]).await;
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
    let (known_median, unknown_median, answers) = medians(pairs).await;
    assert_all_the_same(&answers);
    assert_eq!(answers[0].0, StatusCode::SEE_OTHER);
    assert_within_noise(known_median, unknown_median, "an email change");

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
