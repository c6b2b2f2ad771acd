//! Subscriptions and their items.

use serde_json::{Value, json};

use super::{embedded_list, with_fields};
use crate::model::{Subscription, SubscriptionItem};
use crate::store::Store;

impl Store {
    fn subscription_item_json(&self, s: &Subscription, item: &SubscriptionItem) -> Value {
        json!({
            "id": item.id,
            "object": "subscription_item",
            "billing_thresholds": null,
            "created": item.created,
            "current_period_end": s.current_period_end,
            "current_period_start": s.current_period_start,
            "discounts": [],
            "metadata": item.metadata,
            "plan": self.plan_json(&item.price),
            "price": self.price_by_id(&item.price),
            "quantity": item.quantity,
            "subscription": s.id,
            "tax_rates": []
        })
    }

    /// A subscription with both shapes of the period: `current_period_start`/`_end` at the top
    /// (2024-06-20) and on each item (newer versions).
    pub fn subscription_json(&self, s: &Subscription) -> Value {
        let items: Vec<Value> = s
            .items
            .iter()
            .map(|item| self.subscription_item_json(s, item))
            .collect();
        let single = (s.items.len() == 1).then(|| &s.items[0]);
        let cancel_requested = s.cancel_at_period_end || s.canceled_at.is_some();
        let base = json!({
            "id": s.id,
            "object": "subscription",
            "application": null,
            "application_fee_percent": null,
            "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
            "billing_cycle_anchor": s.billing_cycle_anchor,
            "billing_cycle_anchor_config": null,
            "billing_thresholds": null,
            "cancel_at": if s.cancel_at_period_end { Some(s.current_period_end) } else { None },
            "cancel_at_period_end": s.cancel_at_period_end,
            "canceled_at": s.canceled_at,
            "cancellation_details": {
                "comment": null,
                "feedback": null,
                "reason": if cancel_requested { Some("cancellation_requested") } else { None }
            },
            "collection_method": "charge_automatically",
            "created": s.created,
            "currency": s.currency,
            "current_period_end": s.current_period_end,
            "current_period_start": s.current_period_start,
            "customer": s.customer,
            "days_until_due": null,
            "default_payment_method": s.default_payment_method,
            "default_source": null,
            "default_tax_rates": [],
            "description": null,
            "discount": null,
            "discounts": [],
            "ended_at": s.ended_at,
            "invoice_settings": { "account_tax_ids": null, "issuer": { "type": "self" } },
            "items": embedded_list(items, format!("/v1/subscription_items?subscription={}", s.id)),
            "latest_invoice": s.latest_invoice,
            "livemode": false,
            "metadata": s.metadata
        });
        let rest = json!({
            "next_pending_invoice_item_invoice": null,
            "on_behalf_of": null,
            "pause_collection": null,
            "payment_settings": {
                "payment_method_options": null,
                "payment_method_types": null,
                "save_default_payment_method": "off"
            },
            "pending_invoice_item_interval": null,
            "pending_setup_intent": null,
            "pending_update": null,
            "plan": single.map(|item| self.plan_json(&item.price)),
            "quantity": single.map(|item| item.quantity),
            "schedule": null,
            "start_date": s.created,
            "status": s.status.as_str(),
            "test_clock": null,
            "transfer_data": null,
            "trial_end": null,
            "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
            "trial_start": null,
            "billing_mode": { "flexible": null, "type": "classic" }
        });
        with_fields(base, rest)
    }
}
