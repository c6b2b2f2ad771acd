//! What every API call goes through: test keys only, idempotency keys, injected faults.

use std::time::Duration;

use crate::common::{KEY, Receiver, answer, client, get, post, start};
use quickscale_stripe_fake::Fault;

#[tokio::test]
async fn only_test_keys_are_accepted() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let none = answer(
        client()
            .get(fake.url("/v1/customers"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(none.status, 401);
    assert_eq!(none.body["error"]["type"], "invalid_request_error");
    assert!(none.body["error"].as_object().unwrap().contains_key("code"));
    let live = answer(
        client()
            .get(fake.url("/v1/customers"))
            .bearer_auth("sk_live_123")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(live.status, 401);
    let basic = answer(
        client()
            .get(fake.url("/v1/customers"))
            .basic_auth("sk_test_abc", Some(""))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(basic.status, 200);
    assert!(basic.header("request-id").unwrap().starts_with("req_"));
    let json = answer(
        client()
            .post(fake.url("/v1/customers"))
            .bearer_auth(KEY)
            .json(&serde_json::json!({"email": "a@b.c"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(json.status, 400, "Stripe takes form bodies, not JSON");
}

#[tokio::test]
async fn idempotency_keys_replay_and_refuse_other_parameters() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let form = [("email", "ada@example.com"), ("metadata[user_id]", "42")];
    let first = post(&fake, "/v1/customers", &form, Some("key-1")).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("idempotent-replayed"), None);
    // The same parameters in another order are the same request.
    let reordered = [("metadata[user_id]", "42"), ("email", "ada@example.com")];
    let second = post(&fake, "/v1/customers", &reordered, Some("key-1")).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        second.header("original-request"),
        first.header("request-id")
    );
    assert_eq!(first.body, second.body);
    let customers = get(&fake, "/v1/customers").await.ok();
    assert_eq!(
        customers["data"].as_array().unwrap().len(),
        1,
        "a replay creates nothing"
    );

    let different = post(
        &fake,
        "/v1/customers",
        &[("email", "bob@example.com")],
        Some("key-1"),
    )
    .await;
    assert_eq!(different.status, 400);
    assert_eq!(different.body["error"]["type"], "idempotency_error");
    let other_endpoint = post(&fake, "/v1/products", &form, Some("key-1")).await;
    assert_eq!(other_endpoint.body["error"]["type"], "idempotency_error");

    // A validation error is not stored: the key can be used again once the request is fixed.
    let invalid = post(&fake, "/v1/products", &[], Some("key-2")).await;
    assert_eq!(invalid.status, 400);
    let fixed = post(
        &fake,
        "/v1/products",
        &[("name", "Bulk pack")],
        Some("key-2"),
    )
    .await;
    assert_eq!(fixed.status, 200);
}

#[tokio::test]
async fn faults_make_the_api_fail_or_hang() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let set = client()
        .post(fake.url("/_test/faults"))
        .json(&serde_json::json!({"mode": "error", "count": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    for _ in 0..2 {
        let failed = get(&fake, "/v1/prices").await;
        assert_eq!(failed.status, 500);
        assert_eq!(failed.body["error"]["type"], "api_error");
    }
    assert_eq!(get(&fake, "/v1/prices").await.status, 200);

    // A hang past the client's timeout.
    fake.inject_fault(Fault {
        hang_ms: Some(1500),
        ..Fault::timeout(1)
    });
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let timed_out = quick
        .get(fake.url("/v1/prices"))
        .bearer_auth(KEY)
        .send()
        .await;
    assert!(timed_out.unwrap_err().is_timeout());
    assert_eq!(get(&fake, "/v1/prices").await.status, 200);

    // Done, but the answer was lost: a retry with the same key gets the stored answer.
    fake.inject_fault(Fault {
        after_processing: true,
        path_prefix: Some("/v1/customers".into()),
        ..Fault::error(1)
    });
    assert_eq!(
        get(&fake, "/v1/prices").await.status,
        200,
        "other paths are not hit"
    );
    let lost = post(
        &fake,
        "/v1/customers",
        &[("email", "lost@example.com")],
        Some("lost-1"),
    )
    .await;
    assert_eq!(lost.status, 500);
    let retried = post(
        &fake,
        "/v1/customers",
        &[("email", "lost@example.com")],
        Some("lost-1"),
    )
    .await;
    assert_eq!(retried.status, 200);
    assert_eq!(retried.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        get(&fake, "/v1/customers").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(fake.fault().is_none());
}
