//! Refunds, checked against the payment and announced.

use std::time::Duration;

use crate::common::{Receiver, get, open_session, post, start};

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
