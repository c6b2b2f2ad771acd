//! The JSON of each object, shaped after Stripe's example objects (fixtures3.json, MIT: see
//! LICENSE-stripe-fixtures): the same fields, with plausible values for those the fake does
//! not model. One file per area; the fields of newer API versions sit beside the older ones,
//! so that clients of either read what they expect.

mod catalog;
mod checkout;
mod customers;
mod events;
mod invoices;
mod payments;
mod subscriptions;

use serde_json::{Value, json};

use crate::store::Store;

/// `base` with the fields of `extra` added: for objects too deep for one `json!` call.
fn with_fields(mut base: Value, extra: Value) -> Value {
    if let (Some(map), Value::Object(extra)) = (base.as_object_mut(), extra) {
        map.extend(extra);
    }
    base
}

/// How many items Stripe embeds of a list nested in an object; `url` pages through the rest.
const EMBEDDED: usize = 10;

/// A list nested in an object (a charge's refunds, a subscription's items, an invoice's
/// lines): its first ten items, `has_more` when there are more, and `total_count`.
fn embedded_list(mut data: Vec<Value>, url: String) -> Value {
    let total_count = data.len();
    data.truncate(EMBEDDED);
    json!({
        "object": "list",
        "total_count": total_count,
        "data": data,
        "has_more": total_count > EMBEDDED,
        "url": url
    })
}

fn null_address() -> Value {
    json!({
        "city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null
    })
}

impl Store {
    /// The object an id names, by its prefix.
    pub fn object_by_id(&self, id: &str) -> Option<Value> {
        let prefix = id.split('_').next().unwrap_or_default();
        match prefix {
            "cus" => self.customers.get(id).map(|o| self.customer_json(o)),
            "prod" => self.products.get(id).map(|o| self.product_json(o)),
            "price" => self.prices.get(id).map(|o| self.price_json(o)),
            "cs" => self.sessions.get(id).map(|o| self.session_json(o)),
            "pi" => self
                .payment_intents
                .get(id)
                .map(|o| self.payment_intent_json(o)),
            "ch" => self.charges.get(id).map(|o| self.charge_json(o)),
            "re" => self.refunds.get(id).map(|o| self.refund_json(o)),
            "sub" => self
                .subscriptions
                .get(id)
                .map(|o| self.subscription_json(o)),
            "in" => self.invoices.get(id).map(|o| self.invoice_json(o)),
            "evt" => self.event(id).map(|o| self.event_json(o)),
            _ => None,
        }
    }
}
