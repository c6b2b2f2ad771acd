//! Runs that take a while, in a real browser, with the generated project's example background
//! service (`paragraph_digest`: a second a paragraph, half a credit a paragraph, five held):
//!
//! - one worker (`WORKER_CONCURRENCY=1`) is busy with a long run, so a second run's page shows
//!   it queued; the long run is cancelled with its Cancel button (its hold released); the
//!   second then runs, its page (HTMX polling) showing its progress advance, and ends with its
//!   result, charged by the paragraph, the rest of its hold returned and the navbar's balance
//!   following without a reload;
//! - with JavaScript off, the run's page refreshes itself (a `<noscript>` meta refresh) from
//!   queued or running to its end.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Stage, console_is_clean, register};
use crate::support::webdriver::{self, Session};

const SERVICE: &str = "/services/paragraph_digest";

/// `count` paragraphs of nine words each, the first sentence of each naming it.
fn paragraphs(count: usize) -> String {
    (1..=count)
        .map(|n| format!("Paragraph {n} begins here. It has a second sentence."))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Submits `text` on the service's page and returns the id of the run its page shows.
async fn submit(s: &mut Session, app: &crate::support::App, text: &str, shot: &str) -> String {
    s.goto(&app.url(SERVICE)).await;
    s.fill("#input", text).await;
    s.screenshot(shot).await;
    s.click(&format!("form[action='{SERVICE}'] button[type=submit]"))
        .await;
    let url = s.wait_path("/runs/").await;
    url.rsplit('/').next().unwrap().to_owned()
}

/// The run page's status and progress line, read in one go (the status box is replaced every
/// second).
async fn status(s: &Session) -> (String, String) {
    let script = "const box = document.getElementById('run-status'); \
                  if (!box) { return ['', '']; } \
                  const line = box.querySelector('[data-testid=run-progress-text]'); \
                  return [box.dataset.status, line ? line.textContent.trim() : ''];";
    let value = s.execute(script, json!([])).await;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (text(&value[0]), text(&value[1]))
}

/// Waits until the run page's status box says `expected`.
async fn wait_status(s: &Session, expected: &str) {
    let started = Instant::now();
    loop {
        let (now, _) = status(s).await;
        if now == expected {
            return;
        }
        if started.elapsed() > webdriver::WAIT {
            s.fail(&format!("the run is {now:?}, not {expected:?}"))
                .await;
        }
        tokio::time::sleep(webdriver::POLL).await;
    }
}

#[tokio::test]
async fn a_background_run_shows_its_progress_settles_and_can_be_cancelled() {
    // One worker: while it is busy with the long run, the next run stays queued.
    let Some(stage) = Stage::new("background-run", &[("WORKER_CONCURRENCY", "1")]).await else {
        return;
    };
    let app = &stage.app;
    let mut s = stage.desktop("user").await;
    register(&mut s, app, "patient@example.com", "Pat", false).await;

    // The service says a run goes on after the request, and what it holds.
    s.goto(&app.url(SERVICE)).await;
    s.wait_text("[data-testid=background-note]", "5 credits are held")
        .await;
    s.wait_text(
        &format!("form[action='{SERVICE}'] button[type=submit]"),
        "Run for up to 5 credits",
    )
    .await;

    // A long run (ten paragraphs, ten seconds): its page shows it running, with its progress
    // and what it holds.
    let long = submit(&mut s, app, &paragraphs(10), "long-run-form").await;
    wait_status(&s, "running").await;
    s.wait_text("[data-testid=run-progress-text]", "of 10")
        .await;
    s.wait_text("[data-testid=run-held]", "5 credits held")
        .await;
    s.screenshot("long-run-running").await;

    // A second run waits for the one worker.
    let second = submit(&mut s, app, &paragraphs(5), "second-run-form").await;
    assert_ne!(second, long);
    wait_status(&s, "queued").await;
    s.wait_text("[data-testid=run-status]", "Waiting for a worker")
        .await;
    s.screenshot("second-run-queued").await;

    // Both holds are out of the spendable balance, and shown apart.
    s.goto(&app.url("/dashboard")).await;
    s.wait_text("[data-testid=balance]", "90 credits available")
        .await;
    s.wait_text("[data-testid=balance-held]", "10 credits held")
        .await;
    s.screenshot("dashboard-two-runs-held").await;

    // The long run is cancelled with its button: its hold comes back in full.
    s.goto(&app.url(&format!("/runs/{long}"))).await;
    wait_status(&s, "running").await;
    s.click_live("[data-testid=cancel-run]").await;
    s.wait_path(&format!("/runs/{long}")).await;
    wait_status(&s, "cancelled").await;
    s.wait_text(
        "[data-testid=run-cancelled]",
        "the hold (5 credits) was released",
    )
    .await;
    s.wait_text("[data-testid=balance-after]", "95 credits")
        .await;
    s.wait_text("#nav-balance", "95").await;
    assert!(
        s.try_find("[data-testid=cancel-run]").await.is_none(),
        "no Cancel button on a cancelled run"
    );
    s.screenshot("long-run-cancelled").await;

    // The second run now gets the worker: its page follows it from queued (seen above) to
    // running, with its progress advancing, to its result, without a reload.
    s.goto(&app.url(&format!("/runs/{second}"))).await;
    s.execute("window.qsMark = 'no reload'; return true;", json!([]))
        .await;
    let started = Instant::now();
    let mut progress: Vec<String> = Vec::new();
    let mut statuses: Vec<String> = Vec::new();
    let mut shot = false;
    loop {
        let (now, line) = status(&s).await;
        if statuses.last() != Some(&now) {
            statuses.push(now.clone());
        }
        if now == "running" && !line.is_empty() && progress.last() != Some(&line) {
            progress.push(line);
            if progress.len() == 2 && !shot {
                s.screenshot("second-run-progress").await;
                shot = true;
            }
        }
        if now == "succeeded" {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            s.fail(&format!(
                "the second run did not end: statuses {statuses:?}, progress {progress:?}"
            ))
            .await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        statuses
            .iter()
            .all(|st| ["queued", "running", "succeeded"].contains(&st.as_str())),
        "{statuses:?}"
    );
    assert!(
        progress.len() >= 2,
        "at least two different progress values shown: {progress:?}"
    );
    assert!(
        progress.iter().all(|p| p.contains("% · reading paragraph")),
        "{progress:?}"
    );
    let mark = s.execute("return window.qsMark || null;", json!([])).await;
    assert_eq!(mark, "no reload", "HTMX followed the run in the page");

    // Its result, charged by the paragraph (2.50 of the 5 held), the rest back; the navbar's
    // balance follows.
    s.wait_text("[data-testid=result-summary]", "5 paragraphs, 45 words")
        .await;
    s.wait_text("[data-testid=result]", "Paragraph 5 begins here.")
        .await;
    s.wait_text("[data-testid=result]", "Charged 2.50 credits")
        .await;
    s.wait_text("[data-testid=result]", "2.50 credits of the hold returned")
        .await;
    s.wait_text("[data-testid=balance-after]", "97.50 credits")
        .await;
    s.wait_text("#nav-balance", "97.50").await;
    s.screenshot("second-run-succeeded").await;
    s.goto(&app.url("/dashboard")).await;
    s.wait_text("[data-testid=balance]", "97.50 credits available")
        .await;
    assert!(
        s.try_find("[data-testid=balance-held]").await.is_none(),
        "nothing held any more"
    );
    s.screenshot("dashboard-after").await;
    console_is_clean(&s).await;
    s.close().await;
    stage.done();
}

#[tokio::test]
async fn a_background_runs_page_refreshes_itself_without_javascript() {
    let Some(stage) = Stage::new("background-run-no-javascript", &[]).await else {
        return;
    };
    let app = &stage.app;
    let mut s = stage.without_javascript("user").await;
    register(&mut s, app, "plain-runner@example.com", "Plain", false).await;
    let id = submit(&mut s, app, &paragraphs(4), "form").await;

    // Nothing is clicked from here on: only the page's own refresh can show the end.
    let data_status = |source: &str| {
        let at = source.find("data-status=\"").map(|at| at + 13)?;
        Some(source[at..at + source[at..].find('"')?].to_owned())
    };
    let started = Instant::now();
    let mut statuses: Vec<String> = Vec::new();
    let mut progress_seen = false;
    loop {
        let source = s.source().await;
        let now = data_status(&source).unwrap_or_default();
        if statuses.last() != Some(&now) {
            statuses.push(now.clone());
            s.screenshot(&format!("run-{now}")).await;
        }
        progress_seen |= source.contains("reading paragraph");
        if now == "succeeded" {
            assert!(
                !source.contains("http-equiv=\"refresh\""),
                "a finished run's page stops refreshing"
            );
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            s.fail(&format!("the page never showed the end: {statuses:?}"))
                .await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        ["queued", "running"].contains(&statuses[0].as_str()),
        "the page first showed the run under way: {statuses:?}"
    );
    assert!(progress_seen, "a refresh showed the run's progress");
    s.wait_path(&format!("/runs/{id}")).await;
    s.wait_text("[data-testid=result-summary]", "4 paragraphs, 36 words")
        .await;
    s.wait_text(
        "[data-testid=result]",
        "Charged 2 credits; 3 credits of the hold returned",
    )
    .await;
    s.wait_text("[data-testid=balance-after]", "98 credits")
        .await;
    // A whole page: the navbar's balance is the new one.
    s.wait_text("#nav-balance", "98").await;
    console_is_clean(&s).await;
    s.close().await;
    stage.done();
}
