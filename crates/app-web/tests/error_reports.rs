//! Error reports (`SENTRY_DSN`): a local HTTP server standing in for the DSN's host captures the
//! envelopes; a 500 and panics (in a service run, in a handler) arrive with the request id and
//! route, a handler's panic once (not again as the 500 it became), and no password, email,
//! cookie, token or request body does.
//!
//! The reporting client is one per process, so this file holds one test.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::StatusCode;
use support::TestApp;

const PASSWORD: &str = "a long enough password";

/// A service that panics, as a bug in a generated service would.
struct Panicky;

#[async_trait::async_trait]
impl quickscale_service_sdk::Service for Panicky {
    fn descriptor(&self) -> quickscale_service_sdk::ServiceDescriptor {
        quickscale_service_sdk::ServiceDescriptor::new("panicky", "Panicky")
            .description("Panics.")
            .category("Text")
            .cost("1".parse().unwrap())
            .example("x")
    }

    async fn execute(
        &self,
        _input: quickscale_service_sdk::ServiceInput,
    ) -> Result<quickscale_service_sdk::ServiceOutput, quickscale_service_sdk::ServiceError> {
        panic!("the panicky service gave up");
    }
}

/// The system's clock, which panics once when armed: a bug in a handler's own code (the next
/// request that reads the time panics, and its client gets a 500).
#[derive(Debug, Default)]
struct ArmedClock(AtomicBool);

impl quickscale_domain_kernel::Clock for ArmedClock {
    fn now(&self) -> time::OffsetDateTime {
        if self.0.swap(false, Ordering::SeqCst) {
            panic!("the clock broke in a handler");
        }
        time::OffsetDateTime::now_utc()
    }
}

/// The DSN's host: keeps every envelope posted to `/api/42/envelope/`.
async fn sink() -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/api/42/envelope/",
        axum::routing::post(move |body: Bytes| {
            let kept = Arc::clone(&kept);
            async move {
                kept.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://public0123456789@{address}/42"), received)
}

/// The events (the envelope items that are events), as JSON. (An event's level is left out
/// when it is `error`, the default.)
fn events(envelopes: &[String]) -> Vec<serde_json::Value> {
    envelopes
        .iter()
        .flat_map(|e| e.lines())
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| v.get("platform").is_some())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_and_server_errors_are_reported_without_secrets() {
    let (dsn, received) = sink().await;
    assert!(
        quickscale_app_web::observability::install_error_reports(
            &dsn,
            tokio::runtime::Handle::current()
        )
        .unwrap()
    );
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/app.db", dir.path().display());
    let clock = Arc::new(ArmedClock::default());
    let app = TestApp::with_app(
        quickscale_app_web::App::new("Test App")
            .service(Panicky)
            .with_clock(clock.clone()),
        &[
            ("DATABASE_URL", &url),
            ("SENTRY_DSN", &dsn),
            ("WELCOME_CREDITS", "25"),
            // No job workers: the armed clock's panic is the next request's.
            ("WORKERS", "false"),
        ],
    )
    .await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;

    // A service that panics while running.
    let key = ada
        .get("/services/panicky")
        .await
        .input_value("run_key")
        .unwrap();
    let panicked = ada
        .post(
            "/services/panicky",
            &[
                ("input", "my password is hunter2hunter2"),
                ("run_key", &key),
            ],
        )
        .await;
    let panic_request = panicked.headers["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    // A handler that panics: the client gets a 500.
    clock.0.store(true, Ordering::SeqCst);
    let crashed = ada.get("/dashboard").await;
    assert_eq!(crashed.status, StatusCode::INTERNAL_SERVER_ERROR);
    let crash_request = crashed.headers["x-request-id"].to_str().unwrap().to_owned();

    // A page whose table is gone answers 500.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE service_runs")
        .execute(&pool)
        .await
        .unwrap();
    let broken = ada.get("/usage").await;
    assert_eq!(broken.status, StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = broken.headers["x-request-id"].to_str().unwrap().to_owned();

    let mut reported = Vec::new();
    for _ in 0..100 {
        tokio::task::spawn_blocking(|| {
            quickscale_app_web::observability::flush_error_reports(std::time::Duration::from_secs(
                5,
            ))
        })
        .await
        .unwrap();
        reported = events(&received.lock().unwrap());
        let has = |id: &str| reported.iter().any(|e| e["tags"]["request_id"] == id);
        if has(&request_id) && has(&panic_request) && has(&crash_request) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // The 500: its request id, method, route template and status, and the cause logged.
    let server_error = reported
        .iter()
        .find(|e| e["tags"]["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("no report of the 500: {reported:?}"));
    assert_eq!(server_error["tags"]["route"], "/usage");
    assert_eq!(server_error["tags"]["method"], "GET");
    assert_eq!(server_error["tags"]["status"], "500");
    assert_eq!(server_error["message"], "the app answered 500");
    let cause = server_error["extra"]["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("service_runs"), "{server_error}");

    // The panic in a run: its message and place, with the request's id and route (the run
    // failed and was refunded, the page says so).
    let panic = reported
        .iter()
        .find(|e| e["tags"]["request_id"] == panic_request.as_str() && e["level"] == "fatal")
        .unwrap_or_else(|| panic!("no report of the panic: {reported:?}"));
    assert_eq!(panic["tags"]["route"], "/services/{slug}");
    let exception = &panic["exception"]["values"][0];
    assert_eq!(exception["type"], "panic");
    assert_eq!(exception["value"], "the panicky service gave up");

    // The panic in a handler is reported once, as the panic, not again as the 500 the client
    // got: both would have been captured before the client got its answer, and the flushes
    // above sent everything captured.
    let of_crash: Vec<&serde_json::Value> = reported
        .iter()
        .filter(|e| e["tags"]["request_id"] == crash_request.as_str())
        .collect();
    assert_eq!(of_crash.len(), 1, "one report of the crash: {of_crash:?}");
    assert_eq!(of_crash[0]["level"], "fatal", "{}", of_crash[0]);
    assert_eq!(of_crash[0]["tags"]["route"], "/dashboard");
    assert_eq!(
        of_crash[0]["exception"]["values"][0]["value"],
        "the clock broke in a handler"
    );

    // Nothing secret anywhere in what was sent.
    let everything = received.lock().unwrap().join("\n");
    let cookie = ada.cookie.clone().unwrap();
    let session = cookie.split('=').nth(1).unwrap();
    for secret in [PASSWORD, "ada@example.com", "hunter2hunter2", session] {
        assert!(
            !everything.contains(secret),
            "{secret} was sent: {everything}"
        );
    }
}
