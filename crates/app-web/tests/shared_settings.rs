//! Two app instances on one database (a SQLite file, and PostgreSQL) agree on the services'
//! admin settings without a restart: a price set or a service switched off through instance A
//! is what instance B charges or refuses on its very next run, through the API and the browser
//! form; B's pages show the change within `SETTINGS_MAX_AGE`.

mod support;

use axum::http::StatusCode;
use quickscale_adapters::testing::postgres::test_database_url;
use quickscale_app_web::settings_cache::SETTINGS_MAX_AGE;
use quickscale_domain_credits::Credits;
use serde_json::json;
use support::api::{PASSWORD, make_key, run};
use support::{Browser, TestApp};

const SERVICE: &str = "text_sentiment_analysis";

/// Two instances on the database at `url`, one after the other (the first migrates it).
async fn two_instances(url: &str) -> (TestApp, TestApp) {
    let settings = [("DATABASE_URL", url), ("ENABLE_API", "true")];
    let first = TestApp::with(&settings).await;
    let second = TestApp::with(&settings).await;
    (first, second)
}

/// The admin saves `SERVICE`'s settings on `admin`'s instance.
async fn save(admin: &mut Browser, enabled: bool, cost: &str) {
    admin.get("/admin/services").await;
    let mut fields = vec![("cost_override", cost), ("display_order", "1")];
    if enabled {
        fields.push(("enabled", "on"));
    }
    let saved = admin
        .post(&format!("/admin/services/{SERVICE}"), &fields)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
}

/// Runs `SERVICE` through the API on `app`: the status and the amount charged.
async fn api_run(app: &TestApp, key: &str) -> (StatusCode, Option<Credits>) {
    let (status, _, body) = run(app, key, SERVICE, json!({"input": "A fine day."}), None).await;
    let charged = body["charged"].as_str().map(|c| c.parse().unwrap());
    (status, charged)
}

async fn settings_changed_on_one_instance_apply_on_the_other(first: TestApp, second: TestApp) {
    let mut admin = first.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let mut ada = second.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "Runner").await;

    // B has run the service at its own price, so its copy of the settings is warm.
    let (status, charged) = api_run(&second, &key).await;
    assert_eq!(status, StatusCode::CREATED);
    let own_price = charged.expect("a paid service");
    assert_ne!(own_price, Credits::whole(3));

    // A sets a price: B's next run is charged it, with no wait and no restart.
    save(&mut admin, true, "3").await;
    let (status, charged) = api_run(&second, &key).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(charged, Some(Credits::whole(3)), "B charges A's price");
    // The browser form on B too.
    let run_key = ada
        .get(&format!("/services/{SERVICE}"))
        .await
        .input_value("run_key")
        .unwrap();
    let before = support::balance(&second.state, "ada@example.com").await;
    let page = ada
        .post(
            &format!("/services/{SERVICE}"),
            &[("input", "A fine day."), ("run_key", &run_key)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        support::balance(&second.state, "ada@example.com").await,
        before.saturating_sub(Credits::whole(3)),
        "the form's run on B is charged A's price"
    );

    // A switches the service off: B refuses the next run and charges nothing.
    save(&mut admin, false, "3").await;
    let before = support::balance(&second.state, "ada@example.com").await;
    let (status, charged) = api_run(&second, &key).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "B refuses a switched-off service"
    );
    assert_eq!(charged, None);
    let page = ada
        .post(
            &format!("/services/{SERVICE}"),
            &[("input", "A fine day."), ("run_key", "another")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(
        support::balance(&second.state, "ada@example.com").await,
        before,
        "nothing charged"
    );
    let listed = format!("data-service=\"{SERVICE}\"");
    assert!(!ada.get("/services").await.contains(&listed), "B hides it");

    // Back on, at its own price: B's pages that only list services follow within the
    // documented age, without a run on B in between.
    save(&mut admin, true, "").await;
    tokio::time::sleep(SETTINGS_MAX_AGE + std::time::Duration::from_millis(100)).await;
    assert!(
        ada.get("/services").await.contains(&listed),
        "B lists it again"
    );
    let (status, charged) = api_run(&second, &key).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(charged, Some(own_price));
}

#[tokio::test]
async fn a_price_or_a_switch_off_on_one_instance_applies_on_the_other_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("app.db").display());
    let (first, second) = two_instances(&url).await;
    settings_changed_on_one_instance_apply_on_the_other(first, second).await;
}

#[tokio::test]
async fn a_price_or_a_switch_off_on_one_instance_applies_on_the_other_on_postgres() {
    let Some(url) = test_database_url().await else {
        return;
    };
    let (first, second) = two_instances(&url).await;
    settings_changed_on_one_instance_apply_on_the_other(first, second).await;
}
