//! Subscriptions: what their tests share.

mod input;
mod invoices;
mod lifecycle;
mod prorations;
mod renewals;

use crate::common::{Answer, post};
use quickscale_stripe_fake::Running;
use serde_json::Value;

/// The events of a subscription change that was invoiced and paid at once (renewal,
/// `always_invoice`), leaving out those of the payment itself.
pub(super) const INVOICED_AND_PAID: [&str; 5] = [
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "customer.subscription.updated",
];

/// Seconds in the calendar month after `start` (28 to 31 days).
pub(super) fn month_after(start: i64) -> std::ops::RangeInclusive<i64> {
    start + 28 * 86_400..=start + 31 * 86_400
}

/// `POST /v1/subscriptions/{id}` changing the first item to `price` (and `quantity`, when
/// given) with `proration_behavior`: the answer.
pub(super) async fn change_item(
    fake: &Running,
    sub: &Value,
    price: &str,
    quantity: Option<&str>,
    behaviour: &str,
) -> Answer {
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
pub(super) fn ids_of(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}
