//! Customers.

use serde_json::Value;

use super::Store;
use crate::clock::now;
use crate::error::ApiError;
use crate::ids;
use crate::model::{Customer, Metadata, RequestInfo};
use crate::requests::{CustomerUpdate, NewCustomer};

impl Store {
    /// A new customer, not yet stored.
    pub(super) fn new_customer(&mut self, email: Option<String>, name: Option<String>) -> Customer {
        let seq = self.next_seq();
        Customer {
            seq,
            id: ids::customer(),
            created: now(),
            email,
            name,
            description: None,
            phone: None,
            metadata: Metadata::new(),
            invoice_prefix: ids::random_chars(8).to_uppercase(),
            balance: 0,
            next_invoice_sequence: 1,
            default_payment_method: None,
        }
    }

    pub fn create_customer(&mut self, new: NewCustomer) -> Value {
        let mut customer = self.new_customer(new.email, new.name);
        customer.description = new.description;
        customer.phone = new.phone;
        customer.metadata = new.metadata;
        let json = self.customer_json(&customer);
        self.customers.insert(customer.id.clone(), customer);
        json
    }

    /// Changes the fields given; `customer.updated` when anything changed.
    pub fn update_customer(
        &mut self,
        id: &str,
        update: CustomerUpdate,
        request: &RequestInfo,
    ) -> Result<Value, ApiError> {
        let Some(before) = self.customers.get(id).cloned() else {
            return Err(ApiError::not_found("customer", id));
        };
        let mut after = before.clone();
        for (slot, change) in [
            (&mut after.email, update.email),
            (&mut after.name, update.name),
            (&mut after.description, update.description),
            (&mut after.phone, update.phone),
        ] {
            if let Some(value) = change {
                *slot = value;
            }
        }
        update.metadata.apply(&mut after.metadata);
        let json = self.customer_json(&after);
        let before_json = self.customer_json(&before);
        self.customers.insert(id.to_string(), after);
        self.record_update("customer.updated", &before_json, &json, request);
        Ok(json)
    }
}
