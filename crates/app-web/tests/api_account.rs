//! The account in the JSON API: the balance, the ledger and the usage history (JSON and CSV),
//! cursors through every list, and buying credits (packs, checkout, payments) when billing is on.

mod support;

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use quickscale_adapters::testing::gateway::ScriptedGateway;
use quickscale_app_web::App;
use serde_json::{Value, json};
use support::TestApp;
use support::api::{assert_problem, call, get, make_key, run};
use tower::ServiceExt;

const SENTIMENT: &str = "text_sentiment_analysis";
const WEBHOOK_SECRET: &str = "whsec_test_api_account";

async fn signed_in_key(app: &TestApp, email: &str) -> String {
    let mut browser = app.browser();
    browser.register(email, support::api::PASSWORD).await;
    make_key(&mut browser, "Account").await
}

/// Follows `next_cursor` from `first` to the end; the ids of every item, in order.
async fn walk(app: &TestApp, key: &str, first: &str, id: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = first.to_owned();
    for _ in 0..50 {
        let (status, page) = get(app, &path, key).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        ids.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item[id].to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                let sep = if first.contains('?') { '&' } else { '?' };
                path = format!("{first}{sep}cursor={cursor}");
            }
            None => return ids,
        }
    }
    panic!("the cursors of {first} never ended");
}

#[tokio::test]
async fn balance_ledger_and_usage_page_with_cursors() {
    let app = TestApp::with(&[("ENABLE_API", "true")]).await;
    let key = signed_in_key(&app, "ada@example.com").await;
    for n in 0..3 {
        let (status, _, body) = run(
            &app,
            &key,
            SENTIMENT,
            json!({ "input": format!("I love this, take {n}") }),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let (status, balance) = get(&app, "/api/v1/balance", &key).await;
    assert_eq!(status, StatusCode::OK, "{balance}");
    assert_eq!(balance["total"], "97", "100 welcome credits less 3 runs");
    assert_eq!(balance["held"], "0");
    assert_eq!(balance["available"], "97");
    assert_eq!(balance["by_kind"]["welcome"], "97");

    // The ledger: the welcome grant and three charges, newest first, one entry a page.
    let (_, first) = get(&app, "/api/v1/ledger?limit=1", &key).await;
    assert_eq!(first["data"][0]["kind"], "consume", "{first}");
    assert_eq!(first["data"][0]["direction"], "debit");
    assert_eq!(first["data"][0]["balance_after"], "97");
    assert_eq!(first["data"][0]["actor"], "user", "the key's user ran it");
    let ledger = walk(&app, &key, "/api/v1/ledger?limit=1", "id").await;
    assert_eq!(ledger.len(), 4, "{ledger:?}");
    let (_, all) = get(&app, "/api/v1/ledger", &key).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 4);
    assert_eq!(all["data"][3]["kind"], "grant");
    assert_eq!(all["data"][3]["grant_kind"], "welcome");
    assert_eq!(all["next_cursor"], Value::Null, "one page holds them all");
    let walked: Vec<String> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].to_string())
        .collect();
    assert_eq!(
        ledger, walked,
        "the pages are the list, in order, once each"
    );

    // Runs and usage: the same three runs through two cursors each.
    let runs = walk(&app, &key, "/api/v1/runs?limit=2", "id").await;
    assert_eq!(runs.len(), 3);
    let usage = walk(&app, &key, "/api/v1/usage?limit=2&status=succeeded", "id").await;
    assert_eq!(usage, runs);
    let (_, filtered) = get(&app, "/api/v1/usage?service=no_such_service", &key).await;
    assert_eq!(filtered["data"], json!([]));
    let (_, row) = get(&app, "/api/v1/usage?limit=1", &key).await;
    assert_eq!(row["data"][0]["service"], SENTIMENT);
    assert_eq!(row["data"][0]["cost"], "1");
    assert!(
        row["data"][0]["result"].as_str().unwrap().len() > 3,
        "{row}"
    );

    // A cursor belongs to its list, and is not made up.
    let (_, page) = get(&app, "/api/v1/runs?limit=1", &key).await;
    let runs_cursor = page["next_cursor"].as_str().unwrap().to_owned();
    for path in [
        format!("/api/v1/ledger?cursor={runs_cursor}"),
        format!("/api/v1/usage?cursor={runs_cursor}"),
        "/api/v1/runs?cursor=not-a-cursor".to_owned(),
        "/api/v1/payments?cursor=00".to_owned(),
    ] {
        let (status, body) = get(&app, &path, &key).await;
        if path.contains("payments") {
            assert_problem(status, &body, StatusCode::NOT_FOUND, "billing_disabled");
        } else {
            assert_problem(
                status,
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_cursor",
            );
        }
    }
    let (status, body) = get(
        &app,
        &format!("/api/v1/runs?offset=1&cursor={runs_cursor}"),
        &key,
    )
    .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    let (status, body) = get(&app, "/api/v1/usage?status=lost", &key).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );

    // Another user sees none of it.
    let bob = signed_in_key(&app, "bob@example.com").await;
    let (_, theirs) = get(&app, "/api/v1/usage", &bob).await;
    assert_eq!(theirs["data"], json!([]));
    let (_, ledger) = get(&app, "/api/v1/ledger", &bob).await;
    assert_eq!(
        ledger["data"].as_array().unwrap().len(),
        1,
        "only the welcome grant"
    );
}

#[tokio::test]
async fn usage_is_csv_when_asked_for_it() {
    let app = TestApp::with(&[("ENABLE_API", "true")]).await;
    let key = signed_in_key(&app, "ada@example.com").await;
    for text in ["=cmd|' /C calc'!A0 is great", "I love it, truly"] {
        let (status, _, body) = run(&app, &key, SENTIMENT, json!({ "input": text }), None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let request = Request::builder()
        .uri("/api/v1/usage?service=text_sentiment_analysis")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::ACCEPT, "text/csv, application/json;q=0.5")
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(response.headers().get("next-cursor").is_none());
    let csv = String::from_utf8(
        to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "started_at,service,status,cost,refunded,duration_ms,input_bytes,result"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.contains(",text_sentiment_analysis,succeeded,1,0,"))
    );
}

async fn billing_app() -> (TestApp, Arc<ScriptedGateway>) {
    let gateway = Arc::new(ScriptedGateway::default());
    let app = App::new("Test App").with_gateway(gateway.clone(), WEBHOOK_SECRET);
    let app = TestApp::with_app(app, &[("ENABLE_API", "true"), ("ENABLE_STRIPE", "true")]).await;
    (app, gateway)
}

async fn checkout(app: &TestApp, key: &str, body: &str, idempotency: &str) -> (StatusCode, Value) {
    let (status, _, body) = call(
        app,
        Method::POST,
        "/api/v1/checkout",
        Some(key),
        &[
            ("content-type", "application/json"),
            ("idempotency-key", idempotency),
        ],
        Body::from(body.to_owned()),
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn credits_are_bought_through_the_api_when_billing_is_on() {
    let off = TestApp::with(&[("ENABLE_API", "true")]).await;
    let key = signed_in_key(&off, "ada@example.com").await;
    for path in ["/api/v1/packs", "/api/v1/payments"] {
        let (status, body) = get(&off, path, &key).await;
        assert_problem(status, &body, StatusCode::NOT_FOUND, "billing_disabled");
    }
    let (status, body) = checkout(
        &off,
        &key,
        r#"{"pack": "00000000-0000-0000-0000-000000000000"}"#,
        "k",
    )
    .await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "billing_disabled");

    let (app, gateway) = billing_app().await;
    let key = signed_in_key(&app, "ada@example.com").await;
    let (status, packs) = get(&app, "/api/v1/packs", &key).await;
    assert_eq!(status, StatusCode::OK, "{packs}");
    let pack = packs["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(packs["data"][0]["price_minor"], 1000, "{packs}");

    let body = json!({ "pack": pack }).to_string();
    let (status, first) = checkout(&app, &key, &body, "order-7").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let url = first["url"].as_str().unwrap().to_owned();
    let (_, again) = checkout(&app, &key, &body, "order-7").await;
    assert_eq!(again["url"], url, "the same key is the same checkout");
    let (_, other) = checkout(&app, &key, &body, "order-8").await;
    assert_ne!(other["url"], url, "a new key is a new checkout");

    let (status, body) = checkout(
        &app,
        &key,
        r#"{"pack": "00000000-0000-0000-0000-000000000000"}"#,
        "k",
    )
    .await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = checkout(&app, &key, r#"{"pack": 7}"#, "k").await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    assert_eq!(
        support::balance(&app.state, "ada@example.com").await,
        quickscale_domain_credits::Credits::whole(100),
        "a checkout grants nothing"
    );

    let (_, none) = get(&app, "/api/v1/payments", &key).await;
    assert_eq!(none["data"], json!([]));
    let session = url.rsplit('/').next().unwrap();
    let paid = gateway.pay(session);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!(
        app.webhook(&paid, WEBHOOK_SECRET, now).await,
        StatusCode::OK
    );
    support::wait_for_inbox(&app.state, &paid.id, 1).await;
    let (status, payments) = get(&app, "/api/v1/payments", &key).await;
    assert_eq!(status, StatusCode::OK, "{payments}");
    assert_eq!(payments["data"].as_array().unwrap().len(), 1, "{payments}");
    assert_eq!(payments["data"][0]["status"], "succeeded");
    assert_eq!(payments["data"][0]["amount_minor"], 1000);
    assert_eq!(payments["next_cursor"], Value::Null);
    let (_, balance) = get(&app, "/api/v1/balance", &key).await;
    assert_eq!(balance["by_kind"]["purchase"], packs["data"][0]["credits"]);
}
