//! The JSON API: keys made and revoked in settings, bearer authentication, runs charged once per
//! idempotency key, problem details for every refusal, a budget per key.

mod support;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, Credits, IdempotencyKey, Operation, Reason,
};
use serde_json::{Value, json};
use support::TestApp;
use support::api::{PASSWORD, assert_problem, call, get, make_key, post_key, run};
use tower::ServiceExt;

async fn app() -> TestApp {
    TestApp::with(&[("ENABLE_API", "true")]).await
}

#[tokio::test]
async fn without_enable_api_there_is_no_api_and_no_key_page() {
    let app = TestApp::new().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    assert_eq!(
        ada.get("/settings/api-keys").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!ada.get("/settings").await.contains("/settings/api-keys"));
    let (status, _, _) = call(
        &app,
        Method::GET,
        "/api/v1/me",
        Some("qs_0123456789abcdef"),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_key_is_shown_once_authenticates_and_stops_when_revoked() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    assert!(ada.get("/settings").await.contains("/settings/api-keys"));
    let unnamed = post_key(&mut ada, "   ", PASSWORD).await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unnamed.contains("Give the key a name"), "{}", unnamed.body);
    let wrong = post_key(&mut ada, "Deploy script", "not my password").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.contains("The current password is incorrect."));
    assert_eq!(
        wrong.input_value("name").as_deref(),
        Some("Deploy script"),
        "what was typed is kept"
    );
    // Sending the same form twice (a reload of the page that answered it) makes one key.
    let page = ada.get("/settings/api-keys").await;
    let token = page.input_value("form_token").unwrap();
    let form = [
        ("name", "Twice"),
        ("current_password", PASSWORD),
        ("form_token", token.as_str()),
    ];
    assert_eq!(
        ada.post("/settings/api-keys", &form).await.status,
        StatusCode::OK
    );
    let again = ada.post("/settings/api-keys", &form).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.contains("already sent"), "{}", again.body);
    assert_eq!(again.input_value("new_key"), None);
    let ada_id = app.user("ada@example.com").await.id;
    let stored = app.state.stores().api_keys.list(ada_id).await.unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let twice = stored[0].id.to_string();
    ada.get("/settings/api-keys").await;
    ada.post(&format!("/settings/api-keys/{twice}/revoke"), &[])
        .await;

    let key = make_key(&mut ada, "Deploy script").await;
    assert!(key.starts_with("qs_") && key.len() > 40, "{key}");
    let notice = app
        .mail_matching(|m| m.to == "ada@example.com" && m.text.contains("Deploy script"))
        .await;
    assert!(notice.subject.contains("A new API key"), "{notice:?}");
    assert!(notice.text.contains(&key[..11]), "{notice:?}");
    assert!(
        !notice.text.contains(&key),
        "the key itself is never emailed"
    );
    let again = ada.get("/settings/api-keys").await;
    assert!(!again.contains(&key), "a key is shown only once");
    assert!(again.contains(&key[..11]), "its start identifies it");
    assert!(again.contains("never"), "not used yet");

    // Refusals: no key, a malformed one, an unknown one; a signed-in browser is not enough.
    let (status, headers, body) =
        call(&app, Method::GET, "/api/v1/me", None, &[], Body::empty()).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/problem+json",
        "problem details"
    );
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    for bad in ["not-a-key", "qs_0123456789abcdef0123456789"] {
        let (status, body) = get(&app, "/api/v1/me", bad).await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let with_cookie = ada.get("/api/v1/me").await;
    assert_eq!(with_cookie.status, StatusCode::UNAUTHORIZED);

    let (status, _, me) = call(
        &app,
        Method::GET,
        "/api/v1/me",
        None,
        &[("authorization", &format!("bearer {key}"))],
        Body::empty(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the scheme is case-insensitive: {me}"
    );
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["balance"], Credits::whole(100).to_string());
    assert_eq!(me["key"]["name"], "Deploy script");
    assert_eq!(
        ada.get("/settings/api-keys")
            .await
            .body
            .matches("never")
            .count(),
        1,
        "the last use is shown (the revoked key was never used)"
    );

    // Revoked: refused from the next request on.
    let page = ada.get("/settings/api-keys").await;
    let id = me["key"]["id"].as_str().unwrap().to_owned();
    assert!(page.contains(&format!("/settings/api-keys/{id}/revoke")));
    let revoked = ada
        .post(&format!("/settings/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let (status, body) = get(&app, "/api/v1/me", &key).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(ada.get("/settings/api-keys").await.contains("revoked"));

    // Another user cannot revoke (or see) ada's keys.
    let key = make_key(&mut ada, "Second").await;
    let (_, me) = get(&app, "/api/v1/me", &key).await;
    let mut bob = app.browser();
    bob.register("bob@example.com", PASSWORD).await;
    bob.get("/settings/api-keys").await;
    let id = me["key"]["id"].as_str().unwrap();
    let attempt = bob
        .post(&format!("/settings/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(attempt.status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(&app, "/api/v1/me", &key).await.0,
        StatusCode::OK,
        "bob cannot revoke ada's key"
    );

    let audit = app
        .state
        .stores()
        .audit
        .list(&quickscale_domain_kernel::AuditQuery {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        audit.iter().any(|e| e.action == "api_key.create")
            && audit.iter().any(|e| e.action == "api_key.revoke"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn runs_are_charged_once_per_idempotency_key_and_listed() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "Runner").await;

    let (status, services) = get(&app, "/api/v1/services", &key).await;
    assert_eq!(status, StatusCode::OK);
    let sentiment = services["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == "text_sentiment_analysis")
        .expect("a paid text service")
        .clone();
    assert_eq!(sentiment["input"], "text");
    let cost: Credits = sentiment["cost"].as_str().unwrap().parse().unwrap();
    assert!(!cost.is_zero());

    let body = json!({"input": "I love this product, it is wonderful."});
    let (status, headers, first) = run(
        &app,
        &key,
        "text_sentiment_analysis",
        body.clone(),
        Some("order-1"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(!headers.contains_key("idempotent-replayed"));
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(first["charged"], cost.to_string());
    let after = Credits::whole(100).saturating_sub(cost);
    assert_eq!(first["balance_after"], after.to_string());
    assert!(
        first["output"]["summary"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );

    let (status, headers, replay) = run(
        &app,
        &key,
        "text_sentiment_analysis",
        body.clone(),
        Some("order-1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replay}");
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(
        get(&app, "/api/v1/me", &key).await.1["balance"],
        after.to_string(),
        "charged once"
    );

    // The key is the user's: used for another service (or from another key), it is refused.
    let second_key = make_key(&mut ada, "Second runner").await;
    let (status, _, reused) = run(
        &app,
        &second_key,
        "demo_free_service",
        json!({"input": "hello"}),
        Some("order-1"),
    )
    .await;
    assert_problem(
        status,
        &reused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
    let (status, _, bad) = run(
        &app,
        &key,
        "text_sentiment_analysis",
        body.clone(),
        Some("tab\tinside"),
    )
    .await;
    assert_problem(
        status,
        &bad,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    assert_eq!(
        bad["detail"],
        "Idempotency-Key: an idempotency key may only contain ASCII letters, digits, punctuation and spaces between them."
    );

    // A JSON service, and the runs list and one run.
    let validator = services["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == "data_validator")
        .expect("a JSON service");
    assert_eq!(validator["input"], "json");
    let example: Value =
        serde_json::from_str(validator["example_input"].as_str().unwrap()).unwrap();
    let (status, _, validated) = run(
        &app,
        &key,
        "data_validator",
        json!({ "input": example }),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{validated}");
    let (status, runs) = get(&app, "/api/v1/runs?limit=10", &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(runs["data"].as_array().unwrap().len(), 2, "{runs}");
    let (status, filtered) = get(&app, "/api/v1/runs?service=text_sentiment_analysis", &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(filtered["data"][0]["id"], first["id"]);
    let id = first["id"].as_str().unwrap();
    let (status, one) = get(&app, &format!("/api/v1/runs/{id}"), &key).await;
    assert_eq!((status, &one["id"]), (StatusCode::OK, &first["id"]));

    // Spaces inside a key are part of it.
    for expected in [StatusCode::CREATED, StatusCode::OK] {
        let (status, _, spaced) = run(
            &app,
            &key,
            "demo_free_service",
            json!({"input": "hello"}),
            Some("order 17 of ada"),
        )
        .await;
        assert_eq!(status, expected, "{spaced}");
    }

    // Another user's key sees none of it.
    let mut bob = app.browser();
    bob.register("bob@example.com", PASSWORD).await;
    let bobs = make_key(&mut bob, "Bob").await;
    let (status, body) = get(&app, &format!("/api/v1/runs/{id}"), &bobs).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(get(&app, "/api/v1/runs", &bobs).await.1["data"], json!([]));
}

#[tokio::test]
async fn bad_requests_get_problem_details_and_charge_nothing() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "Tests").await;
    let cases = [
        (
            "text_sentiment_analysis",
            "{\"input\": 42}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "text_sentiment_analysis",
            "not json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "text_sentiment_analysis",
            "{\"input\": \"\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "no_such_service",
            "{\"input\": \"x\"}",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (slug, body, expected, code) in cases {
        let (status, _, problem) = call(
            &app,
            Method::POST,
            &format!("/api/v1/services/{slug}/runs"),
            Some(&key),
            &[("content-type", "application/json")],
            Body::from(body),
        )
        .await;
        assert_problem(status, &problem, expected, code);
    }
    let (status, problem) = get(&app, "/api/v1/runs?status=exploded", &key).await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    let (status, problem) = get(&app, "/api/v1/runs?limit=many", &key).await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    for nowhere in ["/api/v1/nowhere", "/api/v2/me"] {
        let (status, problem) = get(&app, nowhere, &key).await;
        assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
    }
    let (status, _, problem) = call(
        &app,
        Method::DELETE,
        "/api/v1/me",
        Some(&key),
        &[],
        Body::empty(),
    )
    .await;
    assert_problem(
        status,
        &problem,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert_eq!(
        get(&app, "/api/v1/me", &key).await.1["balance"],
        Credits::whole(100).to_string(),
        "nothing was charged"
    );

    // A file service takes the file as the body.
    let jpeg = std::fs::read(format!(
        "{}/../service-sdk/tests/fixtures/photo-with-exif.jpg",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (status, _, image) = call(
        &app,
        Method::POST,
        "/api/v1/services/image_metadata_extractor/runs?filename=photo.jpg",
        Some(&key),
        &[("content-type", "image/jpeg")],
        Body::from(jpeg),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{image}");
    assert!(
        image["output"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("64 × 48")),
        "{image}"
    );
}

#[tokio::test]
async fn insufficient_credits_are_a_402_and_each_key_has_a_budget() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "Spender").await;
    // Leave less than the paid service costs.
    let user = app.user("ada@example.com").await;
    let account = AccountId::new(user.id.as_uuid());
    app.state
        .credits()
        .execute(
            account,
            Operation {
                key: IdempotencyKey::parse("test:spend").unwrap(),
                actor: Actor::System,
                reason: Reason::parse("Test: spend the balance").unwrap(),
                command: CreditCommand::Consume {
                    amount: Credits::whole(100),
                },
            },
            app.state.clock().now(),
        )
        .await
        .unwrap();
    let (status, _, body) = run(
        &app,
        &key,
        "text_sentiment_analysis",
        json!({"input": "fine"}),
        Some("spend-1"),
    )
    .await;
    assert_problem(
        status,
        &body,
        StatusCode::PAYMENT_REQUIRED,
        "insufficient_credits",
    );
    let available: Credits = body["available"].as_str().unwrap().parse().unwrap();
    assert_eq!(available, Credits::ZERO);
    // The refusal stands under its key (a replay, not a run that now fails differently).
    let (status, _, again) = run(
        &app,
        &key,
        "text_sentiment_analysis",
        json!({"input": "fine"}),
        Some("spend-1"),
    )
    .await;
    assert_problem(
        status,
        &again,
        StatusCode::PAYMENT_REQUIRED,
        "insufficient_credits",
    );
    assert_eq!(
        get(&app, "/api/v1/me", &key).await.1["balance"],
        Credits::ZERO.to_string(),
        "nothing was charged"
    );

    // The budget: a burst, then 429 with Retry-After; another key is not affected.
    let other = make_key(&mut ada, "Other").await;
    let mut limited = None;
    for _ in 0..200 {
        let (status, headers, body) = call(
            &app,
            Method::GET,
            "/api/v1/me",
            Some(&key),
            &[],
            Body::empty(),
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((headers, body));
            break;
        }
    }
    let (headers, body) = limited.expect("the key's budget runs out");
    assert_eq!(body["code"], "rate_limited");
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert_eq!(get(&app, "/api/v1/me", &other).await.0, StatusCode::OK);
}

#[tokio::test]
async fn keys_are_limited_per_user_and_end_with_the_account() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let ada_id = app.user("ada@example.com").await.id;
    let first = make_key(&mut ada, "key 0").await;
    for n in 1..10 {
        make_key(&mut ada, &format!("key {n}")).await;
    }
    let eleventh = post_key(&mut ada, "one too many", PASSWORD).await;
    assert_eq!(eleventh.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(eleventh.contains("revoke one first"), "{}", eleventh.body);
    assert_eq!(
        eleventh.input_value("name").as_deref(),
        Some("one too many"),
        "what was typed is kept"
    );

    ada.get("/settings").await;
    let deleted = ada
        .post(
            "/settings/delete",
            &[("confirmation", "DELETE"), ("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    let (status, body) = get(&app, "/api/v1/me", &first).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let keys = app.state.stores().api_keys.list(ada_id).await.unwrap();
    assert_eq!(keys.len(), 10);
    assert!(
        keys.iter().all(|k| k.revoked_at.is_some()),
        "deleting the account revokes its keys: {keys:?}"
    );
}

#[tokio::test]
async fn unconfirmed_accounts_run_only_free_services_when_confirmation_is_required() {
    let app = TestApp::with(&[
        ("ENABLE_API", "true"),
        ("REQUIRE_EMAIL_VERIFICATION", "true"),
        ("REGISTRATION_REVEALS_EXISTING_EMAILS", "true"),
    ])
    .await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "Unconfirmed").await;
    let (status, _, body) = run(
        &app,
        &key,
        "text_sentiment_analysis",
        json!({"input": "fine"}),
        None,
    )
    .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "email_unverified");
    let (status, _, free) = run(
        &app,
        &key,
        "demo_free_service",
        json!({"input": "hello"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{free}");
}

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint_and_each_one_answers() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "Docs").await;
    let (status, headers, doc) = call(
        &app,
        Method::GET,
        "/api/v1/openapi.json",
        None,
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "public: readable before a key exists"
    );
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    assert_eq!(doc["info"]["title"], "Test App API");
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    for schema in ["ApiProblem", "RunView", "ServiceView", "Me"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} is described"
        );
    }

    let mut operations: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    operations.sort();
    let (_, offered) = get(&app, "/api/v1/services", &key).await;
    let mut served: Vec<(String, String)> = [
        ("get", "/api/v1/balance"),
        ("get", "/api/v1/ledger"),
        ("get", "/api/v1/me"),
        ("get", "/api/v1/packs"),
        ("get", "/api/v1/payments"),
        ("post", "/api/v1/checkout"),
        ("get", "/api/v1/runs"),
        ("get", "/api/v1/usage"),
        ("get", "/api/v1/runs/{id}"),
        ("post", "/api/v1/runs/{id}/cancel"),
        ("get", "/api/v1/services"),
        ("get", "/api/v1/services/{slug}"),
    ]
    .iter()
    .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
    .chain(offered["data"].as_array().unwrap().iter().map(|s| {
        (
            "post".to_owned(),
            format!("/api/v1/services/{}/runs", s["slug"].as_str().unwrap()),
        )
    }))
    .collect();
    served.sort();
    assert_eq!(
        operations, served,
        "every endpoint is documented, and only those: a run operation per offered service"
    );
    for (method, path) in &operations {
        let operation = &doc["paths"][path][method];
        let responses = operation["responses"].as_object().unwrap();
        for status in ["401", "429", "503"] {
            assert!(
                responses.contains_key(status),
                "{method} {path} documents {status}"
            );
        }
        assert!(
            responses["429"]["headers"]["Retry-After"].is_object(),
            "{method} {path}: 429 says when to retry"
        );
        for (status, response) in responses {
            let Some(content) = response["content"].as_object() else {
                continue;
            };
            let expected: &[&str] = if !status.starts_with('2') {
                &["application/problem+json"]
            } else if path == "/api/v1/usage" {
                // The usage history as JSON, or as CSV with `Accept: text/csv`.
                &["application/json", "text/csv"]
            } else {
                &["application/json"]
            };
            assert_eq!(
                content.keys().collect::<Vec<_>>(),
                expected,
                "{method} {path} {status}"
            );
        }
    }

    // Query parameters carry the bounds the server checks.
    let parameters = doc["paths"]["/api/v1/runs"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let schema_of = |name: &str| {
        parameters
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} is documented"))["schema"]
            .clone()
    };
    assert_eq!(
        (
            schema_of("limit")["minimum"].as_u64(),
            schema_of("limit")["maximum"].as_u64()
        ),
        (Some(1), Some(100))
    );
    assert_eq!(
        (
            schema_of("offset")["minimum"].as_u64(),
            schema_of("offset")["maximum"].as_u64()
        ),
        (Some(0), Some(10_000_000))
    );
    assert!(
        schema_of("status")["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("failed"))
    );
    for (query, accepted) in [
        ("limit=1", true),
        ("limit=100", true),
        ("offset=10000000", true),
        ("limit=0", false),
        ("limit=101", false),
        ("offset=10000001", false),
        ("status=failed", true),
        ("status=exploded", false),
    ] {
        let (status, body) = get(&app, &format!("/api/v1/runs?{query}"), &key).await;
        let expected = if accepted {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(status, expected, "{query}: {body}");
    }

    // Each run operation types the input its service takes: `{"input": {}}` is outside a text
    // service's schema (and refused), and outside the data validator's own schema (refused
    // before charging).
    let input_schema = |slug: &str| {
        doc["paths"][format!("/api/v1/services/{slug}/runs")]["post"]["requestBody"]["content"]
            ["application/json"]["schema"]["properties"]["input"]
            .clone()
    };
    assert_eq!(input_schema("text_sentiment_analysis")["type"], "string");
    assert_eq!(input_schema("text_sentiment_analysis")["minLength"], 1);
    assert_eq!(input_schema("data_validator")["type"], "object");
    assert_eq!(
        input_schema("data_validator")["required"],
        json!(["schema"])
    );
    for slug in ["text_sentiment_analysis", "data_validator"] {
        let (status, _, refused) = run(&app, &key, slug, json!({"input": {}}), None).await;
        assert_problem(
            status,
            &refused,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        );
    }
    let image = &doc["paths"]["/api/v1/services/image_metadata_extractor/runs"]["post"];
    assert!(
        image["requestBody"]["content"]["image/jpeg"].is_object(),
        "{image}"
    );

    // Each documented operation answers as documented (a run first, for a run id).
    let (status, _, made) = run(
        &app,
        &key,
        "demo_free_service",
        json!({"input": "hi"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let run_id = made["id"].as_str().unwrap();
    for (method, documented) in operations.iter().filter(|(m, _)| m == "get") {
        let path = documented
            .replace("{slug}", "demo_free_service")
            .replace("{id}", run_id);
        let (status, body) = get(&app, &path, &key).await;
        if ["/api/v1/packs", "/api/v1/payments"].contains(&documented.as_str()) {
            // Billing is off here; tests/api_account.rs buys credits with it on.
            assert_problem(status, &body, StatusCode::NOT_FOUND, "billing_disabled");
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(
            doc["paths"][documented][method]["responses"]["200"].is_object(),
            "{documented} documents its 200"
        );
    }
    assert!(
        doc["paths"]["/api/v1/services/demo_free_service/runs"]["post"]["responses"]["201"]
            .is_object()
    );
}

#[tokio::test]
async fn admins_see_and_revoke_a_users_api_keys() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "Leaked").await;
    let ada_id = app.user("ada@example.com").await.id;
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let page = admin.get(&format!("/admin/users/{ada_id}")).await;
    assert_eq!(page.text_of("admin-api-keys").as_deref(), Some("1"));
    let revoked = admin
        .post(&format!("/admin/users/{ada_id}/api-keys/revoke"), &[])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let page = admin.get(&format!("/admin/users/{ada_id}")).await;
    assert!(
        page.contains("1 API key of ada@example.com was revoked"),
        "{}",
        page.body
    );
    assert_eq!(page.text_of("admin-api-keys").as_deref(), Some("0"));
    let (status, body) = get(&app, "/api/v1/me", &key).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    // Only admins: ada cannot use the admin route on herself.
    let refused = ada
        .post(&format!("/admin/users/{ada_id}/api-keys/revoke"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

/// The JSON examples of docs/api.md's "Errors" section, in order.
fn documented_error_examples() -> Vec<Value> {
    let doc = std::fs::read_to_string(format!("{}/../../docs/api.md", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    let errors = &doc[doc.find("## Errors").expect("an Errors section")..];
    errors
        .split("```json")
        .skip(1)
        .map(|block| serde_json::from_str(&block[..block.find("```").unwrap()]).unwrap())
        .collect()
}

#[tokio::test]
async fn the_documented_402_is_the_answer_the_api_gives() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "Docs").await;
    // One credit left; the image service costs two.
    let user = app.user("ada@example.com").await;
    app.state
        .credits()
        .execute(
            AccountId::new(user.id.as_uuid()),
            Operation {
                key: IdempotencyKey::parse("test:spend-99").unwrap(),
                actor: Actor::System,
                reason: Reason::parse("Test: leave one credit").unwrap(),
                command: CreditCommand::Consume {
                    amount: Credits::whole(99),
                },
            },
            app.state.clock().now(),
        )
        .await
        .unwrap();
    let jpeg = std::fs::read(format!(
        "{}/../service-sdk/tests/fixtures/photo-with-exif.jpg",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (status, headers, answer) = call(
        &app,
        Method::POST,
        "/api/v1/services/image_metadata_extractor/runs",
        Some(&key),
        &[("content-type", "image/jpeg")],
        Body::from(jpeg),
    )
    .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{answer}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let examples = documented_error_examples();
    assert_eq!(
        examples.first(),
        Some(&answer),
        "docs/api.md shows the real answer"
    );
}

/// One API call from `address`, with `key`: the status, the headers and the JSON body.
async fn call_from(app: &TestApp, address: [u8; 4], key: &str) -> (StatusCode, HeaderMap, Value) {
    let request = Request::builder()
        .uri("/api/v1/me")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            address, 50_000,
        ))))
        .body(Body::empty())
        .unwrap();
    let response = app.unlayered_router().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn unknown_keys_are_limited_per_client_address_before_any_lookup() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "Honest").await;
    // The key authenticated once (from elsewhere): the app knows it.
    assert_eq!(get(&app, "/api/v1/me", &key).await.0, StatusCode::OK);
    let guesser = [203, 0, 113, 7];
    // Twenty wrong keys (well-formed, malformed) are refused as wrong...
    for attempt in 0..20 {
        let wrong = if attempt % 4 == 0 {
            "not-a-key".to_owned()
        } else {
            format!("qs_{}", uuid::Uuid::new_v4().simple())
        };
        let (status, _, body) = call_from(&app, guesser, &wrong).await;
        assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // ...then the address's budget is spent: 429 with Retry-After, as a problem document
    // (before any lookup: the budget is read before the key is).
    for _ in 0..3 {
        let wrong = format!("qs_{}", uuid::Uuid::new_v4().simple());
        let (status, headers, body) = call_from(&app, guesser, &wrong).await;
        assert_problem(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body["type"], "about:blank", "{body}");
        let wait: u64 = headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=61).contains(&wait), "{wait}");
    }
    // A key that authenticated before still works from there.
    let (status, _, body) = call_from(&app, guesser, &key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A key the app has not seen authenticate waits like a wrong one: the refusal comes before
    // the lookup.
    let fresh = make_key(&mut ada, "Fresh").await;
    assert_eq!(
        call_from(&app, guesser, &fresh).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another address has its own budget.
    let neighbour = [198, 51, 100, 9];
    let wrong = format!("qs_{}", uuid::Uuid::new_v4().simple());
    let (status, _, body) = call_from(&app, neighbour, &wrong).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(call_from(&app, neighbour, &fresh).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem_document() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "Big").await;
    let too_big = vec![b'a'; quickscale_app_web::limits::MAX_BODY_BYTES + 1];
    let (status, headers, body) = call(
        &app,
        Method::POST,
        "/api/v1/services/demo_free_service/runs",
        Some(&key),
        &[("content-type", "application/json")],
        Body::from(too_big),
    )
    .await;
    assert_problem(status, &body, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["type"], "about:blank", "{body}");
    assert!(headers.contains_key("x-request-id"));
}

/// A clock that panics the next time it is asked the time once `broken` is set.
#[derive(Debug, Default)]
struct BreakableClock {
    broken: std::sync::atomic::AtomicBool,
}

impl quickscale_domain_kernel::Clock for BreakableClock {
    fn now(&self) -> time::OffsetDateTime {
        assert!(
            !self.broken.swap(false, std::sync::atomic::Ordering::SeqCst),
            "the clock broke"
        );
        time::OffsetDateTime::now_utc()
    }
}

#[tokio::test]
async fn a_panic_under_the_api_is_a_500_problem_document_and_pages_keep_theirs() {
    let clock = std::sync::Arc::new(BreakableClock::default());
    let app = TestApp::with_app(
        quickscale_app_web::App::new("Test App").with_clock(clock.clone()),
        &[("ENABLE_API", "true")],
    )
    .await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada, "Unlucky").await;
    clock
        .broken
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (status, headers, body) = call(
        &app,
        Method::GET,
        "/api/v1/me",
        Some(&key),
        &[],
        Body::empty(),
    )
    .await;
    assert_problem(status, &body, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["type"], "about:blank", "{body}");
    // A page's panic still shows the HTML error page.
    clock
        .broken
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let page = ada.get("/settings/api-keys").await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page.contains("Something went wrong"), "{}", page.body);
    assert!(
        page.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

/// Makes a key with limits in settings: the page's answer, and the key when it was made.
async fn post_key_with_limits(
    ada: &mut support::Browser,
    name: &str,
    monthly_cap: &str,
    per_minute: &str,
) -> (support::Page, Option<String>) {
    let page = ada.get("/settings/api-keys").await;
    let token = page.input_value("form_token").unwrap();
    let made = ada
        .post(
            "/settings/api-keys",
            &[
                ("name", name),
                ("current_password", PASSWORD),
                ("form_token", &token),
                ("monthly_cap", monthly_cap),
                ("per_minute", per_minute),
            ],
        )
        .await;
    let key = made.input_value("new_key");
    (made, key)
}

async fn sentiment(app: &TestApp, key: &str, idempotency: &str) -> (StatusCode, Value) {
    let (status, _, body) = run(
        app,
        key,
        "text_sentiment_analysis",
        json!({"input": "a lovely product"}),
        Some(idempotency),
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn a_keys_monthly_cap_and_the_plans_bound_are_402s_that_say_which_limit() {
    // Users without a plan: 120 requests a minute, 5 credits a month through the API.
    let app = TestApp::with(&[("ENABLE_API", "true"), ("API_MONTHLY_CREDITS", "5")]).await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    // Limits above the bounds, or not numbers, are refused with what was typed kept.
    for (cap, rate, message) in [
        (
            "6",
            "",
            "plan allows at most 5 credits a month through the API",
        ),
        ("", "121", "at most 120 requests a minute per key"),
        ("lots", "", "The monthly cap is credits"),
        ("", "fast", "as a whole number"),
        ("", "0", "at least 1 request a minute"),
    ] {
        let (refused, key) = post_key_with_limits(&mut ada, "Capped", cap, rate).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{cap} {rate}"
        );
        assert!(
            refused.body.contains(message),
            "{message}: {}",
            refused.body
        );
        assert_eq!(key, None);
        assert_eq!(refused.input_value("monthly_cap").as_deref(), Some(cap));
    }
    let (_, key) = post_key_with_limits(&mut ada, "Capped", "2", "").await;
    let key = key.expect("a key within the bounds is made");
    let ada_id = app.user("ada@example.com").await.id;
    let stored = app.state.stores().api_keys.list(ada_id).await.unwrap();
    assert_eq!(stored.len(), 1, "refused forms made no key");
    assert_eq!(stored[0].limits.monthly_credits, Some(Credits::whole(2)));
    let id = stored[0].id;

    for n in 0..2 {
        assert_eq!(
            sentiment(&app, &key, &format!("cap-{n}")).await.0,
            StatusCode::CREATED
        );
    }
    let (status, over) = sentiment(&app, &key, "cap-2").await;
    assert_problem(
        status,
        &over,
        StatusCode::PAYMENT_REQUIRED,
        "key_monthly_cap",
    );
    assert_eq!(over["type"], "urn:quickscale:problem:key-monthly-cap");
    assert_eq!(
        (&over["limit"], &over["spent"], &over["required"]),
        (&json!("2"), &json!("2"), &json!("1"))
    );
    assert!(
        over["resets_at"]
            .as_str()
            .unwrap()
            .ends_with("-01T00:00:00Z"),
        "{over}"
    );
    // Replayed, the refusal names the same cap.
    let (status, again) = sentiment(&app, &key, "cap-2").await;
    assert_problem(
        status,
        &again,
        StatusCode::PAYMENT_REQUIRED,
        "key_monthly_cap",
    );
    let me = get(&app, "/api/v1/me", &key).await.1;
    assert_eq!(me["balance"], "98");
    assert_eq!(
        me["key"],
        json!({
            "id": me["key"]["id"], "name": "Capped", "per_minute": 120, "monthly_cap": "2",
            "spent_this_month": "2", "runs_this_month": 3, "api_monthly_limit": "5",
            "api_spent_this_month": "2"
        })
    );

    // The key's page shows the month against the cap, and changes the cap.
    let page = ada.get(&format!("/settings/api-keys/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.text_of("key-spent").as_deref(),
        Some("2 credits of its cap of 2 credits")
    );
    assert_eq!(page.text_of("key-runs").as_deref(), Some("3"));
    assert_eq!(
        page.text_of("api-spent").as_deref(),
        Some("2 credits of your plan's 5 credits a month")
    );
    let refused = ada
        .post(
            &format!("/settings/api-keys/{id}/limits"),
            &[("monthly_cap", "9"), ("per_minute", "")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.contains("plan allows at most 5 credits"),
        "{}",
        refused.body
    );
    ada.post(
        &format!("/settings/api-keys/{id}/limits"),
        &[("monthly_cap", ""), ("per_minute", "")],
    )
    .await;
    assert_eq!(
        app.state.stores().api_keys.list(ada_id).await.unwrap()[0].limits,
        quickscale_domain_identity::KeyLimits::default()
    );
    // Without a cap of its own, the plan's bound (5 a month, all keys) refuses the sixth credit.
    let other = make_key(&mut ada, "Other").await;
    for n in 0..3 {
        assert_eq!(
            sentiment(&app, &other, &format!("bound-{n}")).await.0,
            StatusCode::CREATED
        );
    }
    let (status, bound) = sentiment(&app, &key, "bound-3").await;
    assert_problem(
        status,
        &bound,
        StatusCode::PAYMENT_REQUIRED,
        "plan_monthly_api_limit",
    );
    assert_eq!(
        bound["type"],
        "urn:quickscale:problem:plan-monthly-api-limit"
    );
    assert_eq!(
        (&bound["limit"], &bound["spent"]),
        (&json!("5"), &json!("5"))
    );
    assert_eq!(
        get(&app, "/api/v1/me", &key).await.1["balance"],
        "95",
        "refusals charge nothing"
    );
}

#[tokio::test]
async fn a_keys_own_rate_is_its_budget() {
    let app = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let (_, slow) = post_key_with_limits(&mut ada, "Slow", "", "2").await;
    let slow = slow.unwrap();
    // Two a minute: two at once, then 429 (the default burst is 60).
    assert_eq!(get(&app, "/api/v1/me", &slow).await.0, StatusCode::OK);
    assert_eq!(get(&app, "/api/v1/me", &slow).await.0, StatusCode::OK);
    let (status, headers, body) = call(
        &app,
        Method::GET,
        "/api/v1/me",
        Some(&slow),
        &[],
        Body::empty(),
    )
    .await;
    assert_problem(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(headers[header::RETRY_AFTER], "30");
    let page = ada.get("/settings/api-keys").await;
    assert!(
        page.contains("2 requests a minute; no cap of its own"),
        "{}",
        page.body
    );
}
