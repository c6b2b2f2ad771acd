//! Checkout sessions: made from a typed request, expired when their time is up, paid with a
//! test card (the hosted page and the test controls).

use serde_json::Value;

use super::Store;
use super::payments::{Payer, Payment};
use crate::cards::{CardBehaviour, CardInput, card_behaviour};
use crate::clock::now;
use crate::error::ApiError;
use crate::ids;
use crate::model::{
    CheckoutMode, LineItem, Metadata, Recurring, RequestInfo, Session, SessionStatus,
};
use crate::money::{format_money, line_amount, total_amount};
use crate::requests::{LinePrice, NewLineItem, NewSession};

/// The result of paying a session.
#[derive(Debug)]
pub(crate) enum PayOutcome {
    Paid {
        session: Value,
    },
    Declined {
        message: String,
        payment_intent: Value,
    },
}

/// Why a session cannot be paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PayRefusal {
    NotFound,
    Expired,
    AlreadyPaid,
    UnknownCard,
}

/// A line item's price as the state knows it, checked but not yet made.
struct PricedLine {
    currency: String,
    /// `None`: a one-time price.
    recurring: Option<Recurring>,
    /// `unit_amount × quantity`, within Stripe's cap.
    amount: i64,
}

/// The smallest total Stripe's Checkout takes, in minor units.
const MIN_TOTAL: i64 = 50;

impl Store {
    /// `POST /v1/checkout/sessions`: checks what the request names (the customer, each price or
    /// product, the mode's kind of price, one currency, the total within Stripe's bounds, the
    /// expiry in the future), then makes the prices given inline and the session.
    pub fn create_session(&mut self, new: NewSession) -> Result<Value, ApiError> {
        // The API's parsing reports an unknown customer first; the store holds no session of
        // a customer it does not know, whoever calls it.
        if let Some(customer) = &new.customer
            && !self.customers.contains_key(&customer.id)
        {
            return Err(ApiError::no_such("customer", &customer.param, &customer.id));
        }
        let lines = new
            .line_items
            .iter()
            .map(|item| self.priced_line(item))
            .collect::<Result<Vec<_>, _>>()?;
        check_billing_terms(new.mode, &new.line_items, &lines)?;
        let currency = lines[0].currency.clone();
        if lines.iter().any(|line| line.currency != currency) {
            return Err(ApiError::invalid(
                "line_items",
                "parameter_invalid_string",
                "All line items must use the same currency.",
            ));
        }
        let amount_total = total_amount(lines.iter().map(|line| line.amount))
            .ok_or_else(|| ApiError::amount_too_large("line_items", &currency))?;
        if amount_total < MIN_TOTAL {
            return Err(ApiError::invalid(
                "line_items",
                "amount_too_small",
                format!(
                    "The Checkout Session's total amount due must add up to at least {} {currency}",
                    format_money(MIN_TOTAL, &currency)
                ),
            ));
        }
        let created = now();
        let expires_at = match new.expires_at {
            Some(at) if at <= created => {
                return Err(ApiError::invalid(
                    "expires_at",
                    "parameter_invalid_integer",
                    "expires_at must be in the future.",
                ));
            }
            Some(at) => at,
            None => created + self.session_ttl,
        };
        let line_items = new
            .line_items
            .into_iter()
            .zip(lines)
            .map(|(item, line)| self.make_line_item(item, line, created))
            .collect();
        let seq = self.next_seq();
        let session = Session {
            seq,
            id: ids::checkout_session(),
            created,
            mode: new.mode,
            expires_at,
            customer: new.customer.map(|c| c.id),
            customer_email: new.customer_email,
            client_reference_id: new.client_reference_id,
            success_url: new.success_url,
            cancel_url: new.cancel_url,
            metadata: new.metadata,
            line_items,
            currency,
            amount_total,
            status: SessionStatus::Open,
            paid: false,
            payment_intent: None,
            attempt_intent: None,
            intent_metadata: new.intent_metadata,
            intent_description: new.intent_description,
            details: None,
            subscription_metadata: new.subscription_metadata,
            subscription: None,
            invoice: None,
        };
        let json = self.session_json(&session);
        self.sessions.insert(session.id.clone(), session);
        Ok(json)
    }

    /// Checks a line item's price against the state (an active price, a known product) and
    /// its total against Stripe's cap.
    fn priced_line(&self, item: &NewLineItem) -> Result<PricedLine, ApiError> {
        let (unit_amount, currency, recurring) = match &item.price {
            LinePrice::Existing(reference) => {
                let Some(price) = self.prices.get(&reference.id) else {
                    return Err(ApiError::no_such("price", &reference.param, &reference.id));
                };
                if !price.active {
                    return Err(ApiError::invalid(
                        reference.param.clone(),
                        "price_inactive",
                        format!(
                            "The price specified ({}) is inactive. This field only accepts active prices.",
                            reference.id
                        ),
                    ));
                }
                (price.unit_amount, price.currency.clone(), price.recurring)
            }
            LinePrice::Inline { terms, product } => {
                self.check_product(product)?;
                (terms.unit_amount, terms.currency.clone(), terms.recurring)
            }
        };
        let amount = line_amount(unit_amount, item.quantity)
            .ok_or_else(|| ApiError::amount_too_large(item.quantity_param.clone(), &currency))?;
        Ok(PricedLine {
            currency,
            recurring,
            amount,
        })
    }

    /// A session's line item; a price given inline is made now, inactive (as its product).
    fn make_line_item(&mut self, item: NewLineItem, line: PricedLine, created: i64) -> LineItem {
        let price = match item.price {
            LinePrice::Existing(reference) => reference.id,
            LinePrice::Inline { terms, product } => {
                let product = self.product_for(product, created);
                self.insert_price(&product, terms, created, false)
            }
        };
        let (_, description) = self.price_and_product(&price);
        LineItem {
            id: ids::line_item(),
            price,
            description,
            quantity: item.quantity,
            amount: line.amount,
            currency: line.currency,
        }
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

    /// Expires a session whose time is up (Stripe does it on its own; the fake when the
    /// session is next looked at).
    pub fn refresh_session(&mut self, id: &str) {
        let due = self
            .sessions
            .get(id)
            .is_some_and(|s| s.status == SessionStatus::Open && now() >= s.expires_at);
        if due {
            let _ = self.expire_session(id, &RequestInfo::default());
        }
    }

    pub fn refresh_all_sessions(&mut self) {
        let due: Vec<String> = self
            .sessions
            .values()
            .filter(|s| s.status == SessionStatus::Open && now() >= s.expires_at)
            .map(|s| s.id.clone())
            .collect();
        for id in due {
            let _ = self.expire_session(&id, &RequestInfo::default());
        }
    }

    pub fn expire_session(&mut self, id: &str, request: &RequestInfo) -> Result<Value, ApiError> {
        let Some(session) = self.sessions.get_mut(id) else {
            return Err(ApiError::not_found("checkout.session", id));
        };
        if session.status != SessionStatus::Open {
            return Err(ApiError::business(
                "checkout_session_not_open",
                None,
                format!(
                    "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of \"{}\".",
                    session.status.as_str()
                ),
            ));
        }
        session.status = SessionStatus::Expired;
        let session = session.clone();
        let json = self.session_json(&session);
        self.record_event("checkout.session.expired", json.clone(), None, request);
        Ok(json)
    }

    /// Pays an open session with a test card: the checkout page's "Pay" and the test controls.
    /// A declined card leaves the session open (the next attempt reuses its PaymentIntent); a
    /// card that pays completes it, and a subscription-mode session starts its subscription
    /// (see [`Store::start_subscription`]).
    pub fn pay_session(&mut self, id: &str, card: &CardInput) -> Result<PayOutcome, PayRefusal> {
        let session = self.payable_session(id)?;
        let behaviour = card_behaviour(&card.number).ok_or(PayRefusal::UnknownCard)?;
        let request = RequestInfo::default();
        let payer = self.payer(&session, card);
        let customer = self.checkout_customer(&session, &payer, &behaviour, &request);
        let payment = session_payment(&session, customer.clone(), &payer);
        let charged = self.charge_card(payment, card, &behaviour, &request);
        if let Some(s) = self.sessions.get_mut(id) {
            s.attempt_intent = Some(charged.intent.clone());
        }
        if let Some(message) = charged.declined {
            return Ok(PayOutcome::Declined {
                message,
                payment_intent: charged.intent_json,
            });
        }
        let started = match (&customer, session.mode) {
            (Some(customer), CheckoutMode::Subscription) => {
                Some(self.start_subscription(&session, customer, card, &charged, &request))
            }
            _ => None,
        };
        let session = self.complete_session(id, &charged.intent, customer, started, payer);
        self.record_event(
            "checkout.session.completed",
            session.clone(),
            None,
            &request,
        );
        Ok(PayOutcome::Paid { session })
    }

    /// The session, when it is open (an expired one is expired first).
    fn payable_session(&mut self, id: &str) -> Result<Session, PayRefusal> {
        self.refresh_session(id);
        let Some(session) = self.sessions.get(id) else {
            return Err(PayRefusal::NotFound);
        };
        match session.status {
            SessionStatus::Expired => Err(PayRefusal::Expired),
            SessionStatus::Complete => Err(PayRefusal::AlreadyPaid),
            SessionStatus::Open => Ok(session.clone()),
        }
    }

    /// The billing details: what was typed on the page, else what the session or its customer
    /// knows.
    fn payer(&self, session: &Session, card: &CardInput) -> Payer {
        let known = session
            .customer
            .as_ref()
            .and_then(|c| self.customers.get(c));
        Payer {
            email: card
                .email
                .clone()
                .or_else(|| session.customer_email.clone())
                .or_else(|| known.and_then(|c| c.email.clone())),
            name: card
                .name
                .clone()
                .or_else(|| known.and_then(|c| c.name.clone())),
        }
    }

    /// The session's customer. A subscription needs one: made from the payer's details
    /// (`customer.created`) once the card is known to pay.
    fn checkout_customer(
        &mut self,
        session: &Session,
        payer: &Payer,
        behaviour: &CardBehaviour,
        request: &RequestInfo,
    ) -> Option<String> {
        if let Some(id) = &session.customer {
            return Some(id.clone());
        }
        if session.mode != CheckoutMode::Subscription || !behaviour.succeeds() {
            return None;
        }
        let customer = self.new_customer(payer.email.clone(), payer.name.clone());
        let id = customer.id.clone();
        let json = self.customer_json(&customer);
        self.customers.insert(id.clone(), customer);
        self.record_event("customer.created", json, None, request);
        Some(id)
    }

    /// Marks a paid session complete, with what paid it; returns it as the API shows it.
    fn complete_session(
        &mut self,
        id: &str,
        intent: &str,
        customer: Option<String>,
        started: Option<(String, String)>,
        payer: Payer,
    ) -> Value {
        let session = self.sessions.get_mut(id).map(|s| {
            s.status = SessionStatus::Complete;
            s.paid = true;
            // Stripe leaves a subscription session's payment_intent null: it is the invoice's.
            s.payment_intent = (s.mode == CheckoutMode::Payment).then(|| intent.to_string());
            s.customer = customer;
            s.subscription = started.as_ref().map(|(sub, _)| sub.clone());
            s.invoice = started.map(|(_, invoice)| invoice);
            s.details = Some((payer.email, payer.name));
            s.clone()
        });
        session
            .map(|s| self.session_json(&s))
            .unwrap_or(Value::Null)
    }
}

/// What paying `session` charges. A subscription's first payment is described as Stripe
/// describes it and carries no session metadata.
fn session_payment(session: &Session, customer: Option<String>, payer: &Payer) -> Payment {
    let (description, metadata) = match session.mode {
        CheckoutMode::Subscription => (Some("Subscription creation".to_string()), Metadata::new()),
        CheckoutMode::Payment => (
            session.intent_description.clone(),
            session.intent_metadata.clone(),
        ),
    };
    Payment {
        intent: session.attempt_intent.clone(),
        payment_method: None,
        amount: session.amount_total,
        currency: session.currency.clone(),
        customer,
        description,
        metadata,
        payer: payer.clone(),
    }
}

/// Payment mode takes one-time prices only; subscription mode (in this fake) recurring
/// prices only, all billed at the same interval.
fn check_billing_terms(
    mode: CheckoutMode,
    items: &[NewLineItem],
    lines: &[PricedLine],
) -> Result<(), ApiError> {
    for (i, (item, line)) in items.iter().zip(lines).enumerate() {
        match (mode, line.recurring) {
            (CheckoutMode::Payment, Some(_)) => {
                return Err(ApiError::invalid(
                    item.price_param.clone(),
                    "parameter_invalid_string",
                    "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
                ));
            }
            (CheckoutMode::Subscription, None) => {
                return Err(ApiError::invalid(
                    item.price_param.clone(),
                    "parameter_invalid_string",
                    format!(
                        "line_items[{i}] has a one-time price: this fake supports only recurring prices in subscription mode (Stripe would add one-time prices to the first invoice)."
                    ),
                ));
            }
            _ => {}
        }
    }
    if lines
        .windows(2)
        .any(|pair| pair[0].recurring != pair[1].recurring)
    {
        return Err(ApiError::invalid(
            "line_items",
            "parameter_invalid_string",
            "Checkout does not support multiple prices with different billing intervals.",
        ));
    }
    Ok(())
}
