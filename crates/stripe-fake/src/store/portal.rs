//! The billing portal: its sessions, and the card a customer saves there.

use serde_json::Value;

use super::Store;
use crate::cards::{CardBehaviour, CardInput, card_attaches, card_behaviour};
use crate::clock::now;
use crate::error::ApiError;
use crate::ids;
use crate::model::{PortalSession, RequestInfo, SubscriptionStatus};
use crate::requests::NewPortalSession;

impl Store {
    /// `POST /v1/billing_portal/sessions`.
    pub fn create_portal_session(&mut self, new: NewPortalSession) -> Result<Value, ApiError> {
        let customer = new.customer;
        if !self.customers.contains_key(&customer.id) {
            return Err(ApiError::no_such("customer", &customer.param, &customer.id));
        }
        let session = PortalSession {
            id: ids::portal_session(),
            created: now(),
            customer: customer.id,
            return_url: new.return_url,
            configuration: ids::portal_configuration(),
        };
        let json = self.portal_session_json(&session);
        self.portal_sessions.insert(session.id.clone(), session);
        Ok(json)
    }

    /// The billing portal's "Update payment method": a card that works becomes the customer's
    /// default payment method and the one each of its running subscriptions is charged to from
    /// now on (`customer.updated`, `customer.subscription.updated`). An open invoice is not paid
    /// at once: the next attempt (a renewal) charges the new card. A declining card is refused
    /// with the card's message and changes nothing.
    pub fn set_default_card(
        &mut self,
        customer: &str,
        card: CardInput,
        request: &RequestInfo,
    ) -> Result<String, String> {
        match card_behaviour(&card.number) {
            None => return Err("Your card number is incorrect.".to_string()),
            Some(CardBehaviour::Declined { message, .. }) if !card_attaches(&card.number) => {
                return Err(message.to_string());
            }
            Some(_) => {}
        }
        let Some(before) = self.customers.get(customer).cloned() else {
            return Err(format!("No such customer: '{customer}'"));
        };
        let method = ids::payment_method();
        let mut after = before.clone();
        after.default_payment_method = Some((method.clone(), card.clone()));
        let previous =
            super::previous_attributes(&self.customer_json(&before), &self.customer_json(&after));
        let json = self.customer_json(&after);
        self.customers.insert(customer.to_string(), after);
        self.record_event("customer.updated", json, Some(previous), request);
        let running: Vec<String> = self
            .subscriptions
            .values()
            .filter(|s| s.customer == customer && s.status != SubscriptionStatus::Canceled)
            .map(|s| s.id.clone())
            .collect();
        for id in running {
            let Some(sub) = self.subscriptions.get_mut(&id) else {
                continue;
            };
            let old = sub.clone();
            sub.default_payment_method = method.clone();
            sub.card = card.clone();
            let before = self.subscription_json(&old);
            self.announce_update(&before, &id, request);
        }
        Ok(method)
    }
}
