//! Running a generated project in production: `check --production` and `serve` with
//! `APP_ENV=production` refuse unsafe settings, naming each; `backup` copies the SQLite database
//! while paid runs are being made, `restore` puts it back (never over a database in use) and the
//! restored app starts with a ledger that `verify-ledger` accepts.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{
    Generated, HttpBrowser as Browser, PASSWORD, free_port, quickscale_building, spawn, text,
    wait_for_ok,
};

/// The project these tests run, generated and built once.
fn project() -> &'static Generated {
    crate::support::project("ops-app")
}

/// A generated key: what `quickscale init` writes and production accepts.
const GOOD_KEY: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// The project's binary with `args`, only `env` configuring it (besides the project's `.env`,
/// whose SECRET_KEY `env` overrides).
fn app(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(&project().binary)
        .args(args)
        .current_dir(&project().dir)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn said(output: &Output) -> String {
    text(&output.stdout) + &text(&output.stderr)
}

/// A safe production configuration on a migrated SQLite file in `dir`, with `changes` on top
/// (an empty value removes a key).
fn production<'a>(dir: &Path, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, String)> {
    let mut env: Vec<(&str, String)> = [
        ("APP_ENV", "production"),
        ("SECRET_KEY", GOOD_KEY),
        ("BASE_URL", "https://app.example.com"),
        ("TRUST_PROXY", "true"),
        ("MAILER", "smtp"),
        ("SMTP_HOST", "smtp.example.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    env.push((
        "DATABASE_URL",
        format!("sqlite://{}", dir.join("prod.db").display()),
    ));
    env.push(("PORT", free_port().to_string()));
    for &(key, value) in changes {
        env.retain(|&(k, _)| k != key);
        if !value.is_empty() {
            env.push((key, value.to_owned()));
        }
    }
    env
}

fn pairs<'a>(env: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn production_refuses_unsafe_settings_naming_each() {
    let data = tempfile::tempdir().unwrap();
    let safe = production(data.path(), &[]);
    let migrated = app(&["migrate"], &pairs(&safe));
    assert!(migrated.status.success(), "{}", said(&migrated));

    // A safe configuration passes, and says that cookies are Secure and HSTS is on.
    let checked = app(&["check"], &pairs(&safe));
    let out = said(&checked);
    assert!(checked.status.success(), "{out}");
    assert!(
        out.contains("✓ no setting is unsafe in production"),
        "{out}"
    );
    assert!(
        out.contains("cookies are Secure and Strict-Transport-Security is sent"),
        "{out}"
    );

    // Everything a developer's machine allows, in production: each setting is named.
    let unsafe_env = production(
        data.path(),
        &[
            ("BASE_URL", "http://127.0.0.1:8000"),
            ("SECRET_KEY", "change-me-change-me-change-me-1234567890"),
            ("MAILER", "dev"),
            ("SMTP_HOST", ""),
            ("ENABLE_STRIPE", "true"),
            ("TRUST_PROXY", ""),
        ],
    );
    let checked = app(&["check"], &pairs(&unsafe_env));
    let out = said(&checked);
    assert!(!checked.status.success(), "{out}");
    for named in [
        "✗ BASE_URL: http://127.0.0.1:8000 is not https://",
        "✗ SECRET_KEY: is a development key",
        "✗ MAILER: is dev",
        "✗ STRIPE_SECRET_KEY: is unset with ENABLE_STRIPE=true",
        "✗ /dev/outbox: is served",
        "5 setting(s) unsafe in production",
    ] {
        assert!(out.contains(named), "{named} in:\n{out}");
    }
    // Behind a TLS proxy, the proxy decision must be made.
    let undecided = production(data.path(), &[("TRUST_PROXY", "")]);
    let checked = app(&["check"], &pairs(&undecided));
    let out = said(&checked);
    assert!(!checked.status.success(), "{out}");
    assert!(out.contains("✗ TRUST_PROXY: is not set"), "{out}");

    // `check --production` asks for the same without APP_ENV, through `quickscale check`.
    let development = production(data.path(), &[("APP_ENV", ""), ("MAILER", "dev")]);
    let plain = quickscale_building(&project().dir)
        .arg("check")
        .envs(pairs(&development))
        .output()
        .unwrap();
    assert!(plain.status.success(), "{}", said(&plain));
    let strict = quickscale_building(&project().dir)
        .args(["check", "--production"])
        .envs(pairs(&development))
        .output()
        .unwrap();
    let out = said(&strict);
    assert!(!strict.status.success(), "{out}");
    assert!(out.contains("✗ MAILER: is dev"), "{out}");

    // `serve` in production exits non-zero with the message instead of serving.
    let log = data.path().join("serve.log");
    let mut command = Command::new(&project().binary);
    command
        .arg("serve")
        .current_dir(&project().dir)
        .envs(pairs(&unsafe_env));
    let mut serving = spawn(command, log);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = serving.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "serve did not refuse:\n{}",
            serving.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = serving.log();
    assert!(!status.success(), "{out}");
    for named in [
        "BASE_URL",
        "SECRET_KEY",
        "MAILER",
        "STRIPE_SECRET_KEY",
        "/dev/outbox",
    ] {
        assert!(
            out.contains(&format!("  - {named}: ")),
            "{named} in:\n{out}"
        );
    }
}

/// Registers a user and runs the project's paid service until `stop`, counting the runs.
async fn paid_runs(port: u16, runs: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    let mut user = Browser::new(port);
    user.get("/register").await;
    let registered = user
        .post(
            "/register",
            &[
                ("email", "load@example.com"),
                ("display_name", "Load"),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    // Paced, and bounded by the welcome credits (100, one a run).
    while !stop.load(Ordering::SeqCst) && runs.load(Ordering::SeqCst) < 90 {
        let page = user.get("/services/title_case").await;
        let run_key = page.input("run_key");
        let result = user
            .post(
                "/services/title_case",
                &[
                    ("input", "the fellowship of the ring"),
                    ("run_key", &run_key),
                ],
            )
            .await;
        assert_eq!(result.status, 200, "{}", result.body);
        assert!(result.has("The Fellowship of the Ring"), "{}", result.body);
        runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_under_load_restores_and_its_ledger_verifies() {
    let project = project();
    let data = tempfile::tempdir().unwrap();
    let live = data.path().join("live.db");
    let live_url = format!("sqlite://{}", live.display());
    let port = free_port();
    let mut running = project.serve(port, &live_url, &[], data.path().join("live.log"));
    wait_for_ok(
        &mut running,
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(60),
    )
    .await;

    // Paid runs from a second task while the backup is taken.
    let runs = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(paid_runs(port, runs.clone(), stop.clone()));
    wait_until("the first paid runs", || runs.load(Ordering::SeqCst) >= 3).await;
    let backup = data.path().join("backup.db");
    let before = runs.load(Ordering::SeqCst);
    let output = tokio::task::spawn_blocking({
        let backup = backup.to_str().unwrap().to_owned();
        let live_url = live_url.clone();
        move || {
            app(
                &["backup", backup.as_str()],
                &[("DATABASE_URL", live_url.as_str())],
            )
        }
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", said(&output));
    assert!(said(&output).contains("one consistent snapshot"));
    wait_until("runs after the backup", || {
        runs.load(Ordering::SeqCst) >= before + 3
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    let made = runs.load(Ordering::SeqCst);

    // A second backup never overwrites the first (`quickscale backup` runs the app's command).
    let again = quickscale_building(&project.dir)
        .arg("backup")
        .arg(&backup)
        .env("DATABASE_URL", &live_url)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(said(&again).contains("exists already"), "{}", said(&again));

    // Restoring over the database the app has open is refused, forced or not.
    for args in [vec!["restore"], vec!["restore", "--force"]] {
        let mut args = args;
        args.push(backup.to_str().unwrap());
        let refused = app(&args, &[("DATABASE_URL", live_url.as_str())]);
        assert!(!refused.status.success());
        assert!(
            said(&refused).contains("is open in another process"),
            "{}",
            said(&refused)
        );
    }
    assert_eq!(running.stop("TERM"), Some(0));
    // Stopped, it is still replaced only with --force.
    let refused = app(
        &["restore", backup.to_str().unwrap()],
        &[("DATABASE_URL", live_url.as_str())],
    );
    assert!(
        said(&refused).contains("only with --force"),
        "{}",
        said(&refused)
    );

    // Into a new file: the app starts on it, the user is there with a balance the runs explain,
    // and the ledger verifies.
    let restored = data.path().join("restored/app.db");
    let restored_url = format!("sqlite://{}", restored.display());
    let output = app(
        &["restore", backup.to_str().unwrap()],
        &[("DATABASE_URL", restored_url.as_str())],
    );
    assert!(output.status.success(), "{}", said(&output));
    let port = free_port();
    let mut running = project.serve(port, &restored_url, &[], data.path().join("restored.log"));
    wait_for_ok(
        &mut running,
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(60),
    )
    .await;
    let mut user = Browser::new(port);
    user.sign_in("load@example.com", PASSWORD).await;
    let balance: usize = user.get("/dashboard").await.balance().parse().unwrap();
    let in_backup = 100 - balance;
    assert!(
        (before..=made).contains(&in_backup),
        "the backup holds {in_backup} runs; {before} were made before it started, {made} in all"
    );
    assert_eq!(running.stop("TERM"), Some(0));
    let verified = app(
        &["verify-ledger"],
        &[("DATABASE_URL", restored_url.as_str())],
    );
    assert!(verified.status.success(), "{}", said(&verified));
    assert!(
        said(&verified).contains("the ledger balances"),
        "{}",
        said(&verified)
    );

    // PostgreSQL: the commands point to pg_dump and pg_restore.
    let postgres = app(
        &["backup", data.path().join("pg.dump").to_str().unwrap()],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );
    assert!(!postgres.status.success());
    assert!(
        said(&postgres).contains("pg_dump --format=custom"),
        "{}",
        said(&postgres)
    );
}
