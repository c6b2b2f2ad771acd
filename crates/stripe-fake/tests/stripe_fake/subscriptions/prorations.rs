//! Price and quantity changes, prorated as asked and for the time left in the period.

use super::{INVOICED_AND_PAID, change_item};
use crate::common::{
    Receiver, billing_events_after, client, delete, events_after, get, latest_invoice, post,
    price_by_key, recurring_price, start_with_plan, subscribe,
};
use quickscale_stripe_fake::ControlError;
use serde_json::Value;

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
