//! Checkout sessions and their line items.

use serde_json::{Value, json};

use super::with_fields;
use crate::model::{CheckoutMode, Session, SessionStatus};
use crate::store::Store;

impl Store {
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
}
