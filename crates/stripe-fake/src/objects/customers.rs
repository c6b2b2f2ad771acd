//! Customers and billing-portal sessions.

use serde_json::{Value, json};

use crate::model::{Customer, PortalSession};
use crate::store::Store;

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
}
