//! The fake's state and the business rules of the endpoints: all of it behind one mutex, never
//! held across an `.await`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use crate::billing::{Invoice, Recurring, Subscription};
use crate::config::CatalogItem;
use crate::error::ApiError;
use crate::form::Node;
use crate::util::{MAX_AMOUNT, format_money, ids, line_amount, now, total_amount};
use crate::webhook::{DeliveryAttempt, Job};
use crate::{Fault, FaultMode};

pub(crate) type Metadata = BTreeMap<String, String>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Customer {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub phone: Option<String>,
    pub metadata: Metadata,
    pub invoice_prefix: String,
    /// Negative: credit applied to the next invoices (Stripe's customer balance).
    pub balance: i64,
    pub next_invoice_sequence: u64,
    /// `invoice_settings.default_payment_method`, set in the billing portal, with its card.
    #[serde(default)]
    pub default_payment_method: Option<(String, CardInput)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Product {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub updated: i64,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub metadata: Metadata,
    pub default_price: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Price {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub product: String,
    pub currency: String,
    pub unit_amount: i64,
    pub active: bool,
    pub metadata: Metadata,
    pub nickname: Option<String>,
    pub lookup_key: Option<String>,
    /// `None` for a one-time price.
    pub recurring: Option<Recurring>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LineItem {
    pub id: String,
    pub price: String,
    pub description: String,
    pub quantity: i64,
    /// The price's `unit_amount × quantity`, checked against Stripe's cap when the session
    /// was made.
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SessionStatus {
    Open,
    Complete,
    Expired,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Complete => "complete",
            Self::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum CheckoutMode {
    Payment,
    Subscription,
}

impl CheckoutMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::Subscription => "subscription",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub mode: CheckoutMode,
    pub expires_at: i64,
    pub customer: Option<String>,
    pub customer_email: Option<String>,
    pub client_reference_id: Option<String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub metadata: Metadata,
    pub line_items: Vec<LineItem>,
    pub currency: String,
    pub amount_total: i64,
    pub status: SessionStatus,
    pub paid: bool,
    /// Set once paid (Stripe shows `payment_intent: null` until then in this flow).
    pub payment_intent: Option<String>,
    /// The PaymentIntent of earlier, declined attempts, reused by the next attempt.
    pub attempt_intent: Option<String>,
    pub intent_metadata: Metadata,
    pub intent_description: Option<String>,
    /// Email and name entered on the checkout page.
    pub details: Option<(Option<String>, Option<String>)>,
    /// `subscription_data[metadata]`, copied onto the subscription.
    pub subscription_metadata: Metadata,
    /// Set once a subscription-mode session is paid.
    pub subscription: Option<String>,
    pub invoice: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PaymentIntent {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub status: String,
    pub amount_received: i64,
    pub latest_charge: Option<String>,
    pub payment_method: Option<String>,
    pub last_payment_error: Option<Value>,
    pub client_secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Card {
    pub brand: String,
    pub funding: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Charge {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub payment_intent: String,
    pub payment_method: String,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub succeeded: bool,
    pub card: Card,
    pub billing_email: Option<String>,
    pub billing_name: Option<String>,
    /// code, decline code, message
    pub failure: Option<(String, Option<String>, String)>,
    pub amount_refunded: i64,
    pub refunds: Vec<String>,
    pub balance_transaction: Option<String>,
    /// The invoice this charge paid (a subscription's), as API versions up to 2025-03-31 show.
    pub invoice: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Refund {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    pub reason: Option<String>,
    pub metadata: Metadata,
    pub balance_transaction: String,
    /// The acquirer reference number, once "available" (`refund.updated`).
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PortalSession {
    pub id: String,
    pub created: i64,
    pub customer: String,
    pub return_url: Option<String>,
    pub configuration: String,
}

/// Where the delivery of an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// No webhook URL was configured when the event happened.
    NoEndpoint,
    /// Its type was withheld: recorded, listed, not delivered.
    Withheld,
    /// Queued, being sent, or waiting for a retry.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EventRecord {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub kind: String,
    /// The event without `pending_webhooks`, which is filled in when shown.
    pub body: Value,
    pub delivery: DeliveryState,
}

/// Who caused an event (`request` in the event).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestInfo {
    pub id: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdempotencyEntry {
    pub method: String,
    pub path: String,
    pub canonical: Vec<(String, String)>,
    /// `None` while the first request runs.
    pub stored: Option<StoredResponse>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredResponse {
    pub status: u16,
    #[serde(with = "crate::persist::text_bytes")]
    pub body: Vec<u8>,
    pub request_id: String,
}

/// A card's behaviour, from Stripe's list of test cards.
pub(crate) enum CardBehaviour {
    Succeeds {
        brand: &'static str,
        funding: &'static str,
    },
    Declined {
        code: &'static str,
        decline_code: Option<&'static str>,
        message: &'static str,
    },
}

impl CardBehaviour {
    pub fn succeeds(&self) -> bool {
        matches!(self, Self::Succeeds { .. })
    }
}

/// Stripe's test card that can be saved to a customer but declines every charge.
pub(crate) const CARD_ATTACHES_THEN_DECLINES: &str = "4000000000000341";

/// Whether a card can be saved as a customer's payment method: one that pays, or the one that
/// attaches and then declines.
pub(crate) fn card_attaches(number: &str) -> bool {
    number == CARD_ATTACHES_THEN_DECLINES || card_behaviour(number).is_some_and(|b| b.succeeds())
}

/// Stripe's test cards that the fake knows.
pub(crate) fn card_behaviour(number: &str) -> Option<CardBehaviour> {
    use CardBehaviour::{Declined, Succeeds};
    let declined = |decline_code, message| Declined {
        code: "card_declined",
        decline_code: Some(decline_code),
        message,
    };
    Some(match number {
        "4242424242424242" => Succeeds {
            brand: "visa",
            funding: "credit",
        },
        "4000056655665556" => Succeeds {
            brand: "visa",
            funding: "debit",
        },
        "5555555555554444" => Succeeds {
            brand: "mastercard",
            funding: "credit",
        },
        "378282246310005" => Succeeds {
            brand: "amex",
            funding: "credit",
        },
        "4000000000000002" => declined("generic_decline", "Your card was declined."),
        // Saved to a customer fine (the billing portal), declined whenever it is charged.
        CARD_ATTACHES_THEN_DECLINES => declined("generic_decline", "Your card was declined."),
        "4000000000009995" => declined("insufficient_funds", "Your card has insufficient funds."),
        "4000000000009987" => declined("lost_card", "Your card was declined."),
        "4000000000009979" => declined("stolen_card", "Your card was declined."),
        "4000000000000069" => Declined {
            code: "expired_card",
            decline_code: None,
            message: "Your card has expired.",
        },
        "4000000000000127" => Declined {
            code: "incorrect_cvc",
            decline_code: None,
            message: "Your card's security code is incorrect.",
        },
        "4000000000000119" => Declined {
            code: "processing_error",
            decline_code: None,
            message: "An error occurred while processing your card. Try again in a little bit.",
        },
        _ => return None,
    })
}

/// What the payer typed on the checkout page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CardInput {
    pub number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl CardInput {
    pub fn test(number: &str) -> Self {
        Self {
            number: number.to_string(),
            exp_month: 12,
            exp_year: 2034,
            email: None,
            name: None,
        }
    }
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
    /// The card's billing details.
    pub email: Option<String>,
    pub name: Option<String>,
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

/// The fake's whole state.
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) seq: u64,
    pub public_url: String,
    pub api_version: String,
    pub session_ttl: i64,
    pub webhook_url: Option<String>,
    pub withheld: Vec<String>,
    pub fault: Option<Fault>,
    pub customers: HashMap<String, Customer>,
    pub products: HashMap<String, Product>,
    pub prices: HashMap<String, Price>,
    pub sessions: HashMap<String, Session>,
    pub payment_intents: HashMap<String, PaymentIntent>,
    pub charges: HashMap<String, Charge>,
    pub refunds: HashMap<String, Refund>,
    pub portal_sessions: HashMap<String, PortalSession>,
    pub subscriptions: HashMap<String, Subscription>,
    pub invoices: HashMap<String, Invoice>,
    pub events: Vec<EventRecord>,
    pub(crate) event_index: HashMap<String, usize>,
    pub deliveries: Vec<DeliveryAttempt>,
    pub idempotency: HashMap<String, IdempotencyEntry>,
    delivery_tx: UnboundedSender<Job>,
}

impl Store {
    pub fn new(
        public_url: String,
        api_version: String,
        session_ttl: i64,
        webhook_url: Option<String>,
        delivery_tx: UnboundedSender<Job>,
    ) -> Self {
        Self {
            seq: 0,
            public_url,
            api_version,
            session_ttl,
            webhook_url,
            withheld: Vec::new(),
            fault: None,
            customers: HashMap::new(),
            products: HashMap::new(),
            prices: HashMap::new(),
            sessions: HashMap::new(),
            payment_intents: HashMap::new(),
            charges: HashMap::new(),
            refunds: HashMap::new(),
            portal_sessions: HashMap::new(),
            subscriptions: HashMap::new(),
            invoices: HashMap::new(),
            events: Vec::new(),
            event_index: HashMap::new(),
            deliveries: Vec::new(),
            idempotency: HashMap::new(),
            delivery_tx,
        }
    }

    /// Forgets everything but the configuration, then seeds the catalog again.
    pub fn reset(&mut self, catalog: &[CatalogItem]) {
        let fresh = Self::new(
            self.public_url.clone(),
            self.api_version.clone(),
            self.session_ttl,
            self.webhook_url.clone(),
            self.delivery_tx.clone(),
        );
        *self = fresh;
        self.seed(catalog);
    }

    /// Takes the state kept in a file, and queues again the deliveries it had not finished.
    pub(crate) fn restore(&mut self, snapshot: crate::persist::Snapshot) {
        self.seq = snapshot.seq;
        self.customers = snapshot.customers;
        self.products = snapshot.products;
        self.prices = snapshot.prices;
        self.sessions = snapshot.sessions;
        self.payment_intents = snapshot.payment_intents;
        self.charges = snapshot.charges;
        self.refunds = snapshot.refunds;
        self.portal_sessions = snapshot.portal_sessions;
        self.subscriptions = snapshot.subscriptions;
        self.invoices = snapshot.invoices;
        self.events = snapshot.events;
        self.event_index = self
            .events
            .iter()
            .enumerate()
            .map(|(at, event)| (event.id.clone(), at))
            .collect();
        self.idempotency = snapshot.idempotency;
        if self.webhook_url.is_some() {
            for event in self
                .events
                .iter()
                .filter(|e| e.delivery == DeliveryState::Pending)
            {
                let _ = self
                    .delivery_tx
                    .send(Job::new(event.id.clone(), false, None));
            }
        }
    }

    /// Seeds the catalog items with fixed price ids that a restored state does not have yet
    /// (an item added to the configuration since); the others were seeded the first time.
    pub(crate) fn seed_missing(&mut self, catalog: &[CatalogItem]) {
        let missing: Vec<CatalogItem> = catalog
            .iter()
            .filter(|item| {
                item.price_id
                    .as_ref()
                    .is_some_and(|id| !self.prices.contains_key(id))
            })
            .cloned()
            .collect();
        self.seed(&missing);
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn seed(&mut self, catalog: &[CatalogItem]) {
        for item in catalog {
            let created = now();
            let product_id = item.product_id.clone().unwrap_or_else(ids::product);
            let price_id = item.price_id.clone().unwrap_or_else(ids::price);
            let seq = self.next_seq();
            self.products.insert(
                product_id.clone(),
                Product {
                    seq,
                    id: product_id.clone(),
                    created,
                    updated: created,
                    name: item.name.clone(),
                    description: item.description.clone(),
                    active: true,
                    metadata: item.metadata.clone(),
                    default_price: Some(price_id.clone()),
                },
            );
            let seq = self.next_seq();
            self.prices.insert(
                price_id.clone(),
                Price {
                    seq,
                    id: price_id,
                    created,
                    product: product_id,
                    currency: item.currency.to_lowercase(),
                    unit_amount: item.unit_amount,
                    active: true,
                    metadata: item.metadata.clone(),
                    nickname: None,
                    lookup_key: item.lookup_key.clone(),
                    recurring: item.recurring.as_deref().and_then(Recurring::every),
                },
            );
        }
    }

    // ----- events -------------------------------------------------------------------------

    /// Records an event about `object` and queues its delivery (unless withheld or no endpoint).
    pub fn record_event(
        &mut self,
        kind: &str,
        object: Value,
        previous_attributes: Option<Value>,
        request: &RequestInfo,
    ) -> String {
        let id = ids::event();
        let created = now();
        let mut data = json!({ "object": object });
        if let Some(previous) = previous_attributes {
            data["previous_attributes"] = previous;
        }
        let body = json!({
            "id": id,
            "object": "event",
            "api_version": self.api_version,
            "created": created,
            "data": data,
            "livemode": false,
            "request": { "id": request.id, "idempotency_key": request.idempotency_key },
            "type": kind,
        });
        let delivery = if self.is_withheld(kind) {
            DeliveryState::Withheld
        } else if self.webhook_url.is_none() {
            DeliveryState::NoEndpoint
        } else {
            DeliveryState::Pending
        };
        let seq = self.next_seq();
        self.event_index.insert(id.clone(), self.events.len());
        self.events.push(EventRecord {
            seq,
            id: id.clone(),
            created,
            kind: kind.to_string(),
            body,
            delivery,
        });
        tracing::info!(event = %id, kind, delivery = ?delivery, "event recorded");
        if delivery == DeliveryState::Pending {
            let _ = self.delivery_tx.send(Job::new(id.clone(), false, None));
        }
        id
    }

    pub fn is_withheld(&self, kind: &str) -> bool {
        self.withheld
            .iter()
            .any(|pattern| type_matches(pattern, kind))
    }

    pub fn event(&self, id: &str) -> Option<&EventRecord> {
        self.event_index.get(id).and_then(|&i| self.events.get(i))
    }

    pub fn event_mut(&mut self, id: &str) -> Option<&mut EventRecord> {
        match self.event_index.get(id) {
            Some(&i) => self.events.get_mut(i),
            None => None,
        }
    }

    /// Queues a delivery of an existing event, whatever its type (an explicit redelivery).
    pub fn queue_delivery(
        &mut self,
        id: &str,
        done: Option<tokio::sync::oneshot::Sender<DeliveryAttempt>>,
    ) -> bool {
        let Some(event) = self.event_mut(id) else {
            return false;
        };
        if event.delivery != DeliveryState::Delivered {
            event.delivery = DeliveryState::Pending;
        }
        let _ = self.delivery_tx.send(Job::new(id.to_string(), true, done));
        true
    }

    /// Takes one call's worth of the injected fault, when it applies to `path`.
    pub fn take_fault(&mut self, path: &str) -> Option<Fault> {
        let fault = self.fault.as_mut()?;
        if let Some(prefix) = &fault.path_prefix
            && !path.starts_with(prefix.as_str())
        {
            return None;
        }
        if fault.count == 0 {
            self.fault = None;
            return None;
        }
        fault.count -= 1;
        let taken = fault.clone();
        if fault.count == 0 {
            self.fault = None;
        }
        Some(taken)
    }

    // ----- customers ----------------------------------------------------------------------

    /// A new customer, not yet stored.
    pub(crate) fn new_customer(&mut self, email: Option<String>, name: Option<String>) -> Customer {
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
            invoice_prefix: crate::util::random_chars(8).to_uppercase(),
            balance: 0,
            next_invoice_sequence: 1,
            default_payment_method: None,
        }
    }

    pub fn create_customer(&mut self, p: &Node<'_>) -> Result<Value, ApiError> {
        let email = p.str("email")?.map(str::to_string);
        let name = p.str("name")?.map(str::to_string);
        let description = p.str("description")?.map(str::to_string);
        let phone = p.str("phone")?.map(str::to_string);
        let metadata = p.metadata("metadata")?;
        let mut customer = self.new_customer(email, name);
        customer.description = description;
        customer.phone = phone;
        customer.metadata = metadata;
        let json = self.customer_json(&customer);
        self.customers.insert(customer.id.clone(), customer);
        Ok(json)
    }

    pub fn update_customer(
        &mut self,
        id: &str,
        p: &Node<'_>,
        request: &RequestInfo,
    ) -> Result<Value, ApiError> {
        let Some(customer) = self.customers.get(id) else {
            return Err(ApiError::not_found("customer", id));
        };
        let before = customer.clone();
        let mut after = before.clone();
        for (field, slot) in [
            ("email", &mut after.email),
            ("name", &mut after.name),
            ("description", &mut after.description),
            ("phone", &mut after.phone),
        ] {
            if p.has(field) {
                *slot = p.str(field)?.map(str::to_string);
            }
        }
        merge_metadata(&mut after.metadata, p)?;
        let json = self.customer_json(&after);
        let before_json = self.customer_json(&before);
        self.customers.insert(id.to_string(), after);
        let previous = previous_attributes(&before_json, &json);
        if previous.as_object().is_some_and(|m| !m.is_empty()) {
            self.record_event("customer.updated", json.clone(), Some(previous), request);
        }
        Ok(json)
    }

    // ----- products and prices ------------------------------------------------------------

    pub fn create_product(&mut self, p: &Node<'_>) -> Result<Value, ApiError> {
        let name = p.required_str("name")?.to_string();
        let created = now();
        let seq = self.next_seq();
        let mut product = Product {
            seq,
            id: match p.str("id")? {
                Some(id) if self.products.contains_key(id) => {
                    return Err(ApiError::business(
                        "resource_already_exists",
                        Some("id"),
                        format!("Product already exists: '{id}'"),
                    ));
                }
                Some(id) => id.to_string(),
                None => ids::product(),
            },
            created,
            updated: created,
            name,
            description: p.str("description")?.map(str::to_string),
            active: p.bool("active")?.unwrap_or(true),
            metadata: p.metadata("metadata")?,
            default_price: None,
        };
        if let Some(data) = p.node("default_price_data")? {
            let terms = price_terms(&data)?;
            let seq = self.next_seq();
            let price = Price {
                seq,
                id: ids::price(),
                created,
                product: product.id.clone(),
                currency: terms.currency,
                unit_amount: terms.unit_amount,
                active: true,
                metadata: Metadata::new(),
                nickname: None,
                lookup_key: None,
                recurring: terms.recurring,
            };
            product.default_price = Some(price.id.clone());
            self.prices.insert(price.id.clone(), price);
        }
        let json = self.product_json(&product);
        self.products.insert(product.id.clone(), product);
        Ok(json)
    }

    pub fn create_price(&mut self, p: &Node<'_>) -> Result<Value, ApiError> {
        let terms = price_terms(p)?;
        let created = now();
        let product = match (p.str("product")?, p.node("product_data")?) {
            (Some(id), _) => {
                if !self.products.contains_key(id) {
                    return Err(ApiError::no_such("product", "product", id));
                }
                id.to_string()
            }
            (None, Some(data)) => {
                let seq = self.next_seq();
                let product = Product {
                    seq,
                    id: ids::product(),
                    created,
                    updated: created,
                    name: data.required_str("name")?.to_string(),
                    description: None,
                    active: data.bool("active")?.unwrap_or(true),
                    metadata: data.metadata("metadata")?,
                    default_price: None,
                };
                let id = product.id.clone();
                self.products.insert(id.clone(), product);
                id
            }
            (None, None) => return Err(ApiError::missing("product")),
        };
        let lookup_key = p.str("lookup_key")?.map(str::to_string);
        if let Some(key) = &lookup_key {
            let taken = self
                .prices
                .values()
                .any(|pr| pr.lookup_key.as_deref() == Some(key));
            if taken && p.bool("transfer_lookup_key")? != Some(true) {
                return Err(ApiError::business(
                    "lookup_key_already_exists",
                    Some("lookup_key"),
                    format!("A price (`lookup_key`: {key}) already uses that lookup key."),
                ));
            }
            for other in self.prices.values_mut() {
                if other.lookup_key.as_deref() == Some(key) {
                    other.lookup_key = None;
                }
            }
        }
        let seq = self.next_seq();
        let price = Price {
            seq,
            id: ids::price(),
            created,
            product,
            currency: terms.currency,
            unit_amount: terms.unit_amount,
            active: p.bool("active")?.unwrap_or(true),
            metadata: p.metadata("metadata")?,
            nickname: p.str("nickname")?.map(str::to_string),
            lookup_key,
            recurring: terms.recurring,
        };
        let json = self.price_json(&price);
        self.prices.insert(price.id.clone(), price);
        Ok(json)
    }

    // ----- checkout sessions --------------------------------------------------------------

    pub fn create_session(&mut self, p: &Node<'_>) -> Result<Value, ApiError> {
        let mode = match p.str("mode")? {
            None => return Err(ApiError::missing("mode")),
            Some("payment") => CheckoutMode::Payment,
            Some("subscription") => CheckoutMode::Subscription,
            Some("setup") => {
                return Err(ApiError::invalid(
                    "mode",
                    "parameter_invalid_string",
                    "This fake supports only `mode=payment` and `mode=subscription`, not `setup`.",
                ));
            }
            Some(other) => {
                return Err(ApiError::invalid(
                    "mode",
                    "parameter_invalid_string",
                    format!(
                        "Invalid mode: must be one of payment, setup, or subscription (got `{other}`)."
                    ),
                ));
            }
        };
        if let Some(ui_mode) = p.str("ui_mode")?
            && ui_mode != "hosted"
        {
            return Err(ApiError::invalid(
                "ui_mode",
                "parameter_invalid_string",
                "This fake supports only the hosted checkout page (`ui_mode=hosted`).",
            ));
        }
        let customer = match p.str("customer")? {
            Some(id) if !self.customers.contains_key(id) => {
                return Err(ApiError::no_such("customer", "customer", id));
            }
            other => other.map(str::to_string),
        };
        let customer_email = p.str("customer_email")?.map(str::to_string);
        if customer.is_some() && customer_email.is_some() {
            return Err(ApiError::invalid(
                "customer_email",
                "parameter_invalid_string",
                "You may only specify one of these parameters: customer, customer_email.",
            ));
        }
        let subscribing = mode == CheckoutMode::Subscription;
        if subscribing && customer.is_none() && customer_email.is_none() {
            return Err(ApiError::invalid(
                "customer_email",
                "parameter_missing",
                "In `subscription` mode this fake needs `customer` or `customer_email` (it does not \
                 collect the email on the checkout page).",
            ));
        }
        // Each mode's own data hash is refused in the other mode.
        for (param, only_in) in [
            ("payment_intent_data", CheckoutMode::Payment),
            ("subscription_data", CheckoutMode::Subscription),
        ] {
            if p.has(param) && mode != only_in {
                return Err(ApiError::invalid(
                    param,
                    "parameter_invalid_string",
                    format!(
                        "You can only pass `{param}` in `{}` mode (this session is in `{}` mode).",
                        only_in.as_str(),
                        mode.as_str()
                    ),
                ));
            }
        }
        for url_param in ["success_url", "cancel_url"] {
            if let Some(url) = p.str(url_param)?
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(ApiError::invalid(
                    url_param,
                    "url_invalid",
                    format!("Not a valid URL: {url}"),
                ));
            }
        }
        let items = p.nodes("line_items")?;
        if items.is_empty() {
            return Err(ApiError::missing("line_items"));
        }
        let mut line_items = Vec::new();
        for item in &items {
            line_items.push(self.line_item(item)?);
        }
        self.check_billing_terms(mode, &items, &line_items)?;
        let currency = line_items[0].currency.clone();
        if line_items.iter().any(|li| li.currency != currency) {
            return Err(ApiError::invalid(
                "line_items",
                "parameter_invalid_string",
                "All line items must use the same currency.",
            ));
        }
        let amount_total = total_amount(line_items.iter().map(|li| li.amount))
            .ok_or_else(|| ApiError::amount_too_large("line_items", &currency))?;
        if amount_total < 50 {
            return Err(ApiError::invalid(
                "line_items",
                "amount_too_small",
                format!(
                    "The Checkout Session's total amount due must add up to at least {} {currency}",
                    format_money(50, &currency)
                ),
            ));
        }
        let created = now();
        let expires_at = match p.int("expires_at")? {
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
        let (intent_metadata, intent_description) = match p.node("payment_intent_data")? {
            Some(data) => (
                data.metadata("metadata")?,
                data.str("description")?.map(str::to_string),
            ),
            None => (Metadata::new(), None),
        };
        let subscription_metadata = match p.node("subscription_data")? {
            Some(data) => data.metadata("metadata")?,
            None => Metadata::new(),
        };
        let seq = self.next_seq();
        let session = Session {
            seq,
            id: ids::checkout_session(),
            created,
            mode,
            expires_at,
            customer,
            customer_email,
            client_reference_id: p.str("client_reference_id")?.map(str::to_string),
            success_url: p.str("success_url")?.map(str::to_string),
            cancel_url: p.str("cancel_url")?.map(str::to_string),
            metadata: p.metadata("metadata")?,
            line_items,
            currency,
            amount_total,
            status: SessionStatus::Open,
            paid: false,
            payment_intent: None,
            attempt_intent: None,
            intent_metadata,
            intent_description,
            details: None,
            subscription_metadata,
            subscription: None,
            invoice: None,
        };
        let json = self.session_json(&session);
        self.sessions.insert(session.id.clone(), session);
        Ok(json)
    }

    /// Payment mode takes one-time prices only; subscription mode (in this fake) recurring
    /// prices only, all billed at the same interval.
    fn check_billing_terms(
        &self,
        mode: CheckoutMode,
        params: &[Node<'_>],
        items: &[LineItem],
    ) -> Result<(), ApiError> {
        let terms = self.billing_terms(items);
        for (i, (recurring, param)) in terms.iter().zip(params).enumerate() {
            let price_param = if param.has("price") {
                param.param("price")
            } else {
                param.param("price_data")
            };
            match (mode, recurring) {
                (CheckoutMode::Payment, Some(_)) => {
                    return Err(ApiError::invalid(
                        price_param,
                        "parameter_invalid_string",
                        "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
                    ));
                }
                (CheckoutMode::Subscription, None) => {
                    return Err(ApiError::invalid(
                        price_param,
                        "parameter_invalid_string",
                        format!(
                            "line_items[{i}] has a one-time price: this fake supports only recurring prices in subscription mode (Stripe would add one-time prices to the first invoice)."
                        ),
                    ));
                }
                _ => {}
            }
        }
        if terms.windows(2).any(|pair| pair[0] != pair[1]) {
            return Err(ApiError::invalid(
                "line_items",
                "parameter_invalid_string",
                "Checkout does not support multiple prices with different billing intervals.",
            ));
        }
        Ok(())
    }

    fn line_item(&mut self, item: &Node<'_>) -> Result<LineItem, ApiError> {
        let quantity = item
            .quantity("quantity")?
            .ok_or_else(|| ApiError::missing(item.param("quantity")))?;
        let (price, unit_amount, currency) = match (item.str("price")?, item.node("price_data")?) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    item.param("price_data"),
                    "parameter_invalid_string",
                    "You may only specify one of these parameters: price, price_data.",
                ));
            }
            (Some(id), None) => {
                let Some(price) = self.prices.get(id) else {
                    return Err(ApiError::no_such("price", &item.param("price"), id));
                };
                if !price.active {
                    return Err(ApiError::invalid(
                        item.param("price"),
                        "price_inactive",
                        format!(
                            "The price specified ({id}) is inactive. This field only accepts active prices."
                        ),
                    ));
                }
                (price.id.clone(), price.unit_amount, price.currency.clone())
            }
            (None, Some(data)) => {
                let PriceTerms {
                    currency,
                    unit_amount,
                    recurring,
                } = price_terms(&data)?;
                let created = now();
                let product_id = match (data.str("product")?, data.node("product_data")?) {
                    (Some(id), _) => {
                        if !self.products.contains_key(id) {
                            return Err(ApiError::no_such("product", &data.param("product"), id));
                        }
                        id.to_string()
                    }
                    (None, Some(product_data)) => {
                        let seq = self.next_seq();
                        let product = Product {
                            seq,
                            id: ids::product(),
                            created,
                            updated: created,
                            name: product_data.required_str("name")?.to_string(),
                            description: product_data.str("description")?.map(str::to_string),
                            // Ad-hoc products made by price_data are hidden from active listings.
                            active: false,
                            metadata: product_data.metadata("metadata")?,
                            default_price: None,
                        };
                        let id = product.id.clone();
                        self.products.insert(id.clone(), product);
                        id
                    }
                    (None, None) => return Err(ApiError::missing(data.param("product_data"))),
                };
                let seq = self.next_seq();
                let price = Price {
                    seq,
                    id: ids::price(),
                    created,
                    product: product_id,
                    currency: currency.clone(),
                    unit_amount,
                    active: false,
                    metadata: Metadata::new(),
                    nickname: None,
                    lookup_key: None,
                    recurring,
                };
                let price_id = price.id.clone();
                self.prices.insert(price_id.clone(), price);
                (price_id, unit_amount, currency)
            }
            (None, None) => return Err(ApiError::missing(item.param("price"))),
        };
        let amount = line_amount(unit_amount, quantity)
            .ok_or_else(|| ApiError::amount_too_large(item.param("quantity"), &currency))?;
        let (_, description) = self.price_and_product(&price);
        Ok(LineItem {
            id: ids::line_item(),
            price,
            description,
            quantity,
            amount,
            currency,
        })
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
    /// A subscription-mode session, once paid, starts its subscription (see
    /// [`Store::start_subscription`]).
    pub fn pay_session(&mut self, id: &str, card: &CardInput) -> Result<PayOutcome, PayRefusal> {
        self.refresh_session(id);
        let Some(session) = self.sessions.get(id) else {
            return Err(PayRefusal::NotFound);
        };
        match session.status {
            SessionStatus::Expired => return Err(PayRefusal::Expired),
            SessionStatus::Complete => return Err(PayRefusal::AlreadyPaid),
            SessionStatus::Open => {}
        }
        let behaviour = card_behaviour(&card.number).ok_or(PayRefusal::UnknownCard)?;
        let session = session.clone();
        let request = RequestInfo::default();
        let known = session
            .customer
            .as_ref()
            .and_then(|c| self.customers.get(c));
        let email = card
            .email
            .clone()
            .or_else(|| session.customer_email.clone())
            .or_else(|| known.and_then(|c| c.email.clone()));
        let name = card
            .name
            .clone()
            .or_else(|| known.and_then(|c| c.name.clone()));
        let subscribing = session.mode == CheckoutMode::Subscription;

        // A subscription needs a customer: made from the email once the card is known to pay.
        let customer = match &session.customer {
            Some(id) => Some(id.clone()),
            None if subscribing && behaviour.succeeds() => {
                let customer = self.new_customer(email.clone(), name.clone());
                let id = customer.id.clone();
                let json = self.customer_json(&customer);
                self.customers.insert(id.clone(), customer);
                self.record_event("customer.created", json, None, &request);
                Some(id)
            }
            None => None,
        };
        let (description, metadata) = if subscribing {
            (Some("Subscription creation".to_string()), Metadata::new())
        } else {
            (
                session.intent_description.clone(),
                session.intent_metadata.clone(),
            )
        };
        let payment = Payment {
            intent: session.attempt_intent.clone(),
            payment_method: None,
            amount: session.amount_total,
            currency: session.currency.clone(),
            customer: customer.clone(),
            description,
            metadata,
            email: email.clone(),
            name: name.clone(),
        };
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
        let started = match (&customer, subscribing) {
            (Some(customer), true) => {
                Some(self.start_subscription(&session, customer, card, &charged, &request))
            }
            _ => None,
        };
        let session = self.sessions.get_mut(id).map(|s| {
            s.status = SessionStatus::Complete;
            s.paid = true;
            // Stripe leaves a subscription session's payment_intent null: it is the invoice's.
            s.payment_intent = (!subscribing).then(|| charged.intent.clone());
            s.customer = customer;
            s.subscription = started.as_ref().map(|(sub, _)| sub.clone());
            s.invoice = started.map(|(_, invoice)| invoice);
            s.details = Some((email, name));
            s.clone()
        });
        let session_json = session
            .map(|s| self.session_json(&s))
            .unwrap_or(Value::Null);
        self.record_event(
            "checkout.session.completed",
            session_json.clone(),
            None,
            &request,
        );
        Ok(PayOutcome::Paid {
            session: session_json,
        })
    }

    /// Charges a card: a PaymentIntent (new, with `payment_intent.created`, or the one of an
    /// earlier declined attempt) and a Charge, then `charge.succeeded` and
    /// `payment_intent.succeeded`, or `charge.failed` and `payment_intent.payment_failed`.
    /// Checkout sessions and subscription invoices both pay through here.
    pub(crate) fn charge_card(
        &mut self,
        payment: Payment,
        card: &CardInput,
        behaviour: &CardBehaviour,
        request: &RequestInfo,
    ) -> Charged {
        let created = now();
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
        let intent_id = match reused {
            Some(id) => id,
            None => {
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
                    client_secret: format!("{id}_secret_{}", crate::util::random_chars(25)),
                };
                let json = self.payment_intent_json(&intent);
                self.payment_intents.insert(id.clone(), intent);
                self.record_event("payment_intent.created", json, None, request);
                id
            }
        };

        let last4 = card.number[card.number.len().saturating_sub(4)..].to_string();
        let payment_method = payment.payment_method.unwrap_or_else(ids::payment_method);
        let (brand, funding, failure) = match behaviour {
            CardBehaviour::Succeeds { brand, funding } => (*brand, *funding, None),
            CardBehaviour::Declined {
                code,
                decline_code,
                message,
            } => (
                "visa",
                "credit",
                Some((
                    (*code).to_string(),
                    decline_code.map(str::to_string),
                    (*message).to_string(),
                )),
            ),
        };
        let charge_id = ids::charge();
        let seq = self.next_seq();
        let charge = Charge {
            seq,
            id: charge_id.clone(),
            created,
            amount: payment.amount,
            currency: payment.currency,
            customer: payment.customer,
            payment_intent: intent_id.clone(),
            payment_method: payment_method.clone(),
            description: payment.description,
            metadata: payment.metadata,
            succeeded: failure.is_none(),
            card: Card {
                brand: brand.to_string(),
                funding: funding.to_string(),
                last4,
                exp_month: card.exp_month,
                exp_year: card.exp_year,
            },
            billing_email: payment.email,
            billing_name: payment.name,
            failure: failure.clone(),
            amount_refunded: 0,
            refunds: Vec::new(),
            balance_transaction: failure.is_none().then(ids::balance_transaction),
            invoice: None,
        };
        let charge_json = self.charge_json(&charge);
        self.charges.insert(charge_id.clone(), charge);

        let declined = failure.as_ref().map(|f| f.2.clone());
        let intent = self.payment_intents.get_mut(&intent_id).map(|intent| {
            intent.latest_charge = Some(charge_id.clone());
            match &failure {
                Some((code, decline_code, message)) => {
                    intent.status = "requires_payment_method".into();
                    intent.last_payment_error = Some(json!({
                        "type": "card_error",
                        "code": code,
                        "decline_code": decline_code,
                        "message": message,
                        "charge": charge_id,
                        "param": null,
                        "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
                        "payment_method": { "id": payment_method, "object": "payment_method", "type": "card" },
                    }));
                }
                None => {
                    intent.status = "succeeded".into();
                    intent.amount_received = intent.amount;
                    intent.payment_method = Some(payment_method.clone());
                    intent.last_payment_error = None;
                }
            }
            intent.clone()
        });
        let intent_json = intent
            .map(|i| self.payment_intent_json(&i))
            .unwrap_or(Value::Null);
        let (charge_event, intent_event) = if declined.is_some() {
            ("charge.failed", "payment_intent.payment_failed")
        } else {
            ("charge.succeeded", "payment_intent.succeeded")
        };
        self.record_event(charge_event, charge_json, None, request);
        self.record_event(intent_event, intent_json.clone(), None, request);
        Charged {
            intent: intent_id,
            charge: charge_id,
            payment_method,
            intent_json,
            declined,
        }
    }

    // ----- refunds ------------------------------------------------------------------------

    pub fn create_refund(
        &mut self,
        p: &Node<'_>,
        request: &RequestInfo,
    ) -> Result<Value, ApiError> {
        let charge_id = match (p.str("payment_intent")?, p.str("charge")?) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "You can only specify one of these parameters: payment_intent, charge.",
                ));
            }
            (Some(pi), None) => {
                let Some(intent) = self.payment_intents.get(pi) else {
                    return Err(ApiError::no_such("payment_intent", "payment_intent", pi));
                };
                match (&intent.latest_charge, intent.status.as_str()) {
                    (Some(charge), "succeeded") => charge.clone(),
                    _ => {
                        return Err(ApiError::invalid(
                            "payment_intent",
                            "payment_intent_unexpected_state",
                            format!(
                                "This PaymentIntent ({pi}) does not have a successful charge to refund."
                            ),
                        ));
                    }
                }
            }
            (None, Some(ch)) => {
                if !self.charges.contains_key(ch) {
                    return Err(ApiError::no_such("charge", "charge", ch));
                }
                ch.to_string()
            }
            (None, None) => {
                return Err(ApiError::invalid(
                    "payment_intent",
                    "parameter_missing",
                    "One of the following params should be provided for this request: payment_intent or charge.",
                ));
            }
        };
        let amount = p.int("amount")?;
        if amount.is_some_and(|a| a < 1) {
            return Err(ApiError::invalid(
                "amount",
                "parameter_invalid_integer",
                "Invalid positive integer: amount must be at least 1.",
            ));
        }
        let reason = p.str("reason")?.map(str::to_string);
        if let Some(r) = &reason
            && !["duplicate", "fraudulent", "requested_by_customer"].contains(&r.as_str())
        {
            return Err(ApiError::invalid(
                "reason",
                "parameter_invalid_string",
                "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            ));
        }
        let metadata = p.metadata("metadata")?;
        let Some(charge) = self.charges.get(&charge_id).cloned() else {
            return Err(ApiError::no_such("charge", "charge", &charge_id));
        };
        if !charge.succeeded {
            return Err(ApiError::business(
                "charge_not_refundable",
                Some("charge"),
                format!("Charge {charge_id} has not succeeded and cannot be refunded."),
            ));
        }
        let remaining = charge.amount - charge.amount_refunded;
        if remaining <= 0 {
            return Err(ApiError::business(
                "charge_already_refunded",
                None,
                format!("Charge {charge_id} has already been refunded."),
            ));
        }
        let amount = amount.unwrap_or(remaining);
        if amount > remaining {
            return Err(ApiError::business(
                "amount_too_large",
                Some("amount"),
                format!(
                    "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                    format_money(amount, &charge.currency),
                    format_money(remaining, &charge.currency)
                ),
            ));
        }
        let charge_before = self.charge_json(&charge);
        let seq = self.next_seq();
        let refund = Refund {
            seq,
            id: ids::refund(),
            created: now(),
            amount,
            currency: charge.currency.clone(),
            charge: charge_id.clone(),
            payment_intent: charge.payment_intent.clone(),
            reason,
            metadata,
            balance_transaction: ids::balance_transaction(),
            reference: None,
        };
        let refund_id = refund.id.clone();
        self.refunds.insert(refund_id.clone(), refund.clone());
        let charge = self.charges.get_mut(&charge_id).map(|c| {
            c.amount_refunded += amount;
            c.refunds.push(refund_id.clone());
            c.clone()
        });
        let refund_json = self.refund_json(&refund);
        self.record_event("refund.created", refund_json.clone(), None, request);
        if let Some(charge) = charge {
            let charge_json = self.charge_json(&charge);
            let previous = json!({
                "amount_refunded": charge_before["amount_refunded"],
                "refunded": charge_before["refunded"],
                "refunds": charge_before["refunds"],
            });
            self.record_event("charge.refunded", charge_json, Some(previous), request);
        }
        // The card network's reference becomes available: Stripe sends refund.updated.
        let before = refund_json.clone();
        let updated = self.refunds.get_mut(&refund_id).map(|r| {
            r.reference = Some(crate::util::random_chars(23).to_uppercase());
            r.clone()
        });
        if let Some(updated) = updated {
            let after = self.refund_json(&updated);
            let previous = previous_attributes(&before, &after);
            self.record_event("refund.updated", after, Some(previous), request);
        }
        Ok(refund_json)
    }

    // ----- billing portal -----------------------------------------------------------------

    pub fn create_portal_session(&mut self, p: &Node<'_>) -> Result<Value, ApiError> {
        let customer = p.required_str("customer")?;
        if !self.customers.contains_key(customer) {
            return Err(ApiError::no_such("customer", "customer", customer));
        }
        let session = PortalSession {
            id: ids::portal_session(),
            created: now(),
            customer: customer.to_string(),
            return_url: p.str("return_url")?.map(str::to_string),
            configuration: ids::portal_configuration(),
        };
        let json = self.portal_session_json(&session);
        self.portal_sessions.insert(session.id.clone(), session);
        Ok(json)
    }
}

/// What a price charges: from `price_data`, `default_price_data` or a new price's parameters.
pub(crate) struct PriceTerms {
    pub currency: String,
    pub unit_amount: i64,
    pub recurring: Option<Recurring>,
}

/// `currency`, `unit_amount` and `recurring` of `price_data`, `default_price_data` or a price.
fn price_terms(p: &Node<'_>) -> Result<PriceTerms, ApiError> {
    let currency = p.required_str("currency")?.to_lowercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(ApiError::invalid(
            p.param("currency"),
            "parameter_invalid_string",
            format!("Invalid currency: {currency}. Use a three-letter ISO code in lowercase."),
        ));
    }
    let unit_amount = match (p.int("unit_amount")?, p.str("unit_amount_decimal")?) {
        (Some(amount), _) => amount,
        (None, Some(decimal)) => decimal.parse::<i64>().map_err(|_| {
            ApiError::invalid(
                p.param("unit_amount_decimal"),
                "parameter_invalid_string",
                "This fake accepts only whole minor units in unit_amount_decimal.",
            )
        })?,
        (None, None) => return Err(ApiError::missing(p.param("unit_amount"))),
    };
    if unit_amount < 0 {
        return Err(ApiError::invalid(
            p.param("unit_amount"),
            "parameter_invalid_integer",
            "Invalid non-negative integer: unit_amount must be at least 0.",
        ));
    }
    if unit_amount > MAX_AMOUNT {
        return Err(ApiError::amount_too_large(
            p.param("unit_amount"),
            &currency,
        ));
    }
    let recurring = match p.node("recurring")? {
        Some(node) => Some(Recurring::from_params(&node)?),
        None => None,
    };
    Ok(PriceTerms {
        currency,
        unit_amount,
        recurring,
    })
}

/// Applies `metadata[key]=value` to `target`: an empty value unsets a key, `metadata=` unsets
/// them all (Stripe's update semantics).
pub(crate) fn merge_metadata(target: &mut Metadata, p: &Node<'_>) -> Result<(), ApiError> {
    if !p.has("metadata") {
        return Ok(());
    }
    let added = p.metadata("metadata")?;
    match p.node("metadata")? {
        None => target.clear(),
        Some(node) => {
            let keys: Vec<String> = target.keys().cloned().collect();
            for key in keys {
                if node.has(&key) && node.str(&key)?.is_none() {
                    target.remove(&key);
                }
            }
            target.extend(added);
        }
    }
    Ok(())
}

/// Whether an event type matches a pattern: exact, `*`, or a prefix ending in `.*`.
pub(crate) fn type_matches(pattern: &str, kind: &str) -> bool {
    if pattern == "*" || pattern == kind {
        return true;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) => kind.starts_with(prefix),
        None => false,
    }
}

/// The top-level fields of `before` that differ in `after`, with their old values.
pub(crate) fn previous_attributes(before: &Value, after: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (key, old) in b {
            if a.get(key) != Some(old) {
                out.insert(key.clone(), old.clone());
            }
        }
    }
    Value::Object(out)
}

impl FaultMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Timeout => "timeout",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_patterns() {
        assert!(type_matches("charge.*", "charge.refunded"));
        assert!(type_matches("*", "charge.refunded"));
        assert!(type_matches("refund.created", "refund.created"));
        assert!(!type_matches("refund.created", "refund.updated"));
        assert!(!type_matches("charge.*", "checkout.session.completed"));
    }

    #[test]
    fn previous_attributes_keep_old_values_of_changed_fields() {
        let before = json!({"a": 1, "b": 2});
        let after = json!({"a": 1, "b": 3});
        assert_eq!(previous_attributes(&before, &after), json!({"b": 2}));
    }
}
