//! Invoices and their lines.

use serde_json::{Value, json};

use super::{embedded_list, with_fields};
use crate::model::{Invoice, InvoiceLine, InvoiceStatus};
use crate::store::Store;

impl Store {
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
}
