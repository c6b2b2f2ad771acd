//! Products and prices, and a recurring price as the `plan` of older API versions.

use serde_json::{Value, json};

use crate::model::{Price, Product};
use crate::store::Store;

impl Store {
    pub fn product_json(&self, p: &Product) -> Value {
        json!({
            "id": p.id,
            "object": "product",
            "active": p.active,
            "created": p.created,
            "default_price": p.default_price,
            "description": p.description,
            "images": [],
            "livemode": false,
            "marketing_features": [],
            "metadata": p.metadata,
            "name": p.name,
            "package_dimensions": null,
            "shippable": null,
            "statement_descriptor": null,
            "tax_code": null,
            "type": "service",
            "unit_label": null,
            "updated": p.updated,
            "url": null
        })
    }

    pub fn price_json(&self, p: &Price) -> Value {
        let recurring = p.recurring.map(|r| {
            json!({
                "aggregate_usage": null,
                "interval": r.interval.as_str(),
                "interval_count": r.interval_count,
                "meter": null,
                "trial_period_days": null,
                "usage_type": "licensed"
            })
        });
        json!({
            "id": p.id,
            "object": "price",
            "active": p.active,
            "billing_scheme": "per_unit",
            "created": p.created,
            "currency": p.currency,
            "custom_unit_amount": null,
            "livemode": false,
            "lookup_key": p.lookup_key,
            "metadata": p.metadata,
            "nickname": p.nickname,
            "product": p.product,
            "recurring": recurring,
            "tax_behavior": "unspecified",
            "tiers_mode": null,
            "transform_quantity": null,
            "type": if p.recurring.is_some() { "recurring" } else { "one_time" },
            "unit_amount": p.unit_amount,
            "unit_amount_decimal": p.unit_amount.to_string()
        })
    }

    /// A recurring price as the `plan` object of API versions up to 2024-06-20.
    pub(super) fn plan_json(&self, price: &str) -> Value {
        let Some(p) = self.prices.get(price) else {
            return Value::Null;
        };
        let recurring = p.recurring;
        json!({
            "id": p.id,
            "object": "plan",
            "active": p.active,
            "aggregate_usage": null,
            "amount": p.unit_amount,
            "amount_decimal": p.unit_amount.to_string(),
            "billing_scheme": "per_unit",
            "created": p.created,
            "currency": p.currency,
            "interval": recurring.map(|r| r.interval.as_str()),
            "interval_count": recurring.map(|r| r.interval_count),
            "livemode": false,
            "metadata": p.metadata,
            "meter": null,
            "nickname": p.nickname,
            "product": p.product,
            "tiers_mode": null,
            "transform_usage": null,
            "trial_period_days": null,
            "usage_type": "licensed"
        })
    }

    pub(super) fn price_by_id(&self, id: &str) -> Value {
        self.prices
            .get(id)
            .map(|p| self.price_json(p))
            .unwrap_or(Value::Null)
    }
}
