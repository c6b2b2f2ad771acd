//! The fake's state and the rules of the endpoints, one file per area: all of it behind one
//! mutex, never held across an `.await`. The operations take typed requests (`requests`),
//! change the entities (`model`) and record the events they cause.

mod catalog;
mod checkout;
mod customers;
mod events;
mod invoices;
mod payments;
mod portal;
mod refunds;
mod subscriptions;

use std::collections::HashMap;

use tokio::sync::mpsc::UnboundedSender;

pub(crate) use checkout::{PayOutcome, PayRefusal};
pub(crate) use events::previous_attributes;

use crate::Fault;
use crate::config::CatalogItem;
use crate::model::{
    Charge, Customer, DeliveryState, EventRecord, IdempotencyEntry, Invoice, PaymentIntent,
    PortalSession, Price, Product, Refund, Session, Subscription,
};
use crate::webhook::{DeliveryAttempt, Job};

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

    /// The next sequence number: objects are listed newest first by it.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
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
}
