//! A subscription from its checkout to its end: signed webhooks, cancelling at the period end (and
//! undoing it in the portal), deleting.

use super::month_after;
use crate::common::{
    Receiver, answer, client, count, delete, events_after, get, page_html, pay_on_page, portal_url,
    post, price_by_key, start_with_plan, submit_form, subscribe, verify_signature,
};
use quickscale_stripe_fake::{ControlError, Fault};
use serde_json::Value;

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
