//! PaymentIntents, charges and refunds.

use serde_json::{Value, json};

use super::{embedded_list, null_address};
use crate::model::{Charge, PaymentIntent, Refund};
use crate::store::Store;

impl Store {
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
}
