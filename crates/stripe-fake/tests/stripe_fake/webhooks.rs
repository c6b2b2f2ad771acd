//! Events and their deliveries: withheld, delivered in a chosen order, retried with backoff.

use std::time::Duration;

use crate::common::{Receiver, client, get, open_session, start, verify_signature};
use quickscale_stripe_fake::{Config, ControlError, DeliveryState, FakeStripe};
use serde_json::Value;

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
