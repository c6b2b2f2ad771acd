//! The fake over HTTP, as an app (and a browser) would use it.

mod common;

use std::time::Duration;

use common::{
    Receiver, answer, client, get, open_session, post, start, starter_price, verify_signature,
};
use quickscale_stripe_fake::{Config, ControlError, DeliveryState, FakeStripe, Fault};
use serde_json::Value;

#[tokio::test]
async fn a_purchase_goes_from_checkout_to_a_signed_webhook() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    assert!(fake.webhook_secret.starts_with("whsec_"));

    let (customer_id, session) = open_session(&fake, &receiver).await;
    assert!(customer_id.starts_with("cus_"));
    let session_id = session["id"].as_str().unwrap().to_string();
    assert!(session_id.starts_with("cs_test_"));
    assert_eq!(session["object"], "checkout.session");
    assert_eq!(session["status"], "open");
    assert_eq!(session["payment_status"], "unpaid");
    assert_eq!(session["amount_total"], 1000);
    assert_eq!(session["currency"], "usd");
    assert_eq!(session["customer"], customer_id.as_str());
    assert_eq!(session["client_reference_id"], "user-42");
    assert_eq!(session["metadata"]["user_id"], "42");
    assert_eq!(session["payment_intent"], Value::Null);
    assert_eq!(session["livemode"], false);
    assert!(session["expires_at"].as_i64().unwrap() > session["created"].as_i64().unwrap());

    // The hosted page, as a browser sees it.
    let url = session["url"].as_str().unwrap();
    assert_eq!(url, fake.url(&format!("/checkout/{session_id}")));
    let page = client().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for needle in [
        "TEST MODE — no real money moves",
        "Starter pack",
        "$10.00",
        "4242 4242 4242 4242",
        "Pay",
        "Cancel",
    ] {
        assert!(html.contains(needle), "the checkout page lacks {needle:?}");
    }

    // Pay: a 303 to success_url with the session id filled in; following it lands there.
    let paid = client()
        .post(format!("{url}/pay"))
        .form(&[
            ("email", "ada@example.com"),
            ("card_number", "4242 4242 4242 4242"),
            ("card_exp", "12 / 34"),
            ("card_cvc", "123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    let location = paid.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        location,
        format!("{}/success?session_id={session_id}", receiver.base)
    );
    let landing = client()
        .get(&location)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(landing, format!("landed session={session_id}"));

    // The webhook: signed as Stripe documents, about the completed session.
    let webhook = receiver.wait_for("checkout.session.completed").await;
    assert!(verify_signature(
        &fake.webhook_secret,
        &webhook.signature,
        &webhook.body,
        300
    ));
    assert!(!verify_signature(
        "whsec_other",
        &webhook.signature,
        &webhook.body,
        300
    ));
    let event = &webhook.event;
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["object"], "event");
    assert_eq!(event["livemode"], false);
    let object = &event["data"]["object"];
    assert_eq!(object["id"], session_id.as_str());
    assert_eq!(object["status"], "complete");
    assert_eq!(object["payment_status"], "paid");
    assert_eq!(object["client_reference_id"], "user-42");
    assert_eq!(object["metadata"]["pack"], "starter");
    let intent_id = object["payment_intent"].as_str().unwrap().to_string();
    assert!(intent_id.starts_with("pi_"));

    // The API agrees.
    let session = get(&fake, &format!("/v1/checkout/sessions/{session_id}"))
        .await
        .ok();
    assert_eq!(
        (
            session["status"].as_str(),
            session["payment_status"].as_str()
        ),
        (Some("complete"), Some("paid"))
    );
    assert_eq!(session["payment_intent"], intent_id.as_str());
    assert_eq!(session["customer_details"]["email"], "ada@example.com");
    let expanded = get(
        &fake,
        &format!("/v1/checkout/sessions/{session_id}?expand[]=line_items&expand[]=payment_intent"),
    )
    .await
    .ok();
    assert_eq!(
        expanded["line_items"]["data"][0]["price"]["unit_amount"],
        1000
    );
    assert_eq!(expanded["payment_intent"]["status"], "succeeded");
    let intent = get(&fake, &format!("/v1/payment_intents/{intent_id}"))
        .await
        .ok();
    assert_eq!(intent["amount_received"], 1000);
    let charge = get(
        &fake,
        &format!("/v1/charges/{}", intent["latest_charge"].as_str().unwrap()),
    )
    .await
    .ok();
    assert_eq!(
        (charge["status"].as_str(), charge["paid"].as_bool()),
        (Some("succeeded"), Some(true))
    );
    assert_eq!(charge["payment_method_details"]["card"]["last4"], "4242");

    receiver.wait_for("charge.succeeded").await;
    receiver.wait_for("payment_intent.succeeded").await;
    let events = get(&fake, "/v1/events?limit=100").await.ok();
    let types: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "checkout.session.completed",
            "payment_intent.succeeded",
            "charge.succeeded",
            "payment_intent.created"
        ]
    );

    // A paid session's page says so, and cannot be paid twice.
    let again = client().get(url).send().await.unwrap();
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("already paid"));
}

#[tokio::test]
async fn price_data_sessions_and_bad_input() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let session = post(
        &fake,
        "/v1/checkout/sessions",
        &[
            ("mode", "payment"),
            (
                "success_url",
                "https://app.example/ok?cs={CHECKOUT_SESSION_ID}",
            ),
            ("line_items[0][price_data][currency]", "USD"),
            ("line_items[0][price_data][unit_amount]", "2500"),
            ("line_items[0][price_data][product_data][name]", "Pro pack"),
            ("line_items[0][quantity]", "2"),
        ],
        None,
    )
    .await
    .ok();
    assert_eq!(
        (
            session["amount_total"].as_i64(),
            session["currency"].as_str()
        ),
        (Some(5000), Some("usd"))
    );
    assert_eq!(session["customer"], Value::Null);
    let items = get(
        &fake,
        &format!(
            "/v1/checkout/sessions/{}/line_items",
            session["id"].as_str().unwrap()
        ),
    )
    .await
    .ok();
    assert_eq!(items["data"][0]["description"], "Pro pack");
    assert_eq!(items["data"][0]["quantity"], 2);
    // Ad-hoc prices do not show among the active ones.
    assert_eq!(
        get(&fake, "/v1/prices?active=true").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let missing = post(&fake, "/v1/checkout/sessions", &[("mode", "payment")], None).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.error_code(), Some("parameter_missing"));
    assert_eq!(missing.body["error"]["param"], "line_items");
    assert_eq!(missing.body["error"]["type"], "invalid_request_error");

    let bad_amount = post(
        &fake,
        "/v1/checkout/sessions",
        &[
            ("mode", "payment"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "ten"),
            ("line_items[0][price_data][product_data][name]", "x"),
            ("line_items[0][quantity]", "1"),
        ],
        None,
    )
    .await;
    assert_eq!(bad_amount.status, 400);
    assert_eq!(
        bad_amount.body["error"]["param"],
        "line_items[0][price_data][unit_amount]"
    );

    let unknown_customer = post(
        &fake,
        "/v1/checkout/sessions",
        &[("mode", "payment"), ("customer", "cus_nope")],
        None,
    )
    .await;
    assert_eq!(unknown_customer.status, 400);
    assert_eq!(unknown_customer.error_code(), Some("resource_missing"));

    let not_found = get(&fake, "/v1/customers/cus_nope").await;
    assert_eq!(not_found.status, 404);
    assert_eq!(not_found.error_code(), Some("resource_missing"));
    assert_eq!(
        not_found.body["error"]["message"],
        "No such customer: 'cus_nope'"
    );
    assert_eq!(get(&fake, "/v1/events/evt_nope").await.status, 404);
    assert_eq!(get(&fake, "/v1/nothing_here").await.status, 404);
}

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
            .bearer_auth(common::KEY)
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
async fn refunds_are_checked_against_the_payment_and_announced() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let (_, session) = open_session(&fake, &receiver).await;
    let paid = fake
        .complete_checkout_session(session["id"].as_str().unwrap())
        .unwrap();
    let intent = paid["payment_intent"].as_str().unwrap().to_string();

    let partial = post(
        &fake,
        "/v1/refunds",
        &[
            ("payment_intent", &intent),
            ("amount", "400"),
            ("reason", "requested_by_customer"),
            ("metadata[refund_id]", "r1"),
        ],
        Some("refund-1"),
    )
    .await
    .ok();
    assert!(partial["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(
        (partial["status"].as_str(), partial["amount"].as_i64()),
        (Some("succeeded"), Some(400))
    );
    assert_eq!(partial["payment_intent"], intent.as_str());
    assert_eq!(partial["metadata"]["refund_id"], "r1");
    // A retry with the same key refunds nothing more.
    let retry = post(
        &fake,
        "/v1/refunds",
        &[
            ("payment_intent", &intent),
            ("amount", "400"),
            ("reason", "requested_by_customer"),
            ("metadata[refund_id]", "r1"),
        ],
        Some("refund-1"),
    )
    .await;
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));

    let too_much = post(
        &fake,
        "/v1/refunds",
        &[("payment_intent", &intent), ("amount", "700")],
        None,
    )
    .await;
    assert_eq!(too_much.status, 400);
    assert_eq!(too_much.error_code(), Some("amount_too_large"));
    assert_eq!(too_much.body["error"]["param"], "amount");

    // No amount: the whole remainder.
    let rest = post(&fake, "/v1/refunds", &[("payment_intent", &intent)], None)
        .await
        .ok();
    assert_eq!(rest["amount"], 600);
    let again = post(
        &fake,
        "/v1/refunds",
        &[("payment_intent", &intent), ("amount", "1")],
        None,
    )
    .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.error_code(), Some("charge_already_refunded"));

    let refunds = get(&fake, &format!("/v1/refunds?payment_intent={intent}"))
        .await
        .ok();
    assert_eq!(refunds["data"].as_array().unwrap().len(), 2);

    // charge.refunded carries the charge with its refunds; refund.created and refund.updated too.
    for _ in 0..1000 {
        if receiver
            .types()
            .iter()
            .filter(|t| *t == "charge.refunded")
            .count()
            == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refunded: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.event["type"] == "charge.refunded")
        .collect();
    assert_eq!(refunded.len(), 2);
    let last = &refunded
        .iter()
        .max_by_key(|r| r.event["data"]["object"]["amount_refunded"].as_i64())
        .unwrap()
        .event["data"]["object"];
    assert_eq!(last["object"], "charge");
    assert_eq!(last["amount_refunded"], 1000);
    assert_eq!(last["refunded"], true);
    assert_eq!(last["payment_intent"], intent.as_str());
    assert_eq!(last["refunds"]["data"].as_array().unwrap().len(), 2);
    receiver.wait_for("refund.created").await;
    let updated = receiver.wait_for("refund.updated").await;
    assert!(updated.event["data"]["previous_attributes"].is_object());
    assert_eq!(fake.events_of_type("refund.created").len(), 2);
    let first_refund_event = fake.events_of_type("refund.created").remove(0);
    assert_eq!(first_refund_event["request"]["idempotency_key"], "refund-1");
}

#[tokio::test]
async fn withheld_events_are_listed_but_not_delivered_until_asked() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let control = client()
        .post(fake.url("/_test/withhold"))
        .json(&serde_json::json!({"types": ["checkout.session.completed"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(control.status(), 200);
    let (_, session) = open_session(&fake, &receiver).await;
    let session_id = session["id"].as_str().unwrap();
    let completed = client()
        .post(fake.url(&format!("/_test/checkout/sessions/{session_id}/complete")))
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), 200);

    receiver.wait_for("payment_intent.succeeded").await;
    let listed = get(&fake, "/v1/events?type=checkout.session.completed")
        .await
        .ok();
    let event = &listed["data"][0];
    let event_id = event["id"].as_str().unwrap().to_string();
    assert_eq!(event["data"]["object"]["id"], session_id);
    let undelivered = get(&fake, "/v1/events?delivery_success=false").await.ok();
    assert!(
        undelivered["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == event_id.as_str())
    );
    assert_eq!(
        fake.delivery_state(&event_id),
        Some(DeliveryState::Withheld)
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !receiver
            .types()
            .contains(&"checkout.session.completed".to_string())
    );

    // Reconciliation's late delivery: deliver it explicitly.
    let delivered = client()
        .post(fake.url(&format!("/_test/events/{event_id}/deliver")))
        .send()
        .await
        .unwrap();
    let attempt: Value = delivered.json().await.unwrap();
    assert_eq!(attempt["status"], 200);
    assert_eq!(attempt["succeeded"], true);
    let webhook = receiver.wait_for("checkout.session.completed").await;
    assert_eq!(webhook.event["id"], event_id.as_str());
    assert_eq!(
        fake.delivery_state(&event_id),
        Some(DeliveryState::Delivered)
    );
}

#[tokio::test]
async fn events_are_delivered_in_a_chosen_order_and_paged_newest_first() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    fake.withhold_event_types(&["*"]);
    let (_, session) = open_session(&fake, &receiver).await;
    fake.complete_checkout_session(session["id"].as_str().unwrap())
        .unwrap();
    let events = fake.events();
    assert_eq!(events.len(), 4);
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();

    // Newest first, two per page.
    let page1 = get(&fake, "/v1/events?limit=2").await.ok();
    assert_eq!(page1["object"], "list");
    assert_eq!(page1["has_more"], true);
    assert_eq!(page1["data"][0]["id"], ids[3]);
    let after = page1["data"][1]["id"].as_str().unwrap();
    let page2 = get(&fake, &format!("/v1/events?limit=2&starting_after={after}"))
        .await
        .ok();
    assert_eq!(page2["data"][0]["id"], ids[1]);
    assert_eq!(page2["data"][1]["id"], ids[0]);
    assert_eq!(page2["has_more"], false);

    // The completion first, then the rest in reverse: an out-of-order delivery.
    let order = [ids[3], ids[0], ids[2], ids[1]];
    let response = client()
        .post(fake.url("/_test/events/deliver"))
        .json(&serde_json::json!({"ids": order}))
        .send()
        .await
        .unwrap();
    let attempts: Value = response.json().await.unwrap();
    assert_eq!(attempts["data"].as_array().unwrap().len(), 4);
    let got: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.event["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, order);

    // Redelivery sends the same event again.
    let again = fake.deliver_event(ids[3]).await.unwrap();
    assert!(again.succeeded);
    assert_eq!(receiver.received().len(), 5);
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff_and_logged() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let (_, session) = open_session(&fake, &receiver).await;
    // One event (the expiry) meets two failures: attempts 1 and 2 fail (500), 3 succeeds.
    receiver.fail_next(2);
    let started = std::time::Instant::now();
    fake.expire_checkout_session(session["id"].as_str().unwrap())
        .unwrap();
    let delivered = fake
        .wait_for_delivery("checkout.session.expired", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(delivered.succeeded);
    assert!(started.elapsed() < Duration::from_secs(8));

    let log: Value = client()
        .get(fake.url("/_test/deliveries?type=checkout.session.expired"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attempts = log["data"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{log}");
    assert_eq!(
        attempts
            .iter()
            .map(|a| a["attempt"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[0]["succeeded"], false);
    assert_eq!(attempts[2]["status"], 200);
    // The schedule of Config::for_tests: 50 ms, then 100 ms.
    assert!(
        attempts[2]["sent_at_ms"].as_i64().unwrap() - attempts[0]["sent_at_ms"].as_i64().unwrap()
            >= 150
    );
    assert_eq!(receiver.received().len(), 3);
    // Every attempt is signed afresh over the same body.
    for r in receiver.received() {
        assert!(verify_signature(
            &fake.webhook_secret,
            &r.signature,
            &r.body,
            300
        ));
    }

    // An endpoint that is down: every attempt fails, and the event is marked failed.
    let down =
        FakeStripe::start(Config::for_tests().with_webhook_url("http://127.0.0.1:9/nothing"))
            .await
            .unwrap();
    assert!(matches!(
        down.expire_checkout_session("cs_test_unknown"),
        Err(ControlError::NotFound(_))
    ));
    let pack = open_session(&down, &receiver).await.1;
    down.expire_checkout_session(pack["id"].as_str().unwrap())
        .unwrap();
    let event_id = down.events_of_type("checkout.session.expired")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..1000 {
        if down.delivery_state(&event_id) == Some(DeliveryState::Failed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(down.delivery_state(&event_id), Some(DeliveryState::Failed));
    let attempts: Vec<_> = down
        .deliveries()
        .into_iter()
        .filter(|d| d.event_id == event_id)
        .collect();
    assert_eq!(attempts.len(), 4, "the first attempt and three retries");
    assert!(attempts.iter().all(|a| a.error.is_some()));
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
        .bearer_auth(common::KEY)
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

#[tokio::test]
async fn a_declined_card_pays_nothing_and_a_retry_can_succeed() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let (_, session) = open_session(&fake, &receiver).await;
    let session_id = session["id"].as_str().unwrap().to_string();
    let url = session["url"].as_str().unwrap().to_string();
    let card = |number: &'static str| {
        [
            ("card_number", number),
            ("card_exp", "12/34"),
            ("card_cvc", "123"),
        ]
    };

    let declined = client()
        .post(format!("{url}/pay"))
        .form(&card("4000 0000 0000 0002"))
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), 402);
    assert!(
        declined
            .text()
            .await
            .unwrap()
            .contains("Your card was declined.")
    );
    let still_open = get(&fake, &format!("/v1/checkout/sessions/{session_id}"))
        .await
        .ok();
    assert_eq!(
        (
            still_open["status"].as_str(),
            still_open["payment_status"].as_str()
        ),
        (Some("open"), Some("unpaid"))
    );
    assert_eq!(still_open["payment_intent"], Value::Null);
    let failed = receiver.wait_for("payment_intent.payment_failed").await;
    let intent_id = failed.event["data"]["object"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        failed.event["data"]["object"]["last_payment_error"]["decline_code"],
        "generic_decline"
    );
    assert!(fake.events_of_type("checkout.session.completed").is_empty());

    let unknown = client()
        .post(format!("{url}/pay"))
        .form(&card("1234 5678 9012 3456"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);

    let paid = client()
        .post(format!("{url}/pay"))
        .form(&card("4242424242424242"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    let completed = receiver.wait_for("checkout.session.completed").await;
    assert_eq!(
        completed.event["data"]["object"]["payment_intent"],
        intent_id.as_str(),
        "the PaymentIntent is reused"
    );
    let charges = get(&fake, &format!("/v1/charges?payment_intent={intent_id}"))
        .await
        .ok();
    assert_eq!(
        charges["data"].as_array().unwrap().len(),
        2,
        "one failed charge, one paid"
    );

    // The control does the same without a browser.
    let (_, other) = open_session(&fake, &receiver).await;
    let intent = fake
        .fail_checkout_session(other["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(intent["status"], "requires_payment_method");
}

#[tokio::test]
async fn cancel_expiry_and_the_billing_portal() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let (_, session) = open_session(&fake, &receiver).await;
    let url = session["url"].as_str().unwrap().to_string();
    let cancelled = client().post(format!("{url}/cancel")).send().await.unwrap();
    assert_eq!(cancelled.status(), 303);
    assert_eq!(
        cancelled.headers()["location"].to_str().unwrap(),
        format!("{}/cancel", receiver.base)
    );

    let expired = post(
        &fake,
        &format!(
            "/v1/checkout/sessions/{}/expire",
            session["id"].as_str().unwrap()
        ),
        &[],
        None,
    )
    .await
    .ok();
    assert_eq!(expired["status"], "expired");
    assert_eq!(expired["url"], Value::Null);
    let page = client().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 410);
    assert!(page.text().await.unwrap().contains("expired"));
    receiver.wait_for("checkout.session.expired").await;

    // A session past its expires_at expires when next looked at.
    let price = starter_price(&fake).await;
    let soon = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let short = post(
        &fake,
        "/v1/checkout/sessions",
        &[
            ("mode", "payment"),
            ("line_items[0][price]", &price),
            ("line_items[0][quantity]", "1"),
            ("expires_at", &soon),
        ],
        None,
    )
    .await
    .ok();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let later = get(
        &fake,
        &format!("/v1/checkout/sessions/{}", short["id"].as_str().unwrap()),
    )
    .await
    .ok();
    assert_eq!(later["status"], "expired");

    let (customer_id, paid) = open_session(&fake, &receiver).await;
    fake.complete_checkout_session(paid["id"].as_str().unwrap())
        .unwrap();
    let portal = post(
        &fake,
        "/v1/billing_portal/sessions",
        &[
            ("customer", &customer_id),
            ("return_url", "https://app.example/account"),
        ],
        None,
    )
    .await
    .ok();
    assert!(portal["id"].as_str().unwrap().starts_with("bps_"));
    assert_eq!(portal["object"], "billing_portal.session");
    let html = client()
        .get(portal["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("$10.00"));
    assert!(html.contains("ada@example.com"));
    assert!(html.contains("Return"));
    assert!(html.contains("https://app.example/account"));
}

#[tokio::test]
async fn catalog_products_prices_and_reset() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let prices = get(&fake, "/v1/prices?active=true&expand[]=data.product")
        .await
        .ok();
    let price = &prices["data"][0];
    assert!(price["id"].as_str().unwrap().starts_with("price_"));
    assert_eq!(
        (
            price["unit_amount"].as_i64(),
            price["currency"].as_str(),
            price["type"].as_str()
        ),
        (Some(1000), Some("usd"), Some("one_time"))
    );
    assert_eq!(price["product"]["name"], "Starter pack");
    assert_eq!(price["product"]["metadata"]["credits"], "100");
    let products = get(&fake, "/v1/products").await.ok();
    assert!(
        products["data"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("prod_")
    );
    let by_key = get(&fake, "/v1/prices?lookup_keys[]=starter_pack")
        .await
        .ok();
    assert_eq!(by_key["data"].as_array().unwrap().len(), 1);

    let product = post(
        &fake,
        "/v1/products",
        &[
            ("name", "Big pack"),
            ("metadata[credits]", "1000"),
            ("default_price_data[currency]", "usd"),
            ("default_price_data[unit_amount]", "5000"),
        ],
        None,
    )
    .await
    .ok();
    assert!(
        product["default_price"]
            .as_str()
            .unwrap()
            .starts_with("price_")
    );
    let price = post(
        &fake,
        "/v1/prices",
        &[
            ("product", product["id"].as_str().unwrap()),
            ("currency", "eur"),
            ("unit_amount", "4500"),
        ],
        None,
    )
    .await
    .ok();
    assert_eq!(price["currency"], "eur");
    assert_eq!(
        get(&fake, "/v1/prices?active=true").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let reset = client()
        .post(fake.url("/_test/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(
        get(&fake, "/v1/prices?active=true").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(fake.events().is_empty());
}

/// The signature checked by Stripe's own Python library, and the library used as a client.
/// Skipped (with a message) when the `stripe` package cannot be imported or installed, unless
/// `QS_REQUIRE_PYTHON_STRIPE` is set (CI sets it): then that is a failure.
#[tokio::test]
async fn stripes_python_library_accepts_the_signatures_and_objects() {
    if !python_stripe_available() {
        assert!(
            std::env::var_os("QS_REQUIRE_PYTHON_STRIPE").is_none(),
            "Stripe's Python library is required (QS_REQUIRE_PYTHON_STRIPE) but cannot be imported"
        );
        println!(
            "SKIPPED: Stripe's Python library is not available (pip install stripe failed or no python3)"
        );
        return;
    }
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let (_, session) = open_session(&fake, &receiver).await;
    fake.complete_checkout_session(session["id"].as_str().unwrap())
        .unwrap();
    let webhook = receiver.wait_for("checkout.session.completed").await;

    let dir = tempfile_dir();
    std::fs::write(dir.join("payload.json"), &webhook.body).unwrap();
    let script = r#"
import sys, stripe
payload = open(sys.argv[1], 'rb').read().decode('utf-8')
sig, secret, base = sys.argv[2], sys.argv[3], sys.argv[4]
event = stripe.Webhook.construct_event(payload, sig, secret)
assert event.type == 'checkout.session.completed', event.type
assert event.data.object.payment_status == 'paid'
try:
    stripe.Webhook.construct_event(payload, sig, 'whsec_wrong')
    raise SystemExit('a wrong secret was accepted')
except stripe.SignatureVerificationError:
    pass
client = stripe.StripeClient('sk_test_python', base_addresses={'api': base}, max_network_retries=0)
customer = client.v1.customers.create(params={'email': 'py@example.com', 'metadata': {'user_id': '7'}})
prices = client.v1.prices.list(params={'active': True})
session = client.v1.checkout.sessions.create(params={
    'mode': 'payment', 'customer': customer.id, 'success_url': 'https://x.example/ok',
    'line_items': [{'price': prices.data[0].id, 'quantity': 1}],
    'metadata': {'user_id': '7'},
})
assert session.url.startswith(base), session.url
again = client.v1.checkout.sessions.retrieve(session.id)
assert again.status == 'open' and again.metadata['user_id'] == '7'
events = client.v1.events.list(params={'limit': 3})
assert events.data[0].type == 'checkout.session.completed', events.data[0].type
print('python stripe', stripe.VERSION, 'ok')
"#;
    std::fs::write(dir.join("check.py"), script).unwrap();
    // Async: the fake serves the library's calls on this same runtime meanwhile.
    let output = tokio::process::Command::new("python3")
        .arg(dir.join("check.py"))
        .arg(dir.join("payload.json"))
        .arg(&webhook.signature)
        .arg(&fake.webhook_secret)
        .arg(&fake.base_url)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    assert!(
        output.status.success(),
        "Stripe's Python library refused: {stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "stripe-fake-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// `import stripe` works, or does after `pip install stripe` (bounded to two minutes).
fn python_stripe_available() -> bool {
    let import = || {
        std::process::Command::new("python3")
            .args(["-c", "import stripe"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if import() {
        return true;
    }
    if std::env::var_os("STRIPE_FAKE_NO_PIP").is_some() {
        return false;
    }
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "stripe",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return false };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
    import()
}
