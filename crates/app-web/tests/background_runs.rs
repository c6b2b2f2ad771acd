//! Runs that take a while, through the app: a background service's run answers 202 with its
//! `Location` (the page goes to the run's page), holds its price once per idempotency key, shows
//! its progress (the page, its HTMX status box and the API), can be cancelled (the hold
//! released), and when it finishes settles the hold; the balance shows held credits apart.

mod support;

use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use quickscale_app_web::App;
use quickscale_domain_credits::{AccountId, Credits};
use quickscale_service_sdk::{
    RunContext, Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput,
};
use serde_json::{Value, json};
use support::TestApp;
use support::api::{PASSWORD, call, get, make_key, run};

/// A background service of 3 credits: "wait" reports progress until it is cancelled; anything
/// else reports half way, then answers in upper case.
struct Drafting;

#[async_trait]
impl Service for Drafting {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("drafting", "Drafting")
            .cost(Credits::whole(3))
            .background()
            .timeout(Duration::from_secs(30))
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        Ok(ServiceOutput::new(
            input.as_text().unwrap_or_default().to_uppercase(),
        ))
    }

    async fn execute_background(
        &self,
        input: ServiceInput,
        context: &RunContext,
    ) -> Result<ServiceOutput, ServiceError> {
        context.progress(0.5, "half way").await?;
        if input.as_text() == Some("wait") {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                context.progress(0.5, "half way").await?;
            }
        }
        self.execute(input).await
    }
}

/// A background service priced by use: 1 credit, up to 12 held.
struct Metered;

#[async_trait]
impl Service for Metered {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("metered", "Metered")
            .cost(Credits::whole(1))
            .background()
            .max_cost(Credits::whole(12))
    }

    async fn execute(&self, _: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        Ok(ServiceOutput::new("metered"))
    }
}

async fn app() -> TestApp {
    TestApp::with_app(
        App::new("Test App").service(Drafting).service(Metered),
        &[("ENABLE_API", "true"), ("WELCOME_CREDITS", "10")],
    )
    .await
}

/// Polls the run until `done` says so (at most 10 s).
async fn wait_for(
    app: &TestApp,
    location: &str,
    key: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..500 {
        let (status, body) = get(app, location, key).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if done(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the run at {location} never got there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_run_holds_shows_progress_cancels_and_settles() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "script").await;
    let account = AccountId::new(app.user("ada@example.com").await.id.as_uuid());

    // The service says how it runs.
    let (status, service) = get(&app, "/api/v1/services/drafting", &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(service["mode"], "background");

    // Submitted: 202, Location, queued or already picked up; the same key is the same run.
    let (status, headers, first) = run(
        &app,
        &key,
        "drafting",
        json!({"input": "wait"}),
        Some("bg-1"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let location = headers[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!("/api/v1/runs/{}", first["id"].as_str().unwrap())
    );
    assert_eq!(first["mode"], "background");
    let (status, headers, again) = run(
        &app,
        &key,
        "drafting",
        json!({"input": "wait"}),
        Some("bg-1"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(again["id"], first["id"]);
    let (_, balance) = get(&app, "/api/v1/balance", &key).await;
    assert_eq!(
        (&balance["held"], &balance["available"], &balance["total"]),
        (&json!("3"), &json!("7"), &json!("10")),
        "held once: {balance}"
    );

    // A worker picks it up and it reports its progress.
    let running = wait_for(&app, &location, &key, |run| {
        run["status"] == "running" && !run["progress"].is_null()
    })
    .await;
    assert_eq!(running["progress"]["fraction"], 0.5);
    assert_eq!(running["progress"]["message"], "half way");
    assert_eq!(running["held"], "3");

    // Its page shows it live (and refreshes itself without JavaScript); the dashboard shows
    // the held credits apart.
    let id = first["id"].as_str().unwrap();
    let page = ada.get(&format!("/runs/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("data-status=\"running\""), "{}", page.body);
    assert!(page.contains("50% · half way"), "{}", page.body);
    assert!(page.contains("http-equiv=\"refresh\""));
    assert!(page.contains(&format!("/runs/{id}/cancel")));
    let status_box = ada.get_htmx(&format!("/runs/{id}")).await;
    assert!(
        status_box
            .body
            .trim_start()
            .starts_with("<div id=\"run-status\""),
        "{}",
        status_box.body
    );
    assert!(status_box.contains("hx-trigger=\"every 1s\""));
    let dashboard = ada.get("/dashboard").await;
    assert!(
        dashboard.contains("data-testid=\"balance-held\""),
        "{}",
        dashboard.body
    );

    // Cancel on the page (POST with CSRF): the hold is released in full and the run stops.
    let cancelled = ada.post(&format!("/runs/{id}/cancel"), &[]).await;
    assert_eq!(
        cancelled.status,
        StatusCode::SEE_OTHER,
        "{}",
        cancelled.body
    );
    let ended = wait_for(&app, &location, &key, |run| run["status"] == "cancelled").await;
    assert_eq!(
        (&ended["charged"], &ended["refunded"]),
        (&json!("0"), &json!("3"))
    );
    assert!(ended["held"].is_null());
    let page = ada.get(&format!("/runs/{id}")).await;
    assert!(page.contains("data-status=\"cancelled\""));
    assert!(
        !page.contains("http-equiv=\"refresh\""),
        "a finished run's page stays"
    );
    assert!(!page.contains(&format!("/runs/{id}/cancel")));
    assert!(
        app.state
            .credits()
            .open_holds(account)
            .await
            .unwrap()
            .is_empty()
    );

    // A run that finishes settles its hold: 3 charged. A second cancel changes nothing.
    let (status, headers, _) = run(
        &app,
        &key,
        "drafting",
        json!({"input": "hello"}),
        Some("bg-2"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let location = headers[header::LOCATION].to_str().unwrap().to_owned();
    let done = wait_for(&app, &location, &key, |run| run["status"] == "succeeded").await;
    assert_eq!(done["output"]["summary"], "HELLO");
    assert_eq!(done["charged"], "3");
    let (status, _, after) = call(
        &app,
        Method::POST,
        &format!("{location}/cancel"),
        Some(&key),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        after["status"], "succeeded",
        "an ended run stays as it ended"
    );
    let (_, balance) = get(&app, "/api/v1/balance", &key).await;
    assert_eq!(
        (&balance["held"], &balance["total"]),
        (&json!("0"), &json!("7"))
    );

    // The ledger reads hold, release, hold, settle; its invariants hold.
    let snapshot = app.state.credits().snapshot(account).await.unwrap();
    assert!(quickscale_domain_credits::verify(&snapshot).is_empty());
    let kinds: Vec<&str> = snapshot.entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["grant", "hold", "release", "hold", "settle"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_of_a_background_service_goes_to_the_runs_page() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let form = ada.get("/services/drafting").await;
    assert!(form.contains("Runs in the background"), "{}", form.body);
    let run_key = form.input_value("run_key").expect("the form's run key");
    let submitted = ada
        .post(
            "/services/drafting",
            &[("input", "hello"), ("run_key", &run_key)],
        )
        .await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    let location = submitted.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(location.starts_with("/runs/"), "{location}");
    for _ in 0..500 {
        let page = ada.get(&location).await;
        if page.contains("data-status=\"succeeded\"") {
            assert!(page.contains("HELLO"), "{}", page.body);
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the run never finished");
}

#[tokio::test]
async fn a_service_priced_by_use_shows_its_range_and_needs_what_a_run_holds() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let page = ada.get("/services/metered").await;
    assert!(page.contains("1 to 12 credits per run"), "{}", page.body);
    assert!(page.contains("Run for up to 12 credits"), "{}", page.body);
    // Ten credits pay the price but not the hold a run makes.
    assert!(
        page.contains("A run holds 12 credits and you have 10 credits."),
        "{}",
        page.body
    );
    let other = ada.get("/services/drafting").await;
    assert!(other.contains("Run for 3 credits"), "{}", other.body);
    assert!(!other.contains("A run holds"), "{}", other.body);
}
