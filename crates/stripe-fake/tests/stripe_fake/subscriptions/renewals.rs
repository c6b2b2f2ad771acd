//! Renewals: the card charged, a decline making the subscription past due, retries of open
//! invoices, the portal's saved card.

use super::{INVOICED_AND_PAID, change_item, ids_of, month_after};
use crate::common::{
    Receiver, billing_events_after, client, count, events_after, get, latest_invoice, page_html,
    portal_url, price_by_key, recurring_price, start_with_plan, submit_form, subscribe,
};
use quickscale_stripe_fake::ControlError;
use serde_json::Value;

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
async fn the_portal_saves_a_new_card_and_renewals_charge_the_current_one() {
    let receiver = Receiver::start().await;
    let fake = start_with_plan(&receiver).await;
    let price = price_by_key(&fake, "pro_monthly").await;
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
    let portal = portal_url(&fake, &customer).await;
    let page = page_html(&portal).await;
    assert!(page.contains("visa •••• 4242, expires 12/2034"), "{page}");
    let card = |number: &'static str| {
        [
            ("card_number", number),
            ("card_exp", "11 / 33"),
            ("card_cvc", "321"),
        ]
    };
    let refused = submit_form(
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
    let saved = submit_form(
        &format!("{portal}/payment_method"),
        &card("5555 5555 5555 4444"),
    )
    .await;
    assert_eq!(saved.status(), 303);
    let page = page_html(saved.headers()["location"].to_str().unwrap()).await;
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
