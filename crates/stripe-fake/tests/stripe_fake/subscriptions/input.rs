//! Subscription input checked as Stripe checks it, and Stripe's caps on quantities and amounts.

use super::change_item;
use crate::common::{
    Receiver, complete_subscription, delete, get, latest_invoice, page_html, portal_url, post,
    price_by_key, recurring_price, start_with_plan, subscribe,
};

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
