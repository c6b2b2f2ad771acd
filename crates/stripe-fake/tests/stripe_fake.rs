//! The fake over HTTP, as an app (and a browser) would use it.

mod common;

use std::time::Duration;

use common::{
    Receiver, answer, billing_events_after, client, complete_subscription, count, delete,
    events_after, get, latest_invoice, open_session, page_html, pay_on_page, portal_url, post,
    price_by_key, recurring_price, start, start_with_plan, starter_price, submit_form, subscribe,
    verify_signature,
};
use quickscale_stripe_fake::{
    CatalogItem, Config, ControlError, DeliveryState, FakeStripe, Fault, Running,
};
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
    let paid = pay_on_page(url, "ada@example.com", "4242 4242 4242 4242").await;
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
    // Far enough ahead to still be in the future when a busy machine sends the request.
    let unix_now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
    };
    let expiry = unix_now().as_secs() + 3;
    let soon = expiry.to_string();
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
    while unix_now().as_secs() <= expiry {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    let html = page_html(portal["url"].as_str().unwrap()).await;
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

// ----- subscriptions --------------------------------------------------------------------------

/// The events of a subscription change that was invoiced and paid at once (renewal,
/// `always_invoice`), leaving out those of the payment itself.
const INVOICED_AND_PAID: [&str; 5] = [
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "customer.subscription.updated",
];

/// Seconds in the calendar month after `start` (28 to 31 days).
fn month_after(start: i64) -> std::ops::RangeInclusive<i64> {
    start + 28 * 86_400..=start + 31 * 86_400
}

#[tokio::test]
async fn a_subscription_goes_from_checkout_to_signed_webhooks() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let plan = price_by_key(&fake, "pro_monthly").await;
    let price = get(&fake, &format!("/v1/prices/{plan}?expand[]=product"))
        .await
        .ok();
    assert_eq!(price["type"], "recurring");
    assert_eq!(price["unit_amount"], 2000);
    assert_eq!(price["recurring"]["interval"], "month");
    assert_eq!(price["recurring"]["interval_count"], 1);
    assert_eq!(price["recurring"]["usage_type"], "licensed");
    assert_eq!(price["product"]["name"], "Pro plan");
    assert_eq!(price["metadata"]["credits"], "1000");

    let session = post(
        &fake,
        "/v1/checkout/sessions",
        &[
            ("mode", "subscription"),
            ("customer_email", "grace@example.com"),
            (
                "success_url",
                &format!(
                    "{}/success?session_id={{CHECKOUT_SESSION_ID}}",
                    receiver.base
                ),
            ),
            ("line_items[0][price]", &plan),
            ("line_items[0][quantity]", "1"),
            ("subscription_data[metadata][user_id]", "42"),
            ("metadata[user_id]", "42"),
        ],
        None,
    )
    .await
    .ok();
    let session_id = session["id"].as_str().unwrap().to_string();
    assert_eq!(session["mode"], "subscription");
    assert_eq!(session["amount_total"], 2000);
    for field in ["subscription", "invoice", "payment_intent", "customer"] {
        assert_eq!(session[field], Value::Null, "{field}");
    }

    // The hosted page says what is bought and how often.
    let url = session["url"].as_str().unwrap().to_string();
    let html = page_html(&url).await;
    for needle in [
        "TEST MODE — no real money moves",
        "Subscribe to Pro plan",
        "$20.00 per month",
        ">Subscribe</button>",
    ] {
        assert!(html.contains(needle), "the checkout page lacks {needle:?}");
    }
    let paid = pay_on_page(&url, "grace@example.com", "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), 303);

    // Every webhook, signed, in Stripe's order: the customer made from the email first; the
    // subscription incomplete until its first invoice is paid, then active.
    let completed = receiver.wait_for("checkout.session.completed").await;
    let received = receiver.received();
    for webhook in &received {
        assert!(verify_signature(
            &fake.webhook_secret,
            &webhook.signature,
            &webhook.body,
            300
        ));
    }
    assert_eq!(
        receiver.types(),
        [
            "customer.created",
            "payment_intent.created",
            "charge.succeeded",
            "payment_intent.succeeded",
            "customer.subscription.created",
            "invoice.created",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded",
            "customer.subscription.updated",
            "checkout.session.completed",
        ]
    );
    let object = &completed.event["data"]["object"];
    let subscription_id = object["subscription"].as_str().unwrap().to_string();
    let invoice_id = object["invoice"].as_str().unwrap().to_string();
    let customer_id = object["customer"].as_str().unwrap().to_string();
    assert!(subscription_id.starts_with("sub_"));
    assert!(invoice_id.starts_with("in_"));
    assert!(
        customer_id.starts_with("cus_"),
        "a customer is made from the email"
    );
    assert_eq!(object["payment_intent"], Value::Null);
    assert_eq!(object["payment_status"], "paid");
    let event = |kind: &str| {
        received
            .iter()
            .find(|r| r.event["type"] == kind)
            .map(|r| r.event["data"].clone())
            .unwrap()
    };
    let new_customer = event("customer.created");
    assert_eq!(new_customer["object"]["id"], customer_id.as_str());
    assert_eq!(new_customer["object"]["email"], "grace@example.com");
    let created = event("customer.subscription.created");
    assert_eq!(created["object"]["id"], subscription_id.as_str());
    assert_eq!(created["object"]["status"], "incomplete");
    assert_eq!(created["object"]["latest_invoice"], invoice_id.as_str());
    let activated = event("customer.subscription.updated");
    assert_eq!(activated["object"]["status"], "active");
    assert_eq!(
        activated["previous_attributes"],
        serde_json::json!({"status": "incomplete"})
    );
    let draft = received
        .iter()
        .find(|r| r.event["type"] == "invoice.created")
        .unwrap();
    assert_eq!(draft.event["data"]["object"]["status"], "draft");

    // The subscription: active for one calendar month, the plan's price, the metadata.
    let sub = get(&fake, &format!("/v1/subscriptions/{subscription_id}"))
        .await
        .ok();
    assert_eq!(sub["object"], "subscription");
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["customer"], customer_id.as_str());
    assert_eq!(sub["currency"], "usd");
    assert_eq!(sub["collection_method"], "charge_automatically");
    assert_eq!(sub["cancel_at_period_end"], false);
    assert_eq!(sub["cancel_at"], Value::Null);
    assert_eq!(sub["latest_invoice"], invoice_id.as_str());
    assert_eq!(sub["metadata"]["user_id"], "42");
    assert!(
        sub["default_payment_method"]
            .as_str()
            .unwrap()
            .starts_with("pm_")
    );
    let start = sub["current_period_start"].as_i64().unwrap();
    let end = sub["current_period_end"].as_i64().unwrap();
    assert!(month_after(start).contains(&end), "{start}..{end}");
    assert_eq!(sub["start_date"], start);
    assert_eq!(sub["billing_cycle_anchor"], start);
    let item = &sub["items"]["data"][0];
    assert!(item["id"].as_str().unwrap().starts_with("si_"));
    assert_eq!(item["object"], "subscription_item");
    assert_eq!(item["price"]["id"], plan.as_str());
    assert_eq!(item["quantity"], 1);
    assert_eq!(item["subscription"], subscription_id.as_str());
    assert_eq!(item["current_period_end"], end);

    // The first invoice, paid.
    let invoice = get(&fake, &format!("/v1/invoices/{invoice_id}")).await.ok();
    assert_eq!(invoice["object"], "invoice");
    assert_eq!(invoice["billing_reason"], "subscription_create");
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["paid"], true);
    for field in ["amount_due", "amount_paid", "total", "subtotal"] {
        assert_eq!(invoice[field], 2000, "{field}");
    }
    assert_eq!(invoice["amount_remaining"], 0);
    assert_eq!(invoice["attempt_count"], 1);
    assert_eq!(invoice["subscription"], subscription_id.as_str());
    assert_eq!(
        invoice["parent"]["subscription_details"]["subscription"],
        subscription_id.as_str()
    );
    assert_eq!(
        invoice["parent"]["subscription_details"]["metadata"]["user_id"],
        "42"
    );
    assert_eq!(invoice["customer_email"], "grace@example.com");
    let customer = get(&fake, &format!("/v1/customers/{customer_id}"))
        .await
        .ok();
    assert_eq!(
        invoice["number"],
        format!("{}-0001", customer["invoice_prefix"].as_str().unwrap()).as_str()
    );
    assert!(invoice["charge"].as_str().unwrap().starts_with("ch_"));
    let line = &invoice["lines"]["data"][0];
    assert!(line["id"].as_str().unwrap().starts_with("il_"));
    assert_eq!(line["amount"], 2000);
    assert_eq!(line["proration"], false);
    assert_eq!(line["price"]["id"], plan.as_str());
    assert_eq!(line["period"]["start"], start);
    assert_eq!(line["period"]["end"], end);
    let hosted = page_html(invoice["hosted_invoice_url"].as_str().unwrap()).await;
    assert!(hosted.contains("$20.00"));

    // Expansion, lists and filters.
    let expanded = get(
        &fake,
        &format!(
            "/v1/subscriptions/{subscription_id}?expand[]=latest_invoice.payment_intent&expand[]=customer"
        ),
    )
    .await
    .ok();
    assert_eq!(
        expanded["latest_invoice"]["payment_intent"]["status"],
        "succeeded"
    );
    assert_eq!(
        expanded["latest_invoice"]["payment_intent"]["amount_received"],
        2000
    );
    assert_eq!(expanded["customer"]["email"], "grace@example.com");
    let session = get(
        &fake,
        &format!("/v1/checkout/sessions/{session_id}?expand[]=subscription"),
    )
    .await
    .ok();
    assert_eq!(session["subscription"]["id"], subscription_id.as_str());
    let invoices = get(
        &fake,
        &format!("/v1/invoices?subscription={subscription_id}&expand[]=data.subscription"),
    )
    .await
    .ok();
    assert_eq!(invoices["data"].as_array().unwrap().len(), 1);
    assert_eq!(invoices["data"][0]["subscription"]["status"], "active");
    for query in [
        format!("customer={customer_id}"),
        format!("price={plan}"),
        "status=active".to_string(),
    ] {
        let listed = get(&fake, &format!("/v1/subscriptions?{query}")).await.ok();
        assert_eq!(listed["data"][0]["id"], subscription_id.as_str(), "{query}");
    }
    assert_eq!(fake.subscriptions().len(), 1);
}

#[tokio::test]
async fn renewals_charge_the_card_and_a_decline_makes_the_subscription_past_due() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let plan = price_by_key(&fake, "pro_monthly").await;
    let sub = subscribe(&fake, "ada@example.com", &plan).await;
    let id = sub["id"].as_str().unwrap().to_string();
    let first_end = sub["current_period_end"].as_i64().unwrap();

    // A renewal that pays.
    let mark = fake.events().len();
    let renewed = fake.renew_subscription(&id, None).unwrap();
    assert_eq!(renewed["status"], "active");
    assert_eq!(renewed["current_period_start"], first_end);
    let second_end = renewed["current_period_end"].as_i64().unwrap();
    assert!(month_after(first_end).contains(&second_end));
    assert_eq!(
        renewed["items"]["data"][0]["current_period_start"],
        first_end
    );
    assert_eq!(billing_events_after(&fake, mark), INVOICED_AND_PAID);
    let updated = events_after(&fake, mark, "customer.subscription.updated").remove(0);
    assert_eq!(
        updated["data"]["previous_attributes"]["current_period_start"],
        sub["current_period_start"]
    );
    assert_ne!(renewed["latest_invoice"], sub["latest_invoice"]);
    let invoice = latest_invoice(&fake, &renewed).await;
    assert_eq!(invoice["billing_reason"], "subscription_cycle");
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["amount_paid"], 2000);
    assert!(invoice["number"].as_str().unwrap().ends_with("-0002"));
    assert_eq!(invoice["lines"]["data"][0]["period"]["start"], first_end);
    assert_eq!(invoice["lines"]["data"][0]["period"]["end"], second_end);

    // A renewal with a card that declines, through the HTTP control.
    let mark = fake.events().len();
    let declined: Value = client()
        .post(fake.url(&format!("/_test/subscriptions/{id}/renew")))
        .json(&serde_json::json!({"card": "4000 0000 0000 0002"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(declined["status"], "past_due");
    assert_eq!(declined["current_period_start"], second_end);
    assert_eq!(
        billing_events_after(&fake, mark),
        [
            "invoice.created",
            "invoice.finalized",
            "invoice.payment_failed",
            "customer.subscription.updated",
        ]
    );
    let past_due = events_after(&fake, mark, "customer.subscription.updated").remove(0);
    assert_eq!(past_due["data"]["previous_attributes"]["status"], "active");
    let open_id = declined["latest_invoice"].as_str().unwrap().to_string();
    let open = get(&fake, &format!("/v1/invoices/{open_id}")).await.ok();
    assert_eq!(open["status"], "open");
    assert_eq!(open["paid"], false);
    assert_eq!(open["attempted"], true);
    assert_eq!(open["attempt_count"], 1);
    assert_eq!(open["amount_remaining"], 2000);
    let failed = receiver.wait_for("invoice.payment_failed").await;
    assert_eq!(failed.event["data"]["object"]["id"], open_id.as_str());
    let listed = get(&fake, "/v1/invoices?status=open").await.ok();
    assert_eq!(listed["data"][0]["id"], open_id.as_str());

    // The next renewal retries that invoice with a good card: active again, same period.
    let mark = fake.events().len();
    let retried = fake
        .renew_subscription(&id, Some("4242424242424242"))
        .unwrap();
    assert_eq!(retried["status"], "active");
    assert_eq!(retried["current_period_start"], second_end);
    assert_eq!(retried["latest_invoice"], open_id.as_str());
    assert_eq!(
        billing_events_after(&fake, mark),
        [
            "invoice.paid",
            "invoice.payment_succeeded",
            "customer.subscription.updated",
        ]
    );
    let paid = get(&fake, &format!("/v1/invoices/{open_id}")).await.ok();
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["attempt_count"], 2);
    assert_eq!(
        count(&fake, &format!("/v1/invoices?subscription={id}&limit=100")).await,
        3
    );
    assert!(matches!(
        fake.renew_subscription("sub_nope", None),
        Err(ControlError::NotFound(_))
    ));
}

/// The two proration lines of a change from `old` to `new` (unit amounts, quantity one) at
/// the invoice's time, by the formula, within a cent.
fn assert_prorated(lines: &[Value], sub: &Value, at: i64, old: i64, new: i64) {
    let start = sub["current_period_start"].as_i64().unwrap() as f64;
    let end = sub["current_period_end"].as_i64().unwrap() as f64;
    let fraction = (end - at as f64) / (end - start);
    let prorations: Vec<&Value> = lines.iter().filter(|l| l["proration"] == true).collect();
    assert_eq!(prorations.len(), 2, "{lines:?}");
    let unused = prorations[0]["amount"].as_i64().unwrap();
    let remaining = prorations[1]["amount"].as_i64().unwrap();
    assert!(
        (unused + (old as f64 * fraction).round() as i64).abs() <= 1,
        "{unused}"
    );
    assert!(
        (remaining - (new as f64 * fraction).round() as i64).abs() <= 1,
        "{remaining}"
    );
    assert!(
        prorations[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Unused time on Pro plan after ")
    );
    assert!(
        prorations[1]["description"]
            .as_str()
            .unwrap()
            .starts_with("Remaining time on Team plan after ")
    );
}

#[tokio::test]
async fn price_changes_prorate_as_asked() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let plan = price_by_key(&fake, "pro_monthly").await;
    let team = recurring_price(&fake, "Team plan", 5000, "month").await;
    let change = |sub: &Value, price: &str, behaviour: &'static str| {
        let path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());
        let item = sub["items"]["data"][0]["id"].as_str().unwrap().to_string();
        let price = price.to_string();
        let fake = &fake;
        async move {
            post(
                fake,
                &path,
                &[
                    ("items[0][id]", item.as_str()),
                    ("items[0][price]", price.as_str()),
                    ("proration_behavior", behaviour),
                ],
                None,
            )
            .await
            .ok()
        }
    };

    // always_invoice: the prorations are invoiced and charged now.
    let sub = subscribe(&fake, "upgrade@example.com", &plan).await;
    let mark = fake.events().len();
    let upgraded = change(&sub, &team, "always_invoice").await;
    assert_eq!(upgraded["items"]["data"][0]["price"]["id"], team.as_str());
    assert_eq!(upgraded["current_period_end"], sub["current_period_end"]);
    assert_eq!(billing_events_after(&fake, mark), INVOICED_AND_PAID);
    let updated = events_after(&fake, mark, "customer.subscription.updated").remove(0);
    assert_eq!(
        updated["data"]["previous_attributes"]["items"]["data"][0]["price"]["id"],
        plan.as_str()
    );
    let invoice = latest_invoice(&fake, &upgraded).await;
    assert_eq!(invoice["billing_reason"], "subscription_update");
    assert_eq!(invoice["status"], "paid");
    let lines = invoice["lines"]["data"].as_array().unwrap();
    assert_prorated(
        lines,
        &sub,
        invoice["created"].as_i64().unwrap(),
        2000,
        5000,
    );
    let total: i64 = lines.iter().map(|l| l["amount"].as_i64().unwrap()).sum();
    assert!(total > 2900, "about a month of the difference: {total}");
    assert_eq!(invoice["total"], total);
    assert_eq!(invoice["amount_paid"], total);
    let intent = get(
        &fake,
        &format!(
            "/v1/payment_intents/{}",
            invoice["payment_intent"].as_str().unwrap()
        ),
    )
    .await
    .ok();
    assert_eq!(intent["amount_received"], total);

    // A downgrade invoiced now: nothing due, the rest credited to the customer's balance,
    // which the next renewal uses.
    let downgraded = change(&upgraded, &plan, "always_invoice").await;
    let credit_note = latest_invoice(&fake, &downgraded).await;
    let credit = credit_note["total"].as_i64().unwrap();
    assert!(credit < -2900, "{credit}");
    assert_eq!(credit_note["status"], "paid");
    assert_eq!(credit_note["amount_due"], 0);
    assert_eq!(credit_note["payment_intent"], Value::Null);
    assert_eq!(credit_note["ending_balance"], credit);
    let customer_path = format!("/v1/customers/{}", sub["customer"].as_str().unwrap());
    assert_eq!(get(&fake, &customer_path).await.ok()["balance"], credit);
    let renewed = fake
        .renew_subscription(sub["id"].as_str().unwrap(), None)
        .unwrap();
    let cycle = latest_invoice(&fake, &renewed).await;
    assert_eq!(cycle["total"], 2000);
    assert_eq!(cycle["starting_balance"], credit);
    assert_eq!(cycle["amount_due"], (2000 + credit).max(0));
    assert_eq!(
        get(&fake, &customer_path).await.ok()["balance"],
        (2000 + credit).min(0)
    );

    // create_prorations: no invoice now; the next renewal's invoice holds the lines.
    let sub = subscribe(&fake, "later@example.com", &plan).await;
    let changed = change(&sub, &team, "create_prorations").await;
    assert_eq!(changed["latest_invoice"], sub["latest_invoice"]);
    let changed_at = fake
        .events_of_type("customer.subscription.updated")
        .last()
        .unwrap()["created"]
        .as_i64()
        .unwrap();
    let renewed = fake
        .renew_subscription(sub["id"].as_str().unwrap(), None)
        .unwrap();
    let cycle = latest_invoice(&fake, &renewed).await;
    assert_eq!(cycle["billing_reason"], "subscription_cycle");
    let lines = cycle["lines"]["data"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    // Stripe's order: the pending proration items (invoice items), then the plan line.
    let kinds: Vec<(&str, bool)> = lines
        .iter()
        .map(|l| (l["type"].as_str().unwrap(), l["proration"] == true))
        .collect();
    assert_eq!(
        kinds,
        [
            ("invoiceitem", true),
            ("invoiceitem", true),
            ("subscription", false)
        ]
    );
    assert!(
        lines[..2]
            .iter()
            .all(|l| l["invoice_item"].as_str().unwrap().starts_with("ii_"))
    );
    assert_eq!(lines[2]["invoice_item"], Value::Null);
    assert_eq!(
        lines[2]["amount"], 5000,
        "the plan line is at the new price"
    );
    assert_prorated(lines, &sub, changed_at, 2000, 5000);
    let total: i64 = lines.iter().map(|l| l["amount"].as_i64().unwrap()).sum();
    assert_eq!(cycle["amount_paid"], total);

    // none: the new price from the next period, no proration at all.
    let sub = subscribe(&fake, "plain@example.com", &plan).await;
    let changed = change(&sub, &team, "none").await;
    assert_eq!(changed["latest_invoice"], sub["latest_invoice"]);
    let renewed = fake
        .renew_subscription(sub["id"].as_str().unwrap(), None)
        .unwrap();
    let cycle = latest_invoice(&fake, &renewed).await;
    assert_eq!(cycle["lines"]["data"].as_array().unwrap().len(), 1);
    assert_eq!(cycle["total"], 5000);
}

#[tokio::test]
async fn a_subscription_set_to_cancel_ends_at_renewal_and_the_portal_can_undo_it() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let plan = price_by_key(&fake, "pro_monthly").await;
    let sub = subscribe(&fake, "leaving@example.com", &plan).await;
    let id = sub["id"].as_str().unwrap().to_string();
    let path = format!("/v1/subscriptions/{id}");
    let end = sub["current_period_end"].as_i64().unwrap();

    let mark = fake.events().len();
    let set = post(
        &fake,
        &path,
        &[
            ("cancel_at_period_end", "true"),
            ("metadata[reason]", "too expensive"),
        ],
        Some("cancel-1"),
    )
    .await
    .ok();
    assert_eq!(set["status"], "active");
    assert_eq!(set["cancel_at_period_end"], true);
    assert_eq!(set["cancel_at"], end);
    assert!(set["canceled_at"].is_i64());
    assert_eq!(set["metadata"]["reason"], "too expensive");
    let updated = events_after(&fake, mark, "customer.subscription.updated").remove(0);
    assert_eq!(updated["request"]["idempotency_key"], "cancel-1");
    let previous = &updated["data"]["previous_attributes"];
    assert_eq!(previous["cancel_at_period_end"], false);
    assert_eq!(previous["cancel_at"], Value::Null);
    assert_eq!(previous["metadata"], serde_json::json!({}));

    // The billing portal shows it and can take the cancellation back, and set it again.
    let portal_url = portal_url(&fake, sub["customer"].as_str().unwrap()).await;
    let html = page_html(&portal_url).await;
    for needle in ["Pro plan", "$20.00 per month", "ends ", "Don&#39;t cancel"] {
        assert!(html.contains(needle), "the portal lacks {needle:?}");
    }
    let form = format!("{portal_url}/subscriptions/{id}");
    let undo = submit_form(&form, &[("cancel_at_period_end", "false")]).await;
    assert_eq!(undo.status(), 303);
    assert_eq!(undo.headers()["location"].to_str().unwrap(), portal_url);
    let kept = get(&fake, &path).await.ok();
    assert_eq!(kept["cancel_at_period_end"], false);
    assert_eq!(kept["canceled_at"], Value::Null);
    let html = page_html(&portal_url).await;
    assert!(html.contains("Cancel at period end") && html.contains("renews "));
    let again = submit_form(&form, &[("cancel_at_period_end", "true")]).await;
    assert_eq!(again.status(), 303);
    assert_eq!(
        events_after(&fake, mark, "customer.subscription.updated").len(),
        3
    );

    // The period ends: the subscription with it, and no invoice.
    let ended = fake.renew_subscription(&id, None).unwrap();
    assert_eq!(ended["status"], "canceled");
    assert_eq!(ended["ended_at"], end);
    assert_eq!(ended["latest_invoice"], sub["latest_invoice"]);
    let deleted = receiver.wait_for("customer.subscription.deleted").await;
    assert_eq!(deleted.event["data"]["object"]["id"], id.as_str());
    assert_eq!(deleted.event["data"]["object"]["status"], "canceled");
    assert_eq!(
        count(&fake, &format!("/v1/invoices?subscription={id}")).await,
        1
    );
    assert!(matches!(
        fake.renew_subscription(&id, None),
        Err(ControlError::Refused(_))
    ));

    // Lists leave canceled subscriptions out unless asked.
    assert_eq!(count(&fake, "/v1/subscriptions").await, 0);
    assert_eq!(count(&fake, "/v1/subscriptions?status=all").await, 1);
    assert_eq!(count(&fake, "/v1/subscriptions?status=canceled").await, 1);
    let html = page_html(&portal_url).await;
    assert!(html.contains("canceled") && html.contains("ended "));
}

#[tokio::test]
async fn deleting_a_subscription_cancels_it_now() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let plan = price_by_key(&fake, "pro_monthly").await;
    let sub = subscribe(&fake, "gone@example.com", &plan).await;
    let path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());

    // DELETE goes through the same authentication and faults as the rest of the API.
    let anonymous = answer(client().delete(fake.url(&path)).send().await.unwrap()).await;
    assert_eq!(anonymous.status, 401);
    fake.inject_fault(Fault {
        path_prefix: Some("/v1/subscriptions".into()),
        ..Fault::error(1)
    });
    assert_eq!(delete(&fake, &path).await.status, 500);
    assert_eq!(get(&fake, &path).await.ok()["status"], "active");

    let canceled = delete(&fake, &path).await.ok();
    assert_eq!(canceled["status"], "canceled");
    let at = canceled["canceled_at"].as_i64().unwrap();
    assert_eq!(canceled["ended_at"], at);
    assert!(at < sub["current_period_end"].as_i64().unwrap());
    let deleted = receiver.wait_for("customer.subscription.deleted").await;
    assert_eq!(deleted.event["data"]["object"]["status"], "canceled");
    assert!(
        deleted.event["request"]["id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    assert_eq!(get(&fake, &path).await.ok()["status"], "canceled");

    let twice = delete(&fake, &path).await;
    assert_eq!(twice.status, 404);
    assert_eq!(twice.body["error"]["type"], "invalid_request_error");
    assert_eq!(twice.error_code(), Some("resource_missing"));
    assert_eq!(
        fake.events_of_type("customer.subscription.deleted").len(),
        1
    );
}

#[tokio::test]
async fn subscription_input_is_checked_like_stripe() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let plan = price_by_key(&fake, "pro_monthly").await;
    let pack = price_by_key(&fake, "starter_pack").await;
    let session = |mode: &'static str, price: String, extra: Vec<(&'static str, &'static str)>| {
        let fake = &fake;
        async move {
            let mut form = vec![
                ("mode", mode),
                ("customer_email", "x@example.com"),
                ("line_items[0][price]", price.as_str()),
                ("line_items[0][quantity]", "1"),
            ];
            form.extend(extra);
            post(fake, "/v1/checkout/sessions", &form, None).await
        }
    };

    let recurring_in_payment = session("payment", plan.clone(), vec![]).await;
    assert_eq!(recurring_in_payment.status, 400);
    assert_eq!(
        recurring_in_payment.body["error"]["message"],
        "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices."
    );
    assert_eq!(
        recurring_in_payment.body["error"]["param"],
        "line_items[0][price]"
    );
    let one_time = session("subscription", pack.clone(), vec![]).await;
    assert_eq!(one_time.status, 400);
    assert!(
        one_time.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only recurring prices in subscription mode")
    );
    let intent_data = session(
        "subscription",
        plan.clone(),
        vec![("payment_intent_data[metadata][a]", "b")],
    )
    .await;
    assert_eq!(intent_data.status, 400);
    assert_eq!(intent_data.body["error"]["param"], "payment_intent_data");
    let no_email = post(
        &fake,
        "/v1/checkout/sessions",
        &[
            ("mode", "subscription"),
            ("line_items[0][price]", &plan),
            ("line_items[0][quantity]", "1"),
        ],
        None,
    )
    .await;
    assert_eq!(no_email.status, 400);
    let weekly = recurring_price(&fake, "Weekly", 500, "week").await;
    let mixed = post(
        &fake,
        "/v1/checkout/sessions",
        &[
            ("mode", "subscription"),
            ("customer_email", "x@example.com"),
            ("line_items[0][price]", &plan),
            ("line_items[0][quantity]", "1"),
            ("line_items[1][price]", &weekly),
            ("line_items[1][quantity]", "1"),
        ],
        None,
    )
    .await;
    assert_eq!(mixed.status, 400);
    // price_data with recurring works in subscription mode.
    let adhoc = post(
        &fake,
        "/v1/checkout/sessions",
        &[
            ("mode", "subscription"),
            ("customer_email", "x@example.com"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "900"),
            ("line_items[0][price_data][recurring][interval]", "year"),
            ("line_items[0][price_data][product_data][name]", "Yearly"),
            ("line_items[0][quantity]", "1"),
        ],
        None,
    )
    .await
    .ok();
    let yearly = complete_subscription(&fake, &adhoc).await;
    let start = yearly["current_period_start"].as_i64().unwrap();
    let end = yearly["current_period_end"].as_i64().unwrap();
    assert!((365 * 86_400..=366 * 86_400).contains(&(end - start)));

    // Prices: the interval is checked, and the type filters lists.
    for (key, value, param) in [
        ("recurring[interval]", "fortnight", "recurring[interval]"),
        (
            "recurring[interval_count]",
            "0",
            "recurring[interval_count]",
        ),
    ] {
        let mut form = vec![
            ("currency", "usd"),
            ("unit_amount", "100"),
            ("product_data[name]", "Bad"),
            ("recurring[interval]", "month"),
        ];
        form.retain(|(k, _)| *k != key);
        form.push((key, value));
        let bad = post(&fake, "/v1/prices", &form, None).await;
        assert_eq!(bad.status, 400, "{key}={value}");
        assert_eq!(bad.body["error"]["type"], "invalid_request_error");
        assert_eq!(bad.body["error"]["param"], param);
    }
    let bad_data = post(
        &fake,
        "/v1/checkout/sessions",
        &[
            ("mode", "subscription"),
            ("customer_email", "x@example.com"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "900"),
            ("line_items[0][price_data][recurring][interval]", "hour"),
            ("line_items[0][price_data][product_data][name]", "Hourly"),
            ("line_items[0][quantity]", "1"),
        ],
        None,
    )
    .await;
    assert_eq!(
        bad_data.body["error"]["param"],
        "line_items[0][price_data][recurring][interval]"
    );
    let recurring = get(&fake, "/v1/prices?type=recurring&active=true")
        .await
        .ok();
    let ids: Vec<&str> = recurring["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&plan.as_str()) && !ids.contains(&pack.as_str()));
    let one_time = get(&fake, "/v1/prices?type=one_time").await.ok();
    assert!(
        one_time["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["type"] == "one_time")
    );

    // Updates: the item must be the subscription's, the price recurring; a canceled
    // subscription takes only metadata.
    let sub = subscribe(&fake, "checks@example.com", &plan).await;
    let path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());
    let item = sub["items"]["data"][0]["id"].as_str().unwrap().to_string();
    let wrong_item = post(
        &fake,
        &path,
        &[("items[0][id]", "si_nope"), ("items[0][price]", &plan)],
        None,
    )
    .await;
    assert_eq!(wrong_item.status, 400);
    assert_eq!(wrong_item.error_code(), Some("resource_missing"));
    assert_eq!(wrong_item.body["error"]["param"], "items[0][id]");
    let one_time_item = post(
        &fake,
        &path,
        &[("items[0][id]", &item), ("items[0][price]", &pack)],
        None,
    )
    .await;
    assert_eq!(one_time_item.status, 400);
    assert_eq!(one_time_item.body["error"]["param"], "items[0][price]");
    let bad_behaviour = post(
        &fake,
        &path,
        &[
            ("items[0][id]", &item),
            ("items[0][price]", &plan),
            ("proration_behavior", "sometimes"),
        ],
        None,
    )
    .await;
    assert_eq!(bad_behaviour.status, 400);
    assert_eq!(delete(&fake, &path).await.status, 200);
    let on_canceled = post(
        &fake,
        &path,
        &[("items[0][id]", &item), ("items[0][price]", &plan)],
        None,
    )
    .await;
    assert_eq!(on_canceled.status, 400);
    assert_eq!(on_canceled.body["error"]["type"], "invalid_request_error");
    let metadata_only = post(&fake, &path, &[("metadata[note]", "churned")], None)
        .await
        .ok();
    assert_eq!(metadata_only["metadata"]["note"], "churned");

    for missing in [
        get(&fake, "/v1/subscriptions/sub_nope").await,
        post(
            &fake,
            "/v1/subscriptions/sub_nope",
            &[("metadata[a]", "b")],
            None,
        )
        .await,
        delete(&fake, "/v1/subscriptions/sub_nope").await,
        get(&fake, "/v1/invoices/in_nope").await,
    ] {
        assert_eq!(missing.status, 404);
        assert_eq!(missing.error_code(), Some("resource_missing"));
    }
    let bad_status = get(&fake, "/v1/subscriptions?status=sleeping").await;
    assert_eq!(bad_status.status, 400);
}

/// `POST /v1/subscriptions/{id}` changing the first item to `price` (and `quantity`, when
/// given) with `proration_behavior`: the answer.
async fn change_item(
    fake: &Running,
    sub: &Value,
    price: &str,
    quantity: Option<&str>,
    behaviour: &str,
) -> common::Answer {
    let path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());
    let item = sub["items"]["data"][0]["id"].as_str().unwrap();
    let mut form = vec![
        ("items[0][id]", item),
        ("items[0][price]", price),
        ("proration_behavior", behaviour),
    ];
    if let Some(quantity) = quantity {
        form.push(("items[0][quantity]", quantity));
    }
    post(fake, &path, &form, None).await
}

/// The ids of a list's objects, in its order.
fn ids_of(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn huge_quantities_and_amounts_are_refused_with_stripes_errors() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let pack = price_by_key(&fake, "starter_pack").await;
    let plan = price_by_key(&fake, "pro_monthly").await;
    let session = |items: Vec<(String, String)>| {
        let fake = &fake;
        async move {
            let mut form: Vec<(&str, &str)> = vec![("mode", "payment")];
            form.extend(items.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            post(fake, "/v1/checkout/sessions", &form, None).await
        }
    };
    // `line_items[n]` of `quantity` × the starter pack, or of an ad-hoc price of `amount`.
    let pack_line = |n: usize, quantity: &str| {
        vec![
            (format!("line_items[{n}][price]"), pack.clone()),
            (format!("line_items[{n}][quantity]"), quantity.to_string()),
        ]
    };
    let adhoc_line = |n: usize, amount: &str| {
        let data = format!("line_items[{n}][price_data]");
        vec![
            (format!("{data}[currency]"), "usd".to_string()),
            (format!("{data}[unit_amount]"), amount.to_string()),
            (
                format!("{data}[product_data][name]"),
                "A fortune".to_string(),
            ),
            (format!("line_items[{n}][quantity]"), "1".to_string()),
        ]
    };

    // A quantity past i64's reach of an amount: refused, not a dropped connection; and one
    // just past the cap.
    for quantity in [i64::MAX.to_string(), "1000000".to_string()] {
        session(pack_line(0, &quantity))
            .await
            .assert_refused("parameter_invalid_integer", "line_items[0][quantity]");
    }
    // Within the quantity cap, but $9,999,990.00: past Stripe's largest amount.
    let too_much = session(pack_line(0, "999999")).await;
    too_much.assert_refused("amount_too_large", "line_items[0][quantity]");
    assert_eq!(
        too_much.body["error"]["message"],
        "Amount must be no more than $999,999.99."
    );
    // Two lines within the cap whose sum is not; a price past it; the cap itself is fine.
    let two = [adhoc_line(0, "60000000"), adhoc_line(1, "60000000")].concat();
    session(two)
        .await
        .assert_refused("amount_too_large", "line_items");
    let price = post(
        &fake,
        "/v1/prices",
        &[
            ("currency", "usd"),
            ("unit_amount", "100000000"),
            ("product_data[name]", "Too dear"),
        ],
        None,
    )
    .await;
    price.assert_refused("amount_too_large", "unit_amount");
    let at_cap = session(adhoc_line(0, "99999999")).await.ok();
    assert_eq!(at_cap["amount_total"], 99_999_999);

    // A subscription's quantity: refused before it is stored, so renewals and the portal
    // keep working.
    let sub = subscribe(&fake, "many@example.com", &plan).await;
    let id = sub["id"].as_str().unwrap().to_string();
    change_item(&fake, &sub, &plan, Some("4611686018427387904"), "none")
        .await
        .assert_refused("parameter_invalid_integer", "items[0][quantity]");
    change_item(&fake, &sub, &plan, Some("50000"), "none")
        .await
        .assert_refused("amount_too_large", "items[0][quantity]");
    let three = change_item(&fake, &sub, &plan, Some("3"), "none")
        .await
        .ok();
    assert_eq!(three["items"]["data"][0]["quantity"], 3);
    let renewed = fake.renew_subscription(&id, None).unwrap();
    assert_eq!(renewed["status"], "active");
    let cycle = latest_invoice(&fake, &renewed).await;
    assert_eq!(cycle["total"], 6000);
    assert_eq!(
        cycle["lines"]["data"][0]["description"],
        "3 × Pro plan (at $20.00 / month)"
    );
    let html = page_html(&portal_url(&fake, sub["customer"].as_str().unwrap()).await).await;
    assert!(html.contains("3 × Pro plan · $60.00 per month"), "{html}");
}

#[tokio::test]
async fn a_past_due_subscription_retries_its_oldest_open_invoice() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let plan = price_by_key(&fake, "pro_monthly").await;
    let basic = recurring_price(&fake, "Basic plan", 500, "month").await;
    let team = recurring_price(&fake, "Team plan", 5000, "month").await;
    let open_invoices = |id: String| {
        let fake = &fake;
        async move {
            let open = get(
                fake,
                &format!("/v1/invoices?subscription={id}&status=open&limit=100"),
            )
            .await
            .ok();
            ids_of(&open)
        }
    };

    // A $0 update invoice while past due does not hide the open renewal invoice.
    let sub = subscribe(&fake, "credit@example.com", &plan).await;
    let id = sub["id"].as_str().unwrap().to_string();
    let declined = fake
        .renew_subscription(&id, Some("4000000000000002"))
        .unwrap();
    assert_eq!(declined["status"], "past_due");
    let renewal = declined["latest_invoice"].as_str().unwrap().to_string();
    let period = declined["current_period_start"].clone();
    let downgraded = change_item(&fake, &declined, &basic, None, "always_invoice")
        .await
        .ok();
    let credit = latest_invoice(&fake, &downgraded).await;
    assert_eq!(
        (credit["status"].as_str(), credit["amount_due"].as_i64()),
        (Some("paid"), Some(0))
    );
    assert_eq!(
        downgraded["status"], "past_due",
        "the renewal invoice is still open"
    );
    assert_eq!(open_invoices(id.clone()).await, [renewal.as_str()]);
    let recovered = fake
        .renew_subscription(&id, Some("4242424242424242"))
        .unwrap();
    assert_eq!(recovered["status"], "active");
    assert_eq!(recovered["current_period_start"], period, "the same period");
    let paid = get(&fake, &format!("/v1/invoices/{renewal}")).await.ok();
    assert_eq!(
        (paid["status"].as_str(), paid["attempt_count"].as_i64()),
        (Some("paid"), Some(2))
    );
    assert_eq!(
        count(&fake, &format!("/v1/invoices?subscription={id}&limit=100")).await,
        3,
        "the first invoice, the renewal and the credit: no new period was invoiced"
    );

    // Two open invoices: each renewal retries the oldest; active once both are paid. The card
    // on file starts declining (a card saved in the portal that declines every charge).
    let sub = subscribe(&fake, "twice@example.com", &plan).await;
    let id = sub["id"].as_str().unwrap().to_string();
    let portal = portal_url(&fake, sub["customer"].as_str().unwrap()).await;
    let save = |number: &'static str| {
        let portal = portal.clone();
        async move {
            let saved = submit_form(
                &format!("{portal}/payment_method"),
                &[
                    ("card_number", number),
                    ("card_exp", "12 / 34"),
                    ("card_cvc", "123"),
                ],
            )
            .await;
            assert_eq!(saved.status(), 303, "{number}");
        }
    };
    save("4000000000000341").await;
    let declined = fake.renew_subscription(&id, None).unwrap();
    let first = declined["latest_invoice"].as_str().unwrap().to_string();
    let period = declined["current_period_start"].clone();
    let upgraded = change_item(&fake, &declined, &team, None, "always_invoice")
        .await
        .ok();
    assert_eq!(upgraded["status"], "past_due");
    let second = upgraded["latest_invoice"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(
        open_invoices(id.clone()).await,
        [second.clone(), first.clone()]
    );

    let retried = fake
        .renew_subscription(&id, Some("4242424242424242"))
        .unwrap();
    assert_eq!(
        retried["status"], "past_due",
        "the update invoice is still open"
    );
    assert_eq!(retried["current_period_start"], period);
    assert_eq!(open_invoices(id.clone()).await, [second.as_str()]);
    // The customer saves a card that works: the next retry pays the rest.
    save("4242424242424242").await;
    let mark = fake.events().len();
    let retried = fake.renew_subscription(&id, None).unwrap();
    assert_eq!(retried["status"], "active");
    assert_eq!(retried["current_period_start"], period);
    assert!(open_invoices(id.clone()).await.is_empty());
    assert_eq!(
        billing_events_after(&fake, mark),
        [
            "invoice.paid",
            "invoice.payment_succeeded",
            "customer.subscription.updated"
        ]
    );
    let updated = events_after(&fake, mark, "customer.subscription.updated").remove(0);
    assert_eq!(updated["data"]["previous_attributes"]["status"], "past_due");
    assert_eq!(updated["data"]["object"]["status"], "active");
    // Nothing open any more: the next renewal starts the next period.
    let next = fake.renew_subscription(&id, None).unwrap();
    assert_eq!(next["current_period_start"], retried["current_period_end"]);
    assert_eq!(next["status"], "active");
}

#[tokio::test]
async fn invoices_embed_ten_lines_and_list_them_all() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let plan = price_by_key(&fake, "pro_monthly").await;
    let team = recurring_price(&fake, "Team plan", 5000, "month").await;
    let sub = subscribe(&fake, "lines@example.com", &plan).await;
    let id = sub["id"].as_str().unwrap().to_string();
    // Five changes waiting for the renewal: ten proration lines, then the plan line.
    let mut current = sub.clone();
    for price in [&team, &plan, &team, &plan, &team] {
        current = change_item(&fake, &current, price, None, "create_prorations")
            .await
            .ok();
    }
    let renewed = fake.renew_subscription(&id, None).unwrap();
    let invoice = latest_invoice(&fake, &renewed).await;
    let invoice_id = invoice["id"].as_str().unwrap().to_string();
    let lines_url = format!("/v1/invoices/{invoice_id}/lines");
    let embedded = &invoice["lines"];
    assert_eq!(embedded["object"], "list");
    assert_eq!(embedded["data"].as_array().unwrap().len(), 10);
    assert_eq!(embedded["has_more"], true);
    assert_eq!(embedded["total_count"], 11);
    assert_eq!(embedded["url"], lines_url.as_str());

    let all = get(&fake, &format!("{lines_url}?limit=100")).await.ok();
    assert_eq!(all["object"], "list");
    assert_eq!(all["url"], lines_url.as_str());
    assert_eq!(all["has_more"], false);
    let lines = all["data"].as_array().unwrap();
    assert_eq!(lines.len(), 11);
    let total: i64 = lines.iter().map(|l| l["amount"].as_i64().unwrap()).sum();
    assert_eq!(invoice["total"], total);
    // The newest change's items first, each change's credit before its charge; the plan last.
    for (pair, (from, to)) in lines[..10].chunks(2).zip([
        ("Pro plan", "Team plan"),
        ("Team plan", "Pro plan"),
        ("Pro plan", "Team plan"),
        ("Team plan", "Pro plan"),
        ("Pro plan", "Team plan"),
    ]) {
        for line in pair {
            assert_eq!(line["type"], "invoiceitem");
            assert_eq!(line["proration"], true);
            assert!(line["invoice_item"].as_str().unwrap().starts_with("ii_"));
            assert_eq!(
                line["parent"]["subscription_item_details"]["invoice_item"],
                line["invoice_item"]
            );
            assert_eq!(line["invoice"], invoice_id.as_str());
        }
        let unused = pair[0]["description"].as_str().unwrap();
        let remaining = pair[1]["description"].as_str().unwrap();
        assert!(
            unused.starts_with(&format!("Unused time on {from} after ")),
            "{unused}"
        );
        assert!(
            remaining.starts_with(&format!("Remaining time on {to} after ")),
            "{remaining}"
        );
    }
    let plan_line = &lines[10];
    assert_eq!(plan_line["type"], "subscription");
    assert_eq!(plan_line["proration"], false);
    assert_eq!(plan_line["invoice_item"], Value::Null);
    assert_eq!(
        plan_line["description"],
        "1 × Team plan (at $50.00 / month)"
    );
    let ids = ids_of(&all);
    assert_eq!(ids_of(embedded), ids[..10]);

    // Pages like every other list.
    for (query, expected, more) in [
        (String::new(), &ids[..10], true),
        (format!("?starting_after={}", ids[9]), &ids[10..], false),
        (
            format!("?limit=3&starting_after={}", ids[2]),
            &ids[3..6],
            true,
        ),
        (
            format!("?limit=2&ending_before={}", ids[5]),
            &ids[3..5],
            true,
        ),
        (format!("?ending_before={}", ids[1]), &ids[..1], false),
    ] {
        let page = get(&fake, &format!("{lines_url}{query}")).await.ok();
        assert_eq!(ids_of(&page), expected, "{query}");
        assert_eq!(page["has_more"], more, "{query}");
    }
    for limit in ["0", "101"] {
        get(&fake, &format!("{lines_url}?limit={limit}"))
            .await
            .assert_refused("parameter_invalid_integer", "limit");
    }
    get(&fake, &format!("{lines_url}?starting_after=il_nope"))
        .await
        .assert_refused("resource_missing", "starting_after");
    let missing = get(&fake, "/v1/invoices/in_nope/lines").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), Some("resource_missing"));
    assert_eq!(
        missing.body["error"]["message"],
        "No such invoice: 'in_nope'"
    );

    // A first invoice has one line, the plan's; an always_invoice change, two invoice items.
    let first_invoice = latest_invoice(&fake, &sub).await;
    assert_eq!(first_invoice["lines"]["has_more"], false);
    assert_eq!(first_invoice["lines"]["total_count"], 1);
    assert_eq!(first_invoice["lines"]["data"][0]["type"], "subscription");
    let upgraded = change_item(&fake, &renewed, &plan, None, "always_invoice")
        .await
        .ok();
    let update = latest_invoice(&fake, &upgraded).await;
    let types: Vec<&str> = update["lines"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["invoiceitem", "invoiceitem"]);
}

#[tokio::test]
async fn elapsed_time_prorates_a_change_for_the_rest_of_the_period() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let plan = price_by_key(&fake, "pro_monthly").await;
    let team = recurring_price(&fake, "Team plan", 5000, "month").await;
    let sub = subscribe(&fake, "halfway@example.com", &plan).await;
    let id = sub["id"].as_str().unwrap().to_string();
    let (start, end) = (
        sub["current_period_start"].as_i64().unwrap(),
        sub["current_period_end"].as_i64().unwrap(),
    );
    let half = (end - start) / 2;

    // Half the period passes, through the HTTP control.
    let mark = fake.events().len();
    let response = client()
        .post(fake.url(&format!("/_test/subscriptions/{id}/elapse")))
        .json(&serde_json::json!({ "seconds": half }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let elapsed: Value = response.json().await.unwrap();
    assert_eq!(elapsed["id"], id.as_str());
    assert_eq!(elapsed["current_period_start"], start - half);
    assert_eq!(elapsed["current_period_end"], end - half);
    assert_eq!(
        elapsed["billing_cycle_anchor"],
        sub["billing_cycle_anchor"].as_i64().unwrap() - half
    );
    assert_eq!(
        elapsed["items"]["data"][0]["current_period_end"],
        end - half
    );
    assert_eq!(
        get(&fake, &format!("/v1/subscriptions/{id}")).await.ok(),
        elapsed
    );
    assert_eq!(fake.events().len(), mark, "time passing sends no event");

    // An upgrade now is invoiced for about half the difference.
    let upgraded = change_item(&fake, &elapsed, &team, None, "always_invoice")
        .await
        .ok();
    let invoice = latest_invoice(&fake, &upgraded).await;
    let (period_start, period_end) = (
        upgraded["current_period_start"].as_i64().unwrap(),
        upgraded["current_period_end"].as_i64().unwrap(),
    );
    assert_eq!((period_start, period_end), (start - half, end - half));
    let at = invoice["created"].as_i64().unwrap();
    let fraction = (period_end - at) as f64 / (period_end - period_start) as f64;
    assert!((0.49..=0.5).contains(&fraction), "{fraction}");
    let lines = invoice["lines"]["data"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["amount"], -((2000.0 * fraction).round() as i64));
    assert_eq!(lines[1]["amount"], (5000.0 * fraction).round() as i64);
    for line in lines {
        assert_eq!(line["period"]["start"], at, "from the change");
        assert_eq!(line["period"]["end"], period_end, "to the period's end");
    }
    let total = invoice["total"].as_i64().unwrap();
    assert!(
        (1499..=1501).contains(&total),
        "about (5000 - 2000) / 2: {total}"
    );
    assert_eq!(invoice["amount_paid"], total);

    // The period goes on from where it was moved to.
    let renewed = fake.renew_subscription(&id, None).unwrap();
    assert_eq!(renewed["current_period_start"], period_end);

    // Refusals: past the period, backwards, unknown, canceled.
    let renewed_length = renewed["current_period_end"].as_i64().unwrap() - period_end;
    for seconds in [renewed_length + 1, -1] {
        assert!(
            matches!(
                fake.elapse_subscription(&id, seconds),
                Err(ControlError::Refused(_))
            ),
            "{seconds}"
        );
    }
    assert!(fake.elapse_subscription(&id, renewed_length).is_ok());
    let too_far = client()
        .post(fake.url(&format!("/_test/subscriptions/{id}/elapse")))
        .json(&serde_json::json!({ "seconds": 400 * 86_400 }))
        .send()
        .await
        .unwrap();
    assert_eq!(too_far.status(), 409);
    assert!(matches!(
        fake.elapse_subscription("sub_nope", 1),
        Err(ControlError::NotFound(_))
    ));
    let unknown = client()
        .post(fake.url("/_test/subscriptions/sub_nope/elapse"))
        .json(&serde_json::json!({ "seconds": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        delete(&fake, &format!("/v1/subscriptions/{id}"))
            .await
            .status,
        200
    );
    assert!(matches!(
        fake.elapse_subscription(&id, 0),
        Err(ControlError::Refused(_))
    ));
}

#[tokio::test]
async fn a_catalog_with_an_unknown_interval_is_refused() {
    let mut config = Config::for_tests();
    config.catalog.push(CatalogItem {
        recurring: Some("fortnight".into()),
        ..CatalogItem::monthly_plan()
    });
    let error = FakeStripe::start(config).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

/// The signature checked by Stripe's own Python library, and the library used as a client.
/// Skipped (and the skip recorded) when the `stripe` package cannot be imported or installed,
/// unless `QS_REQUIRE_PYTHON_STRIPE=1` (CI sets it): then that is a failure.
#[tokio::test]
async fn stripes_python_library_accepts_the_signatures_and_objects() {
    if !python_stripe_available() {
        quickscale_adapters::testing::require::skip(
            quickscale_adapters::testing::require::Requirement::PythonStripe,
            "pip install stripe failed, or no python3",
        );
        return;
    }
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let (_, session) = open_session(&fake, &receiver).await;
    fake.complete_checkout_session(session["id"].as_str().unwrap())
        .unwrap();
    let webhook = receiver.wait_for("checkout.session.completed").await;
    let monthly = recurring_price(&fake, "Python plan", 1500, "month").await;
    let subscription = subscribe(&fake, "py-sub@example.com", &monthly).await;

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
prices = client.v1.prices.list(params={'active': True, 'type': 'one_time'})
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
sub = client.v1.subscriptions.retrieve(sys.argv[5], params={'expand': ['latest_invoice']})
assert sub.status == 'active', sub.status
assert sub['items']['data'][0]['price']['recurring']['interval'] == 'month'
assert sub.current_period_end > sub.current_period_start
invoice = client.v1.invoices.retrieve(sub.latest_invoice.id)
assert invoice.status == 'paid' and invoice.billing_reason == 'subscription_create', invoice.status
assert invoice.amount_paid == 1500 and invoice.parent.subscription_details.subscription == sub.id
assert client.v1.subscriptions.list(params={'customer': sub.customer}).data[0].id == sub.id
updated = client.v1.subscriptions.update(sub.id, params={'cancel_at_period_end': True, 'metadata': {'why': 'py'}})
assert updated.cancel_at == sub.current_period_end and updated.metadata['why'] == 'py'
canceled = client.v1.subscriptions.cancel(sub.id)
assert canceled.status == 'canceled' and canceled.ended_at is not None
try:
    client.v1.subscriptions.cancel(sub.id)
    raise SystemExit('a canceled subscription was canceled again')
except stripe.InvalidRequestError:
    pass
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
        .arg(subscription["id"].as_str().unwrap())
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

#[tokio::test]
async fn the_portal_saves_a_new_card_and_renewals_charge_the_current_one() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let price = common::price_by_key(&fake, "pro_monthly").await;
    let sub = subscribe(&fake, "dee@example.com", &price).await;
    let id = sub["id"].as_str().unwrap().to_string();
    let customer = sub["customer"].as_str().unwrap().to_string();
    let last_charge = || async {
        let charges = get(&fake, &format!("/v1/charges?customer={customer}&limit=1"))
            .await
            .ok();
        charges["data"][0]["payment_method_details"]["card"].clone()
    };

    // A card given to a renewal pays that renewal only: declined, past due; the next renewal
    // charges the subscription's own card again.
    let declined = fake
        .renew_subscription(&id, Some("4000000000000002"))
        .unwrap();
    assert_eq!(declined["status"], "past_due");
    let retried = fake.renew_subscription(&id, None).unwrap();
    assert_eq!(retried["status"], "active", "not the declined card again");
    assert_eq!(last_charge().await["last4"], "4242");

    // The portal: a declining card is refused and changes nothing; a good one is saved.
    let portal = common::portal_url(&fake, &customer).await;
    let page = common::page_html(&portal).await;
    assert!(page.contains("visa •••• 4242, expires 12/2034"), "{page}");
    let card = |number: &'static str| {
        [
            ("card_number", number),
            ("card_exp", "11 / 33"),
            ("card_cvc", "321"),
        ]
    };
    let refused = common::submit_form(
        &format!("{portal}/payment_method"),
        &card("4000 0000 0000 0002"),
    )
    .await;
    assert_eq!(refused.status(), 402);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Your card was declined.")
    );
    let saved = common::submit_form(
        &format!("{portal}/payment_method"),
        &card("5555 5555 5555 4444"),
    )
    .await;
    assert_eq!(saved.status(), 303);
    let page = common::page_html(saved.headers()["location"].to_str().unwrap()).await;
    assert!(page.contains("Your card was saved"), "{page}");
    assert!(
        page.contains("mastercard •••• 4444, expires 11/2033"),
        "{page}"
    );
    let method = get(&fake, &format!("/v1/customers/{customer}")).await.ok()["invoice_settings"]
        ["default_payment_method"]
        .clone();
    assert!(
        method.as_str().is_some_and(|m| m.starts_with("pm_")),
        "{method}"
    );
    let updated = get(&fake, &format!("/v1/subscriptions/{id}")).await.ok();
    assert_eq!(updated["default_payment_method"], method);
    assert!(
        fake.events_of_type("customer.updated")
            .iter()
            .any(|e| e["data"]["object"]["invoice_settings"]["default_payment_method"] == method)
    );

    // A declined renewal, then the next one without a card: the saved card pays.
    fake.renew_subscription(&id, Some("4000000000000002"))
        .unwrap();
    let recovered = fake.renew_subscription(&id, None).unwrap();
    assert_eq!(recovered["status"], "active");
    let card = last_charge().await;
    assert_eq!(
        (card["brand"].as_str(), card["last4"].as_str()),
        (Some("mastercard"), Some("4444"))
    );
}
