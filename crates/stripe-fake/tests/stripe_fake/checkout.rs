//! Checkout: a session from creation to a signed webhook, price data and bad input, declined cards,
//! cancelling and expiry.

use std::time::Duration;

use crate::common::{
    Receiver, client, count, get, open_session, page_html, pay_on_page, post, start, starter_price,
    verify_signature,
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

/// A session is checked whole before anything is made: a refused one leaves behind none of
/// the products and prices its `price_data` would have made.
#[tokio::test]
async fn a_refused_session_makes_no_product_or_price() {
    let receiver = Receiver::start().await;
    let fake = start(&receiver).await;
    let products = count(&fake, "/v1/products?limit=100").await;
    let prices = count(&fake, "/v1/prices?limit=100").await;
    let inline_item = [
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "500"),
        ("line_items[0][price_data][product_data][name]", "Ad hoc"),
        ("line_items[0][quantity]", "1"),
    ];
    let unknown_price = post(
        &fake,
        "/v1/checkout/sessions",
        &[
            &[("mode", "payment")][..],
            &inline_item,
            &[
                ("line_items[1][price]", "price_nope"),
                ("line_items[1][quantity]", "1"),
            ],
        ]
        .concat(),
        None,
    )
    .await;
    unknown_price.assert_refused("resource_missing", "line_items[1][price]");
    let recurring_in_payment_mode = post(
        &fake,
        "/v1/checkout/sessions",
        &[
            &[("mode", "payment")][..],
            &inline_item,
            &[("line_items[0][price_data][recurring][interval]", "month")],
        ]
        .concat(),
        None,
    )
    .await;
    recurring_in_payment_mode
        .assert_refused("parameter_invalid_string", "line_items[0][price_data]");
    assert_eq!(count(&fake, "/v1/products?limit=100").await, products);
    assert_eq!(count(&fake, "/v1/prices?limit=100").await, prices);
}
