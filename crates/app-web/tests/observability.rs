//! Metrics at `/metrics` (never public by accident: off unless a token or a port of their own is
//! set), what they count, and `/ready` beside `/health`.
//!
//! The Prometheus recorder is one per process, so the tests in this file share it: each one
//! asserts on series only it creates, or on values that only grow.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use support::TestApp;
use tower::ServiceExt as _;

const TOKEN: &str = "metrics-token-0123456789";
const PASSWORD: &str = "a long enough password";

/// `GET /metrics` with these headers on the app's router.
async fn scrape(app: &TestApp, authorization: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get("/metrics");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// The value of the series whose line starts with `series` (name and labels, exactly as
/// rendered), if there is one.
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        line.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .map(|v| v.trim().parse().unwrap())
    })
}

#[tokio::test]
async fn without_a_token_or_a_port_there_are_no_metrics() {
    let app = TestApp::new().await;
    let (status, _) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = scrape(&app, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_a_port_of_their_own_the_apps_port_serves_no_metrics() {
    let app = TestApp::with(&[("METRICS_PORT", "9464")]).await;
    let (status, _) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_short_token_or_the_apps_own_port_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = |pairs: &[(&str, &str)]| {
        let mut all = vec![("SECRET_KEY", "a-secret-key-of-at-least-32-characters!!")];
        all.extend_from_slice(pairs);
        quickscale_app_web::Config::from_pairs(dir.path(), "App", &all)
    };
    let short = config(&[("METRICS_TOKEN", "short")]).unwrap_err();
    assert_eq!(short.key, "METRICS_TOKEN");
    let same = config(&[("PORT", "8000"), ("METRICS_PORT", "8000")]).unwrap_err();
    assert_eq!(same.key, "METRICS_PORT");
    let off = config(&[]).unwrap();
    assert_eq!(off.metrics, None);
}

#[tokio::test]
async fn the_token_is_required_and_the_metrics_count_by_route_template() {
    let app = TestApp::with(&[("METRICS_TOKEN", TOKEN)]).await;
    assert_eq!(scrape(&app, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        scrape(&app, Some("Bearer wrong-token-0123456789")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        scrape(&app, Some(TOKEN)).await.0,
        StatusCode::UNAUTHORIZED,
        "the scheme is required"
    );

    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    for slug in ["no_such_service_a", "no_such_service_b"] {
        assert_eq!(
            ada.get(&format!("/services/{slug}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    ada.get("/nowhere/at/all").await;

    let (status, metrics) = scrape(&app, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, StatusCode::OK);
    // One series for the template, whatever slugs were asked for; never the raw path.
    let misses = value(
        &metrics,
        r#"quickscale_http_requests_total{method="GET",route="/services/{slug}",status="404"}"#,
    )
    .expect("the route template's series");
    assert!(misses >= 2.0, "{misses}");
    assert!(!metrics.contains("no_such_service_a"), "{metrics}");
    assert!(!metrics.contains("/nowhere/at/all"), "{metrics}");
    assert!(
        value(
            &metrics,
            r#"quickscale_http_requests_total{method="GET",route="unmatched",status="404"}"#
        )
        .is_some()
    );
    assert!(metrics.contains(
        r#"quickscale_http_request_duration_seconds_bucket{method="GET",route="/services/{slug}",le="0.005"}"#
    ));
    assert!(metrics.contains("# HELP quickscale_http_requests_total"));
    assert!(value(&metrics, "quickscale_database_up").is_some());
    assert_eq!(
        value(
            &metrics,
            &format!(
                r#"quickscale_build_info{{version="{}"}}"#,
                env!("CARGO_PKG_VERSION")
            )
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn business_events_are_counted_once() {
    let app = TestApp::with(&[("METRICS_TOKEN", TOKEN), ("WELCOME_CREDITS", "25")]).await;
    let bearer = format!("Bearer {TOKEN}");
    let before = scrape(&app, Some(&bearer)).await.1;
    let counter = |metrics: &str, series: &str| value(metrics, series).unwrap_or(0.0);

    let mut ada = app.browser();
    ada.register("metrics-ada@example.com", PASSWORD).await;
    let key = ada
        .get("/services/text_sentiment_analysis")
        .await
        .input_value("run_key")
        .unwrap();
    for _ in 0..2 {
        // The same run key twice: one run, one charge.
        let page = ada
            .post(
                "/services/text_sentiment_analysis",
                &[("input", "What a lovely day"), ("run_key", &key)],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    }
    let mut eve = app.browser();
    eve.login("metrics-ada@example.com", "not the password")
        .await;

    let after = scrape(&app, Some(&bearer)).await.1;
    let grew = |series: &str| counter(&after, series) - counter(&before, series);
    assert!(
        grew(r#"quickscale_credits_granted_cents_total{kind="welcome"}"#) >= 2500.0,
        "{after}"
    );
    let run = r#"{service="text_sentiment_analysis",outcome="succeeded"}"#;
    assert!(
        grew(&format!("quickscale_service_runs_total{run}")) >= 1.0,
        "{after}"
    );
    assert!(after.contains(&format!(
        "quickscale_service_run_duration_seconds_count{run}"
    )));
    assert!(grew("quickscale_credits_consumed_cents_total") >= 1.0);
    assert!(grew(r#"quickscale_sign_ins_total{outcome="wrong_password"}"#) >= 1.0);
    assert!(value(&after, r#"quickscale_emails_pending"#).is_some());
}

#[tokio::test]
async fn ready_reports_the_database_and_its_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/app.db", dir.path().display());
    let app = TestApp::with(&[("DATABASE_URL", &url)]).await;
    let mut visitor = app.browser();
    let ready = visitor.get("/ready").await;
    assert_eq!(ready.status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["pending_migrations"], serde_json::json!([]));

    // A migration this build knows goes missing (an older database): not ready, still alive.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let ready = visitor.get("/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["pending_migrations"].as_array().unwrap().len(), 1);
    assert_eq!(visitor.get("/health").await.status, StatusCode::OK);

    // The database gone: not ready.
    app.state.database().close().await;
    let ready = visitor.get("/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(body["database"], "unreachable");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_metrics_on_their_own_port_only() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let config = quickscale_app_web::Config::from_pairs(
        dir.path(),
        "App",
        &[
            ("SECRET_KEY", "a-secret-key-of-at-least-32-characters!!"),
            ("DATABASE_URL", "memory"),
            ("ADMIN_PASSWORD", "admin-password-1"),
            ("PORT", &port.to_string()),
            ("METRICS_PORT", &metrics_port.to_string()),
        ],
    )
    .unwrap();
    let server = tokio::spawn(quickscale_app_web::App::new("App").run_command(config, ["serve"]));
    let client = reqwest::Client::new();
    let app = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..200 {
        if client.get(format!("{app}/ready")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(up, "the app did not start");
    let scraped = client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    let body = scraped.text().await.unwrap();
    assert!(
        body.contains(
            r#"quickscale_http_requests_total{method="GET",route="/ready",status="200"}"#
        ),
        "{body}"
    );
    let on_app_port = client.get(format!("{app}/metrics")).send().await.unwrap();
    assert_eq!(on_app_port.status(), 404);
    server.abort();
}

#[tokio::test]
async fn the_system_page_shows_the_state_of_things_and_recent_server_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/app.db", dir.path().display());
    let app = TestApp::with(&[("DATABASE_URL", &url)]).await;
    // A delivery that failed for good.
    let outbox = &app.state.stores().outbox;
    let now = time::OffsetDateTime::now_utc();
    let message = quickscale_domain_kernel::EmailMessage {
        to: "someone@example.com".into(),
        reply_to: None,
        subject: "Hello".into(),
        text: "Hello".into(),
        html: None,
    };
    let id = outbox.enqueue(&message, now).await.unwrap();
    outbox
        .mark_failed(id, "550 mailbox unavailable", None)
        .await
        .unwrap();
    // A page whose table is gone answers 500.
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE service_runs")
        .execute(&pool)
        .await
        .unwrap();
    let broken = ada.get("/usage").await;
    assert_eq!(broken.status, StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = broken.headers["x-request-id"].to_str().unwrap().to_owned();

    assert_eq!(ada.get("/admin/system").await.status, StatusCode::FORBIDDEN);
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let page = admin.get("/admin/system").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.text_of("system-version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert!(page.text_of("system-uptime").is_some());
    let database = page.text_of("system-database").unwrap();
    assert!(database.contains("SQLite"), "{database}");
    assert!(database.contains("reachable"), "{database}");
    assert!(
        database.contains("Every migration is applied"),
        "{database}"
    );
    let mail = page.text_of("system-mail").unwrap();
    assert!(mail.contains("1 given up"), "{mail}");
    assert!(mail.contains("550 mailbox unavailable"), "{mail}");
    let errors = page.text_of("system-errors").unwrap();
    assert!(errors.contains(&request_id), "{errors}");
    assert!(errors.contains("GET /usage"), "{errors}");
}

#[tokio::test]
async fn ready_reports_the_job_queue() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/app.db", dir.path().display());
    let app = TestApp::with(&[("DATABASE_URL", &url)]).await;
    let mut visitor = app.browser();
    let ready = visitor.get("/ready").await;
    assert_eq!(ready.status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(body["queue"], "ok");

    // The queue's table gone (its storage broken), the database itself fine: not ready.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE Jobs").execute(&pool).await.unwrap();
    let ready = visitor.get("/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["queue"], "unreachable");

    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let page = admin.get("/admin/system").await;
    assert_eq!(page.status, StatusCode::OK);
    let queue = page.text_of("system-queue").unwrap();
    assert!(queue.contains("unreachable"), "{queue}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_queue_backlog_and_job_outcomes_are_measured() {
    use quickscale_adapters::jobs::Enqueue;
    use quickscale_app_web::queue::Job;

    // Built without workers (unlike `TestApp`), so that jobs wait until this test starts them.
    let dir = tempfile::tempdir().unwrap();
    let config = quickscale_app_web::Config::from_pairs(
        dir.path(),
        "App",
        &[
            ("SECRET_KEY", "a-secret-key-of-at-least-32-characters!!"),
            ("DATABASE_URL", "memory"),
            ("METRICS_TOKEN", TOKEN),
            ("JOBS_POLL_MS", "50"),
        ],
    )
    .unwrap();
    let built = quickscale_app_web::App::new("App")
        .build(config)
        .await
        .unwrap();
    let scrape = || async {
        let request = Request::get("/metrics")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let response = built.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    };
    let done = r#"quickscale_jobs_total{kind="deliver_email",outcome="succeeded"}"#;
    let done_before = value(&scrape().await, done).unwrap_or(0.0);

    // Two deliveries due 40 s and 10 s ago, one due in an hour; no worker runs yet. A whole
    // second: the queue rounds a due time up to the next one.
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    for (n, at) in [
        (1, now - time::Duration::seconds(40)),
        (2, now - time::Duration::seconds(10)),
        (3, now + time::Duration::hours(1)),
    ] {
        let job = Job::DeliverEmail {
            id: uuid::Uuid::from_u128(n),
        };
        built
            .state
            .jobs()
            .push(job, Enqueue::now().at(at))
            .await
            .unwrap();
    }
    // The gauges are the process's, set by each scrape from its app's queue: another test's
    // scrape in between can show its own queue, so read until this app's shows.
    let mut waiting = String::new();
    for _ in 0..20 {
        waiting = scrape().await;
        if value(&waiting, "quickscale_jobs_waiting") == Some(2.0) {
            break;
        }
    }
    assert_eq!(value(&waiting, "quickscale_job_queue_up"), Some(1.0));
    assert_eq!(
        value(&waiting, "quickscale_jobs_waiting"),
        Some(2.0),
        "{waiting}"
    );
    let oldest = value(&waiting, "quickscale_jobs_oldest_waiting_seconds").unwrap();
    assert!((40.0..100.0).contains(&oldest), "{oldest}");
    assert_eq!(value(&waiting, "quickscale_jobs_dead"), Some(0.0));

    // The workers run them: two deliveries done, counted by kind and outcome, and timed.
    let stop = tokio_util::sync::CancellationToken::new();
    let workers = tokio::spawn(quickscale_app_web::run_workers(
        built.state.clone(),
        stop.clone(),
    ));
    let mut after = String::new();
    for _ in 0..400 {
        after = scrape().await;
        if value(&after, done).unwrap_or(0.0) - done_before >= 2.0
            && value(&after, "quickscale_jobs_waiting") == Some(0.0)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    stop.cancel();
    let _ = workers.await;
    // At least these two (other tests' apps deliver their emails in this process too).
    assert!(
        value(&after, done).unwrap_or(0.0) - done_before >= 2.0,
        "{after}"
    );
    assert!(after.contains(r#"quickscale_job_duration_seconds_count{kind="deliver_email"}"#));
    assert_eq!(
        value(&after, "quickscale_jobs_waiting"),
        Some(0.0),
        "{after}"
    );
}
