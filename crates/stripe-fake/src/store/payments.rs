//! Charging a card: the one way money moves in, for checkout sessions and subscription
//! invoices alike.

use serde_json::{Value, json};

use super::Store;
use crate::cards::{CardBehaviour, CardInput};
use crate::clock::now;
use crate::ids;
use crate::model::{Card, Charge, Metadata, PaymentIntent, RequestInfo};

/// Whose card it is: the charge's billing details.
#[derive(Debug, Clone, Default)]
pub(crate) struct Payer {
    pub email: Option<String>,
    pub name: Option<String>,
}

/// What [`Store::charge_card`] charges.
#[derive(Debug, Clone)]
pub(crate) struct Payment {
    /// The PaymentIntent of an earlier, declined attempt, reused by this one.
    pub intent: Option<String>,
    /// A saved card's PaymentMethod (a subscription's); `None`: a new one.
    pub payment_method: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub payer: Payer,
}

/// What [`Store::charge_card`] did.
#[derive(Debug, Clone)]
pub(crate) struct Charged {
    pub intent: String,
    pub charge: String,
    pub payment_method: String,
    pub intent_json: Value,
    /// The decline message; `None` when the charge succeeded.
    pub declined: Option<String>,
}

/// Why a charge failed: its code, decline code and message, as the charge keeps them.
type Failure = (String, Option<String>, String);

impl Store {
    /// Charges a card: a PaymentIntent (new, with `payment_intent.created`, or the one of an
    /// earlier declined attempt) and a Charge, then `charge.succeeded` and
    /// `payment_intent.succeeded`, or `charge.failed` and `payment_intent.payment_failed`.
    pub(crate) fn charge_card(
        &mut self,
        payment: Payment,
        card: &CardInput,
        behaviour: &CardBehaviour,
        request: &RequestInfo,
    ) -> Charged {
        let created = now();
        let intent = self.intent_for(&payment, created, request);
        let payment_method = payment
            .payment_method
            .clone()
            .unwrap_or_else(ids::payment_method);
        let failure = failure_of(behaviour);
        let (charge, charge_json) =
            self.insert_charge(payment, &intent, &payment_method, card, behaviour, created);
        let intent_json = self.record_outcome(&intent, &charge, &payment_method, failure.as_ref());
        let (charge_event, intent_event) = if failure.is_some() {
            ("charge.failed", "payment_intent.payment_failed")
        } else {
            ("charge.succeeded", "payment_intent.succeeded")
        };
        self.record_event(charge_event, charge_json, None, request);
        self.record_event(intent_event, intent_json.clone(), None, request);
        Charged {
            intent,
            charge,
            payment_method,
            intent_json,
            declined: failure.map(|(_, _, message)| message),
        }
    }

    /// The PaymentIntent this attempt goes to: the earlier attempt's (given the customer it
    /// lacked), or a new one (`payment_intent.created`).
    fn intent_for(&mut self, payment: &Payment, created: i64, request: &RequestInfo) -> String {
        let reused = payment
            .intent
            .as_ref()
            .and_then(|id| self.payment_intents.get_mut(id))
            .map(|intent| {
                if intent.customer.is_none() {
                    intent.customer = payment.customer.clone();
                }
                intent.id.clone()
            });
        if let Some(id) = reused {
            return id;
        }
        let id = ids::payment_intent();
        let seq = self.next_seq();
        let intent = PaymentIntent {
            seq,
            id: id.clone(),
            created,
            amount: payment.amount,
            currency: payment.currency.clone(),
            customer: payment.customer.clone(),
            description: payment.description.clone(),
            metadata: payment.metadata.clone(),
            status: "requires_payment_method".into(),
            amount_received: 0,
            latest_charge: None,
            payment_method: None,
            last_payment_error: None,
            client_secret: format!("{id}_secret_{}", ids::random_chars(25)),
        };
        let json = self.payment_intent_json(&intent);
        self.payment_intents.insert(id.clone(), intent);
        self.record_event("payment_intent.created", json, None, request);
        id
    }

    /// Stores the charge of this attempt; returns its id and JSON.
    fn insert_charge(
        &mut self,
        payment: Payment,
        intent: &str,
        payment_method: &str,
        card: &CardInput,
        behaviour: &CardBehaviour,
        created: i64,
    ) -> (String, Value) {
        // A declined test card shows as a visa credit card, as Stripe's do.
        let (brand, funding) = match behaviour {
            CardBehaviour::Succeeds { brand, funding } => (*brand, *funding),
            CardBehaviour::Declined { .. } => ("visa", "credit"),
        };
        let failure = failure_of(behaviour);
        let id = ids::charge();
        let seq = self.next_seq();
        let charge = Charge {
            seq,
            id: id.clone(),
            created,
            amount: payment.amount,
            currency: payment.currency,
            customer: payment.customer,
            payment_intent: intent.to_string(),
            payment_method: payment_method.to_string(),
            description: payment.description,
            metadata: payment.metadata,
            succeeded: failure.is_none(),
            card: Card {
                brand: brand.to_string(),
                funding: funding.to_string(),
                last4: card.last4().to_string(),
                exp_month: card.exp_month,
                exp_year: card.exp_year,
            },
            billing_email: payment.payer.email,
            billing_name: payment.payer.name,
            balance_transaction: failure.is_none().then(ids::balance_transaction),
            failure,
            amount_refunded: 0,
            refunds: Vec::new(),
            invoice: None,
        };
        let json = self.charge_json(&charge);
        self.charges.insert(id.clone(), charge);
        (id, json)
    }

    /// The PaymentIntent after the charge: succeeded, or waiting for another payment method
    /// with the decline as its `last_payment_error`. Returns its JSON.
    fn record_outcome(
        &mut self,
        intent: &str,
        charge: &str,
        payment_method: &str,
        failure: Option<&Failure>,
    ) -> Value {
        let intent = self.payment_intents.get_mut(intent).map(|intent| {
            intent.latest_charge = Some(charge.to_string());
            match failure {
                Some((code, decline_code, message)) => {
                    intent.status = "requires_payment_method".into();
                    intent.last_payment_error = Some(json!({
                        "type": "card_error",
                        "code": code,
                        "decline_code": decline_code,
                        "message": message,
                        "charge": charge,
                        "param": null,
                        "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
                        "payment_method": { "id": payment_method, "object": "payment_method", "type": "card" },
                    }));
                }
                None => {
                    intent.status = "succeeded".into();
                    intent.amount_received = intent.amount;
                    intent.payment_method = Some(payment_method.to_string());
                    intent.last_payment_error = None;
                }
            }
            intent.clone()
        });
        intent
            .map(|i| self.payment_intent_json(&i))
            .unwrap_or(Value::Null)
    }
}

/// What a declining card's charge keeps of the decline; `None` for a card that pays.
fn failure_of(behaviour: &CardBehaviour) -> Option<Failure> {
    match behaviour {
        CardBehaviour::Succeeds { .. } => None,
        CardBehaviour::Declined {
            code,
            decline_code,
            message,
        } => Some((
            (*code).to_string(),
            decline_code.map(str::to_string),
            (*message).to_string(),
        )),
    }
}
