//! The generator test: `quickscale init` a project, build it, run its own tests, start its real
//! binary and click through the five-minute journey over HTTP like a browser, on SQLite and on
//! PostgreSQL; then `quickscale up`, `migrate`, `create-admin` and `check` on it.
//!
//! The project is built once per run, in the workspace's `target/` (so it reuses the compiled
//! dependencies), under `target/tmp/quickscale-cli-tests/`.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Generated, HttpBrowser as Browser, PASSWORD, Running, cargo,
    free_port, measure, quickscale, quickscale_building, rss_kib, scratch, spawn, target_dir, text,
    wait_for_ok,
};

/// The project, generated and built once for all the tests of this subject, with its own tests
/// run once too.
fn project() -> &'static Generated {
    static TESTED: OnceLock<()> = OnceLock::new();
    let project = crate::support::project("journey-app");
    TESTED.get_or_init(|| {
        let tests = cargo(&project.dir, &["test"]);
        let report = text(&tests.stdout);
        for test in [
            "runs_as_a_service_next_to_the_built_ins ... ok",
            "serves_the_home_page_and_the_health_check ... ok",
        ] {
            assert!(report.contains(test), "{test} in:\n{report}");
        }
    });
    project
}

/// Starts the generated app on `port` with `database_url`, logging to `data_dir`.
fn start_app(port: u16, database_url: &str, data_dir: &Path) -> Running {
    project().serve(port, database_url, &[], data_dir.join("app.log"))
}

/// The five-minute journey against a running app.
async fn journey(port: u16) {
    let email = "ada@example.com";
    let mut ada = Browser::new(port);
    let home = ada.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.has("Journey App"), "{}", home.body);

    ada.get("/register").await;
    assert!(!ada.csrf.is_empty(), "the form carries a CSRF token");
    let registered = ada
        .post(
            "/register",
            &[
                ("email", email),
                ("display_name", "Ada"),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    assert_eq!(registered.location, "/dashboard");
    let dashboard = ada.get("/dashboard").await;
    assert_eq!(dashboard.balance(), "100");

    let service = ada.get("/services/text_sentiment_analysis").await;
    assert_eq!(service.status, 200);
    let run_key = service.input("run_key");
    let result = ada
        .post(
            "/services/text_sentiment_analysis",
            &[("input", "I love this product"), ("run_key", &run_key)],
        )
        .await;
    assert_eq!(result.status, 200, "{}", result.body);
    assert!(result.has("Positive"), "{}", result.body);
    assert!(result.has("99</span> credits remaining"), "{}", result.body);

    let mut admin = Browser::new(port);
    admin.get("/login").await;
    let signed_in = admin
        .post(
            "/login",
            &[
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("next", "/dashboard"),
            ],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let users = admin.get(&format!("/admin/users?q={email}")).await;
    assert_eq!(users.status, 200, "{}", users.body);
    let link = "href=\"/admin/users/";
    let at = users.body.find(link).expect("a link to the user") + link.len();
    let id = &users.body[at..at + users.body[at..].find('"').unwrap()];
    assert_eq!(id.len(), 36, "a UUID: {id}");
    for (action, amount, reason) in [
        ("add", "5", "Goodwill for the outage"),
        ("remove", "2", "Correction of a double grant"),
    ] {
        let detail = admin.get(&format!("/admin/users/{id}")).await;
        assert!(detail.has(email), "{}", detail.body);
        let key = detail.input("key");
        let adjusted = admin
            .post(
                &format!("/admin/users/{id}/credits"),
                &[
                    ("action", action),
                    ("amount", amount),
                    ("reason", reason),
                    ("key", &key),
                ],
            )
            .await;
        assert_eq!(adjusted.status, 303, "{action}: {}", adjusted.body);
    }

    let dashboard = ada.get("/dashboard").await;
    assert_eq!(dashboard.balance(), "102");
    assert!(
        dashboard.has("Goodwill for the outage"),
        "{}",
        dashboard.body
    );
    assert!(
        dashboard.has("Correction of a double grant"),
        "{}",
        dashboard.body
    );

    // The project's own service, listed next to the built-ins, runs and charges its credit.
    let services = ada.get("/services").await;
    assert!(
        services.has("href=\"/services/title_case\""),
        "{}",
        services.body
    );
    assert!(services.has("Title case"));
    let page = ada.get("/services/title_case").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let run_key = page.input("run_key");
    let result = ada
        .post(
            "/services/title_case",
            &[("input", "the return of the king"), ("run_key", &run_key)],
        )
        .await;
    assert_eq!(result.status, 200, "{}", result.body);
    assert!(result.has("The Return of the King"), "{}", result.body);
    assert!(
        result.has("101</span> credits remaining"),
        "{}",
        result.body
    );

    let health = ada.get("/health").await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn the_journey_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("app.db").display());
    let port = free_port();
    let mut app = start_app(port, &url, data.path());
    let first_start = wait_for_ok(
        &mut app,
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(60),
    )
    .await;
    journey(port).await;
    let rss = rss_kib(app.pid());
    assert_eq!(app.stop("TERM"), Some(0), "a clean shutdown on SIGTERM");

    // Again on the same database, migrations already applied: how fast does it start?
    let port = free_port();
    let started = Instant::now();
    let mut app = start_app(port, &url, data.path());
    let mut listening = None;
    while listening.is_none() && started.elapsed() < Duration::from_secs(30) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            listening = Some(started.elapsed());
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let ready = wait_for_ok(
        &mut app,
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(30),
    )
    .await;
    let ready = ready + listening.unwrap_or_default();
    measure(format!(
        "sqlite: first start to /health 200 {} ms (fresh database); restart to a listening \
         socket {} ms, to /health 200 {} ms; idle RSS after the journey {} KiB",
        first_start.as_millis(),
        listening.map_or(0, |l| l.as_millis()),
        ready.as_millis(),
        rss.unwrap_or(0)
    ));
    drop(app);
}

#[tokio::test]
async fn the_journey_on_postgres() {
    let Some(url) = quickscale_adapters::testing::postgres::test_database_url().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut app = start_app(port, &url, data.path());
    let started = wait_for_ok(
        &mut app,
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(60),
    )
    .await;
    journey(port).await;
    measure(format!(
        "postgres: start to /health 200 {} ms; RSS after the journey {} KiB",
        started.as_millis(),
        rss_kib(app.pid()).unwrap_or(0)
    ));
    assert_eq!(app.stop("TERM"), Some(0));
}

/// `quickscale up` in a freshly generated project: the build happens inside `up`; Ctrl-C sent
/// to `up` alone stops the app cleanly.
#[tokio::test]
async fn init_then_up_serves_the_app_and_stops_on_ctrl_c() {
    project(); // the shared dependencies are compiled: this measures a warm start.
    let parent = scratch().join("up");
    let _ = std::fs::remove_dir_all(&parent);
    std::fs::create_dir_all(&parent).unwrap();
    let started = Instant::now();
    let output = quickscale(&parent)
        .args(["init", "up-shop"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let port = free_port();
    let mut command = quickscale(&parent.join("up-shop"));
    command
        .args(["up", "--port", &port.to_string()])
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env_remove("QUICKSCALE_TARGET_DIR");
    let mut up = spawn(command, parent.join("up.log"));
    wait_for_ok(
        &mut up,
        &format!("http://127.0.0.1:{port}/"),
        Duration::from_secs(300),
    )
    .await;
    let log = up.log();
    let compiled: Vec<&str> = log
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Compiling "))
        .collect();
    measure(format!(
        "quickscale init + up to the first HTTP 200 (warm target dir): {:.1} s; up compiled \
         {compiled:?}",
        started.elapsed().as_secs_f64()
    ));
    assert!(
        log.contains(&format!("http://127.0.0.1:{port}")),
        "the banner names the URL:\n{log}"
    );
    assert!(log.contains("admin@example.com"), "{log}");
    assert!(
        target_dir().join("debug/up-shop").is_file(),
        "built in the shared target directory"
    );
    assert_eq!(up.stop("INT"), Some(0), "Ctrl-C stops the app cleanly");
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the app is gone"
    );
    let _ = std::fs::remove_dir_all(&parent);
}

/// `up` returns the app's own failure: a bad configuration or an unreachable database.
#[test]
fn up_propagates_the_app_failure() {
    let project = project();
    let run = |env: &[(&str, &str)]| {
        quickscale_building(&project.dir)
            .args(["up", "--port", &free_port().to_string()])
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let output = run(&[("SECRET_KEY", "too-short")]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("SECRET_KEY"), "{stderr}");

    let output = run(&[(
        "DATABASE_URL",
        "postgres://nobody:nothing@127.0.0.1:1/missing",
    )]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("cannot connect to PostgreSQL"), "{stderr}");
}

/// `migrate`, `create-admin` and `check` run the binary's commands in the project.
#[test]
fn migrate_create_admin_and_check() {
    let project = project();
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("admin.db").display());
    let port = free_port().to_string();
    let run = |args: &[&str]| {
        let output = quickscale_building(&project.dir.join("src"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("PORT", &port)
            .env("QS_TEST_PASSWORD", "boss-password-123")
            .output()
            .unwrap();
        let said = text(&output.stdout) + &text(&output.stderr);
        assert!(output.status.success(), "{args:?}: {said}");
        said
    };
    assert!(run(&["migrate"]).contains("Migrations applied (SQLite)"));
    let said = run(&["create-admin", "--email", "boss@example.com"]);
    assert!(
        said.contains("Admin account created: boss@example.com"),
        "{said}"
    );
    assert!(said.contains("Password (shown once)"), "{said}");
    let said = run(&[
        "create-admin",
        "--email",
        "deputy@example.com",
        "--password-env",
        "QS_TEST_PASSWORD",
    ]);
    assert!(!said.contains("Password (shown once)"), "{said}");
    let said = run(&["check"]);
    for tick in [
        "✓ cargo",
        "✓ project journey-app",
        "✓ the project builds",
        "✓ configuration is valid",
        "✓ SQLite database reachable",
    ] {
        assert!(said.contains(tick), "{tick} in {said}");
    }
    let said = run(&["verify-ledger"]);
    assert!(said.contains("the ledger balances"), "{said}");
    // Billing maintenance reaches the app, which says billing is off here.
    let output = quickscale_building(&project.dir)
        .args(["billing", "reconcile", "--limit", "10"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("billing is off"),
        "{}",
        text(&output.stderr)
    );

    // A failing check says so and exits non-zero.
    let output = quickscale_building(&project.dir)
        .arg("check")
        .env(
            "DATABASE_URL",
            "postgres://nobody:nothing@127.0.0.1:1/missing",
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
}

/// The project's app, as a library, on `url`.
async fn app_on(dir: &Path, url: &str) -> quickscale_app_web::AppState {
    let config = quickscale_app_web::Config::from_pairs(
        dir,
        "Journey App",
        &[
            ("SECRET_KEY", "verify-ledger-test-secret-0123456789abcdef"),
            ("DATABASE_URL", url),
        ],
    )
    .unwrap();
    quickscale_app_web::App::new("Journey App")
        .build(config)
        .await
        .unwrap()
        .state
}

/// `verify-ledger` matches runs with debits one by one: on a database where two runs name one
/// debit it names both runs and the orphaned debit, and exits non-zero.
#[test]
fn verify_ledger_names_mismatched_runs_and_fails() {
    use quickscale_app_web::sdk::usage::RunEnd;
    use quickscale_app_web::sdk::{ServiceInput, usage::RunStatus};
    let project = project();
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("ledger.db").display());
    let verify = || {
        let output = quickscale_building(&project.dir)
            .arg("verify-ledger")
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        (
            output.status.success(),
            text(&output.stdout) + &text(&output.stderr),
        )
    };
    let (succeeded, said) = verify();
    assert!(!succeeded, "no database to verify: {said}");
    assert!(said.contains("there is no database at"), "{said}");

    // Two paid runs, through the app's own runner on the project's database.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let runs = runtime.block_on(async {
        let state = app_on(&project.dir, &url).await;
        let admin = quickscale_app_web::onboarding::create_admin(
            &state,
            &"boss@example.com".parse().unwrap(),
            "boss-password-123",
        )
        .await
        .unwrap();
        quickscale_app_web::onboarding::complete_onboarding(&state, &admin)
            .await
            .unwrap();
        let mut runs = Vec::new();
        for key in ["one", "two"] {
            let outcome = state
                .runner()
                .run(
                    admin.id,
                    "text_sentiment_analysis",
                    ServiceInput::Text("A lovely day".into()),
                    quickscale_domain_credits::IdempotencyKey::parse(key).unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(outcome.run.status, RunStatus::Succeeded);
            runs.push(outcome.run);
        }
        state.database().close().await;
        runs
    });
    let (succeeded, said) = verify();
    assert!(succeeded, "{said}");
    assert!(said.contains("paid successes 2"), "{said}");
    assert!(said.contains("the ledger balances"), "{said}");

    // The second run now names the first run's debit.
    runtime.block_on(async {
        let state = app_on(&project.dir, &url).await;
        let second = &runs[1];
        let end = RunEnd {
            status: second.status,
            cost: second.cost,
            charge: runs[0].charge,
            refunded: second.refunded,
            balance_after: second.balance_after,
            duration_ms: second.duration_ms.unwrap_or_default(),
            output: second.output.clone(),
            error: None,
            finished_at: second.finished_at.unwrap(),
        };
        state.stores().usage.finish(second.id, &end).await.unwrap();
        state.database().close().await;
    });
    let (succeeded, said) = verify();
    assert!(!succeeded, "a mismatch fails the command: {said}");
    let shared = runs[0].charge.unwrap();
    let own = runs[1].charge.unwrap();
    for line in [
        format!("run {}, entry {shared}: names the same debit", runs[0].id),
        format!("run {}, entry {shared}: names the same debit", runs[1].id),
        format!("run {}, entry {own}: a debit of 1", runs[1].id),
        "run/debit mismatches 3".to_owned(),
        "the ledger does not balance".to_owned(),
    ] {
        assert!(said.contains(&line), "{line} in {said}");
    }
}
