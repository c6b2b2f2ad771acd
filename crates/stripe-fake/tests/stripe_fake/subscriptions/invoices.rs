//! A subscription's invoices: ten lines embedded, every line listed.

use super::{change_item, ids_of};
use crate::common::{
    Receiver, get, latest_invoice, price_by_key, recurring_price, start_with_plan, subscribe,
};
use serde_json::Value;

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
