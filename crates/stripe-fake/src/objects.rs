//! The JSON of each object, shaped after Stripe's example objects (fixtures3.json, MIT: see
//! LICENSE-stripe-fixtures): the same fields, with plausible values for those the fake does
//! not model.

use serde_json::{Value, json};

use crate::billing::{
    Invoice, InvoiceLine, InvoiceStatus, Recurring, Subscription, SubscriptionItem,
};
use crate::error::ApiError;
use crate::form::Node;
use crate::store::{
    Charge, CheckoutMode, Customer, DeliveryState, EventRecord, LineItem, PaymentIntent,
    PortalSession, Price, Product, Refund, Session, SessionStatus, Store,
};

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
    pub fn customer_json(&self, c: &Customer) -> Value {
        json!({
            "id": c.id,
            "object": "customer",
            "address": null,
            "balance": c.balance,
            "created": c.created,
            "currency": null,
            "default_source": null,
            "delinquent": false,
            "description": c.description,
            "discount": null,
            "email": c.email,
            "invoice_prefix": c.invoice_prefix,
            "invoice_settings": {
                "custom_fields": null,
                "default_payment_method": c.default_payment_method.as_ref().map(|(id, _)| id),
                "footer": null,
                "rendering_options": null
            },
            "livemode": false,
            "metadata": c.metadata,
            "name": c.name,
            "next_invoice_sequence": c.next_invoice_sequence,
            "phone": c.phone,
            "preferred_locales": [],
            "shipping": null,
            "tax_exempt": "none",
            "test_clock": null
        })
    }

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

    /// Each line item's billing interval (`None`: a one-time price).
    pub fn billing_terms(&self, items: &[LineItem]) -> Vec<Option<Recurring>> {
        items
            .iter()
            .map(|li| self.prices.get(&li.price).and_then(|p| p.recurring))
            .collect()
    }

    /// The billing interval of a subscription-mode session (its prices share one).
    pub fn session_recurring(&self, s: &Session) -> Option<Recurring> {
        self.billing_terms(&s.line_items)
            .into_iter()
            .flatten()
            .next()
    }

    pub fn checkout_url(&self, session_id: &str) -> String {
        format!("{}/checkout/{session_id}", self.public_url)
    }

    pub fn session_json(&self, s: &Session) -> Value {
        let open = s.status == SessionStatus::Open;
        let payment_mode = s.mode == CheckoutMode::Payment;
        let customer_details = match &s.details {
            Some((email, name)) => json!({
                "address": { "city": null, "country": "US", "line1": null, "line2": null, "postal_code": "42424", "state": null },
                "email": email,
                "name": name,
                "phone": null,
                "tax_exempt": "none",
                "tax_ids": [],
                "business_name": null,
                "individual_name": null
            }),
            None => Value::Null,
        };
        let session = json!({
            "id": s.id,
            "object": "checkout.session",
            "after_expiration": null,
            "allow_promotion_codes": null,
            "amount_subtotal": s.amount_total,
            "amount_total": s.amount_total,
            "automatic_tax": { "enabled": false, "liability": null, "status": null, "provider": null },
            "billing_address_collection": null,
            "cancel_url": s.cancel_url,
            "client_reference_id": s.client_reference_id,
            "client_secret": null,
            "consent": null,
            "consent_collection": null,
            "created": s.created,
            "currency": s.currency,
            "currency_conversion": null,
            "custom_fields": [],
            "custom_text": {
                "after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null
            },
            "customer": s.customer,
            "customer_creation": if s.customer.is_none() && payment_mode { json!("if_required") } else { Value::Null },
            "customer_details": customer_details,
            "customer_email": s.customer_email,
            "discounts": [],
            "expires_at": s.expires_at,
            "invoice": s.invoice,
            "invoice_creation": if payment_mode { json!({
                "enabled": false,
                "invoice_data": {
                    "account_tax_ids": null, "custom_fields": null, "description": null, "footer": null,
                    "issuer": null, "metadata": {}, "rendering_options": null
                }
            }) } else { Value::Null },
            "livemode": false,
            "locale": null,
            "metadata": s.metadata,
            "mode": s.mode.as_str(),
            "payment_intent": s.payment_intent,
            "payment_link": null,
            "payment_method_collection": if payment_mode { "if_required" } else { "always" },
            "payment_method_configuration_details": null,
            "payment_method_options": { "card": { "request_three_d_secure": "automatic" } },
            "payment_method_types": ["card"],
            "payment_status": if s.paid { "paid" } else { "unpaid" },
            "phone_number_collection": { "enabled": false },
            "recovered_from": null,
            "saved_payment_method_options": null,
            "setup_intent": null,
            "shipping_address_collection": null,
            "shipping_cost": null,
            "shipping_options": [],
            "status": s.status.as_str(),
            "submit_type": null,
            "subscription": s.subscription,
            "success_url": s.success_url,
            "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
            "ui_mode": "hosted",
            "url": if open { json!(self.checkout_url(&s.id)) } else { Value::Null },
        });
        // Fields of newer API versions, kept apart to stay under the json! macro's depth.
        let extra = json!({
            "adaptive_pricing": { "enabled": false },
            "collected_information": { "shipping_details": null },
            "origin_context": null,
            "permissions": null,
            "wallet_options": null
        });
        with_fields(session, extra)
    }

    /// A session's line items as Stripe's `item` objects.
    pub fn line_items_json(&self, s: &Session) -> Vec<Value> {
        s.line_items
            .iter()
            .map(|li| {
                let price = self
                    .prices
                    .get(&li.price)
                    .map(|p| self.price_json(p))
                    .unwrap_or(Value::Null);
                json!({
                    "id": li.id,
                    "object": "item",
                    "amount_discount": 0,
                    "amount_subtotal": li.amount,
                    "amount_tax": 0,
                    "amount_total": li.amount,
                    "currency": li.currency,
                    "description": li.description,
                    "price": price,
                    "quantity": li.quantity
                })
            })
            .collect()
    }

    pub fn payment_intent_json(&self, i: &PaymentIntent) -> Value {
        json!({
            "id": i.id,
            "object": "payment_intent",
            "amount": i.amount,
            "amount_capturable": 0,
            "amount_details": { "tip": {} },
            "amount_received": i.amount_received,
            "application": null,
            "application_fee_amount": null,
            "automatic_payment_methods": null,
            "canceled_at": null,
            "cancellation_reason": null,
            "capture_method": "automatic_async",
            "client_secret": i.client_secret,
            "confirmation_method": "automatic",
            "created": i.created,
            "currency": i.currency,
            "customer": i.customer,
            "description": i.description,
            "excluded_payment_method_types": null,
            "last_payment_error": i.last_payment_error,
            "latest_charge": i.latest_charge,
            "livemode": false,
            "metadata": i.metadata,
            "next_action": null,
            "on_behalf_of": null,
            "payment_method": i.payment_method,
            "payment_method_configuration_details": null,
            "payment_method_options": {
                "card": { "installments": null, "mandate_options": null, "network": null, "request_three_d_secure": "automatic" }
            },
            "payment_method_types": ["card"],
            "processing": null,
            "receipt_email": null,
            "review": null,
            "setup_future_usage": null,
            "shipping": null,
            "source": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": i.status,
            "transfer_data": null,
            "transfer_group": null
        })
    }

    pub fn charge_json(&self, c: &Charge) -> Value {
        let refunds: Vec<Value> = c
            .refunds
            .iter()
            .rev()
            .filter_map(|id| self.refunds.get(id))
            .map(|r| self.refund_json(r))
            .collect();
        let outcome = match &c.failure {
            None => json!({
                "advice_code": null, "network_advice_code": null, "network_decline_code": null,
                "network_status": "approved_by_network", "reason": null, "risk_level": "normal",
                "risk_score": 32, "seller_message": "Payment complete.", "type": "authorized"
            }),
            Some((_, decline_code, _)) => json!({
                "advice_code": "try_again_later", "network_advice_code": null, "network_decline_code": null,
                "network_status": "declined_by_network", "reason": decline_code, "risk_level": "normal",
                "risk_score": 40,
                "seller_message": "The bank did not return any further details with this decline.",
                "type": "issuer_declined"
            }),
        };
        let card = json!({
            "amount_authorized": if c.succeeded { json!(c.amount) } else { Value::Null },
            "authorization_code": null,
            "brand": c.card.brand,
            "checks": { "address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass" },
            "country": "US",
            "exp_month": c.card.exp_month,
            "exp_year": c.card.exp_year,
            "extended_authorization": { "status": "disabled" },
            "fingerprint": format!("fp{}", c.card.last4),
            "funding": c.card.funding,
            "incremental_authorization": { "status": "unavailable" },
            "installments": null,
            "last4": c.card.last4,
            "mandate": null,
            "multicapture": { "status": "unavailable" },
            "network": c.card.brand,
            "network_token": { "used": false },
            "network_transaction_id": null,
            "overcapture": { "maximum_amount_capturable": c.amount, "status": "unavailable" },
            "regulated_status": "unregulated",
            "three_d_secure": null,
            "wallet": null
        });
        let mut billing_details = json!({
            "email": c.billing_email, "name": c.billing_name, "phone": null, "tax_id": null
        });
        billing_details["address"] = null_address();
        json!({
            "id": c.id,
            "object": "charge",
            "amount": c.amount,
            "amount_captured": if c.succeeded { c.amount } else { 0 },
            "amount_refunded": c.amount_refunded,
            "application": null,
            "application_fee": null,
            "application_fee_amount": null,
            "balance_transaction": c.balance_transaction,
            "billing_details": billing_details,
            "calculated_statement_descriptor": "QUICKSCALE TEST",
            "captured": c.succeeded,
            "created": c.created,
            "currency": c.currency,
            "customer": c.customer,
            "description": c.description,
            "disputed": false,
            "failure_balance_transaction": null,
            "failure_code": c.failure.as_ref().map(|f| f.0.clone()),
            "failure_message": c.failure.as_ref().map(|f| f.2.clone()),
            "fraud_details": {},
            "invoice": c.invoice,
            "livemode": false,
            "metadata": c.metadata,
            "on_behalf_of": null,
            "outcome": outcome,
            "paid": c.succeeded,
            "payment_intent": c.payment_intent,
            "payment_method": c.payment_method,
            "payment_method_details": { "card": card, "type": "card" },
            "radar_options": {},
            "receipt_email": null,
            "receipt_number": null,
            "receipt_url": format!("{}/receipts/{}", self.public_url, c.id),
            "refunded": c.succeeded && c.amount_refunded >= c.amount,
            "refunds": embedded_list(refunds, format!("/v1/charges/{}/refunds", c.id)),
            "review": null,
            "shipping": null,
            "source": null,
            "source_transfer": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": if c.succeeded { "succeeded" } else { "failed" },
            "transfer_data": null,
            "transfer_group": null
        })
    }

    pub fn refund_json(&self, r: &Refund) -> Value {
        json!({
            "id": r.id,
            "object": "refund",
            "amount": r.amount,
            "balance_transaction": r.balance_transaction,
            "charge": r.charge,
            "created": r.created,
            "currency": r.currency,
            "destination_details": {
                "card": {
                    "reference": r.reference,
                    "reference_status": if r.reference.is_some() { "available" } else { "pending" },
                    "reference_type": "acquirer_reference_number",
                    "type": "refund"
                },
                "type": "card"
            },
            "metadata": r.metadata,
            "payment_intent": r.payment_intent,
            "reason": r.reason,
            "receipt_number": null,
            "source_transfer_reversal": null,
            "status": "succeeded",
            "transfer_reversal": null
        })
    }

    /// A recurring price as the `plan` object of API versions up to 2024-06-20.
    fn plan_json(&self, price: &str) -> Value {
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

    fn price_by_id(&self, id: &str) -> Value {
        self.prices
            .get(id)
            .map(|p| self.price_json(p))
            .unwrap_or(Value::Null)
    }

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

    fn invoice_line_json(&self, invoice: &Invoice, l: &InvoiceLine) -> Value {
        let price = self.prices.get(&l.price);
        let base = json!({
            "id": l.id,
            "object": "line_item",
            "amount": l.amount,
            "amount_excluding_tax": l.amount,
            "currency": l.currency,
            "description": l.description,
            "discount_amounts": [],
            "discountable": !l.proration,
            "discounts": [],
            "invoice": invoice.id,
            "invoice_item": l.invoice_item,
            "livemode": false,
            "metadata": {},
            "period": { "end": l.period_end, "start": l.period_start },
            "plan": self.plan_json(&l.price),
            "price": self.price_by_id(&l.price),
            "proration": l.proration,
            "proration_details": { "credited_items": null },
            "quantity": l.quantity,
            "subscription": l.subscription,
            "subscription_item": l.subscription_item,
            "tax_amounts": [],
            "tax_rates": [],
            // Prorations are invoice items; the plan line is the subscription's own.
            "type": if l.invoice_item.is_some() { "invoiceitem" } else { "subscription" },
            "unit_amount_excluding_tax": price.map(|p| p.unit_amount.to_string())
        });
        let newer = json!({
            "parent": {
                "invoice_item_details": null,
                "subscription_item_details": {
                    "invoice_item": l.invoice_item,
                    "proration": l.proration,
                    "proration_details": { "credited_items": null },
                    "subscription": l.subscription,
                    "subscription_item": l.subscription_item
                },
                "type": "subscription_item_details"
            },
            "pretax_credit_amounts": [],
            "pricing": {
                "price_details": { "price": l.price, "product": price.map(|p| p.product.clone()) },
                "type": "price_details",
                "unit_amount_decimal": price.map(|p| p.unit_amount.to_string())
            },
            "taxes": []
        });
        with_fields(base, newer)
    }

    pub fn invoice_url(&self, id: &str) -> String {
        format!("{}/invoices/{id}", self.public_url)
    }

    /// An invoice's lines in its order (`GET /v1/invoices/{id}/lines`).
    pub fn invoice_lines_json(&self, i: &Invoice) -> Vec<Value> {
        i.lines
            .iter()
            .map(|l| self.invoice_line_json(i, l))
            .collect()
    }

    pub fn invoice_lines_url(id: &str) -> String {
        format!("/v1/invoices/{id}/lines")
    }

    /// An invoice with both shapes: `subscription`, `payment_intent`, `charge` and `paid` at
    /// the top (2024-06-20) and `parent.subscription_details` (newer versions). `lines` embeds
    /// the first ten lines.
    pub fn invoice_json(&self, i: &Invoice) -> Value {
        let lines = self.invoice_lines_json(i);
        let paid = i.status == InvoiceStatus::Paid;
        let draft = i.status == InvoiceStatus::Draft;
        let base = json!({
            "id": i.id,
            "object": "invoice",
            "account_country": "US",
            "account_name": null,
            "account_tax_ids": null,
            "amount_due": i.amount_due,
            "amount_overpaid": 0,
            "amount_paid": i.amount_paid,
            "amount_remaining": i.amount_due - i.amount_paid,
            "amount_shipping": 0,
            "application": null,
            "application_fee_amount": null,
            "attempt_count": i.attempt_count,
            "attempted": i.attempted,
            "auto_advance": !paid,
            "automatic_tax": {
                "disabled_reason": null, "enabled": false, "liability": null, "provider": null, "status": null
            },
            "automatically_finalizes_at": null,
            "billing_reason": i.billing_reason,
            "charge": i.charge,
            "collection_method": "charge_automatically",
            "created": i.created,
            "currency": i.currency,
            "custom_fields": null,
            "customer": i.customer,
            "customer_address": null,
            "customer_email": i.customer_email,
            "customer_name": i.customer_name,
            "customer_phone": null,
            "customer_shipping": null,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": null,
            "default_source": null,
            "default_tax_rates": [],
            "description": null,
            "discount": null,
            "discounts": [],
            "due_date": null,
            "effective_at": i.finalized_at,
            "ending_balance": i.ending_balance,
            "footer": null,
            "from_invoice": null,
            "hosted_invoice_url": if draft { Value::Null } else { json!(self.invoice_url(&i.id)) },
            "invoice_pdf": null,
            "issuer": { "type": "self" },
            "last_finalization_error": null,
            "latest_revision": null,
            "lines": embedded_list(lines, Self::invoice_lines_url(&i.id)),
            "livemode": false,
            "metadata": {}
        });
        let rest = json!({
            "next_payment_attempt": null,
            "number": i.number,
            "on_behalf_of": null,
            "paid": paid,
            "paid_out_of_band": false,
            "parent": {
                "quote_details": null,
                "subscription_details": {
                    "metadata": i.subscription_metadata,
                    "subscription": i.subscription
                },
                "type": "subscription_details"
            },
            "payment_intent": i.payment_intent,
            "payment_settings": {
                "default_mandate": null, "payment_method_options": null, "payment_method_types": null
            },
            "period_end": i.period_end,
            "period_start": i.period_start,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "quote": null,
            "receipt_number": null,
            "rendering": null,
            "shipping_cost": null,
            "shipping_details": null,
            "starting_balance": i.starting_balance,
            "statement_descriptor": null,
            "status": i.status.as_str(),
            "status_transitions": {
                "finalized_at": i.finalized_at,
                "marked_uncollectible_at": null,
                "paid_at": i.paid_at,
                "voided_at": null
            },
            "subscription": i.subscription,
            "subscription_details": { "metadata": i.subscription_metadata },
            "subtotal": i.subtotal,
            "subtotal_excluding_tax": i.subtotal,
            "tax": null,
            "test_clock": null,
            "total": i.total,
            "total_discount_amounts": [],
            "total_excluding_tax": i.total,
            "total_pretax_credit_amounts": [],
            "total_tax_amounts": [],
            "total_taxes": [],
            "transfer_data": null,
            "webhooks_delivered_at": i.finalized_at
        });
        with_fields(base, rest)
    }

    pub fn portal_url(&self, id: &str) -> String {
        format!("{}/billing_portal/{id}", self.public_url)
    }

    pub fn portal_session_json(&self, s: &PortalSession) -> Value {
        json!({
            "id": s.id,
            "object": "billing_portal.session",
            "configuration": s.configuration,
            "created": s.created,
            "customer": s.customer,
            "flow": null,
            "livemode": false,
            "locale": null,
            "on_behalf_of": null,
            "return_url": s.return_url,
            "url": self.portal_url(&s.id)
        })
    }

    pub fn event_json(&self, e: &EventRecord) -> Value {
        let mut body = e.body.clone();
        let pending = u32::from(e.delivery == DeliveryState::Pending);
        body["pending_webhooks"] = json!(pending);
        body
    }

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

    /// Applies `expand[]`: each dotted path names a field holding an id, replaced by the object
    /// (`data.` applies to each item of a list). `line_items` expands a checkout session's items.
    pub fn expand(&self, value: &mut Value, params: &Node<'_>) -> Result<(), ApiError> {
        for path in params.strings("expand") {
            let segments: Vec<&str> = path.split('.').collect();
            if segments.len() > 4 {
                return Err(ApiError::invalid(
                    "expand",
                    "parameter_invalid_string",
                    "You cannot expand more than 4 levels of a property.",
                ));
            }
            self.expand_path(value, &segments, &path)?;
        }
        Ok(())
    }

    fn expand_path(
        &self,
        value: &mut Value,
        segments: &[&str],
        path: &str,
    ) -> Result<(), ApiError> {
        let Some((first, rest)) = segments.split_first() else {
            return Ok(());
        };
        if *first == "data"
            && let Some(items) = value.get_mut("data").and_then(Value::as_array_mut)
        {
            for item in items {
                self.expand_path(item, rest, path)?;
            }
            return Ok(());
        }
        if *first == "line_items" && value["object"] == "checkout.session" && rest.is_empty() {
            let id = value["id"].as_str().unwrap_or_default().to_string();
            if let Some(session) = self.sessions.get(&id) {
                let data = self.line_items_json(session);
                value["line_items"] = json!({
                    "object": "list",
                    "data": data,
                    "has_more": false,
                    "url": format!("/v1/checkout/sessions/{id}/line_items")
                });
            }
            return Ok(());
        }
        let Some(field) = value.get_mut(*first) else {
            return Err(ApiError::invalid(
                "expand",
                "parameter_invalid_string",
                format!("This property cannot be expanded ({path})."),
            ));
        };
        if let Some(id) = field.as_str() {
            match self.object_by_id(id) {
                Some(object) => *field = object,
                None => {
                    return Err(ApiError::invalid(
                        "expand",
                        "parameter_invalid_string",
                        format!("This property cannot be expanded ({path})."),
                    ));
                }
            }
        }
        if !rest.is_empty() && field.is_object() {
            self.expand_path(field, rest, path)?;
        }
        Ok(())
    }
}

/// A Stripe list over `items` kept in their own order (a session's line items, an invoice's
/// lines) rather than newest first; the cursors name items by their `id`.
pub(crate) fn ordered_list(
    items: Vec<Value>,
    params: &Node<'_>,
    url: &str,
    object: &str,
) -> Result<Value, ApiError> {
    let place = |i: usize| u64::MAX - i as u64;
    let ids: Vec<String> = items
        .iter()
        .map(|item| item["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let items = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| (place(i), item))
        .collect();
    list(items, params, url, object, |wanted| {
        ids.iter().position(|id| id == wanted).map(place)
    })
}

/// A Stripe list object over `items` (newest first): `limit` (1 to 100, default 10),
/// `starting_after` and `ending_before` cursors. `position` gives an id's place in the full
/// collection (its sequence number), so a cursor may name an object filtered out.
pub(crate) fn list(
    items: Vec<(u64, Value)>,
    params: &Node<'_>,
    url: &str,
    object: &str,
    position: impl Fn(&str) -> Option<u64>,
) -> Result<Value, ApiError> {
    let limit = params.int("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "parameter_invalid_integer",
            "Invalid integer: limit must be between 1 and 100.",
        ));
    }
    let limit = limit as usize;
    let mut items = items;
    items.sort_by_key(|item| std::cmp::Reverse(item.0));
    let cursor = |param: &str| -> Result<Option<u64>, ApiError> {
        match params.str(param)? {
            None => Ok(None),
            Some(id) => position(id)
                .map(Some)
                .ok_or_else(|| ApiError::no_such(object, param, id)),
        }
    };
    let (page, has_more) = if let Some(after) = cursor("starting_after")? {
        let rest: Vec<(u64, Value)> = items.into_iter().filter(|(seq, _)| *seq < after).collect();
        let has_more = rest.len() > limit;
        (rest.into_iter().take(limit).collect::<Vec<_>>(), has_more)
    } else if let Some(before) = cursor("ending_before")? {
        let newer: Vec<(u64, Value)> = items.into_iter().filter(|(seq, _)| *seq > before).collect();
        let has_more = newer.len() > limit;
        let skip = newer.len().saturating_sub(limit);
        (newer.into_iter().skip(skip).collect(), has_more)
    } else {
        let has_more = items.len() > limit;
        (items.into_iter().take(limit).collect(), has_more)
    };
    Ok(json!({
        "object": "list",
        "data": page.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        "has_more": has_more,
        "url": url
    }))
}
