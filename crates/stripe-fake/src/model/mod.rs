//! The fake's entities: what it stores, and keeps in its state file. Plain data with the
//! names of their states; the rules that change them are in `store`, the JSON Stripe shows of
//! them in `objects`. Their serialized form is the state file's: a change to a field here
//! changes the file's format (`persist::VERSION`).

mod catalog;
mod checkout;
mod customer;
mod event;
mod idempotency;
mod invoice;
mod payment;
mod subscription;

use std::collections::BTreeMap;

pub(crate) use catalog::{Interval, Price, Product, Recurring};
pub(crate) use checkout::{CheckoutMode, LineItem, Session, SessionStatus};
pub(crate) use customer::{Customer, PortalSession};
pub use event::DeliveryState;
pub(crate) use event::{EventRecord, RequestInfo, type_matches};
pub(crate) use idempotency::{IdempotencyEntry, StoredResponse};
pub(crate) use invoice::{Invoice, InvoiceLine, InvoiceStatus};
pub(crate) use payment::{Card, Charge, PaymentIntent, Refund};
pub(crate) use subscription::{Subscription, SubscriptionItem, SubscriptionStatus};

/// An object's `metadata`: string keys to string values.
pub(crate) type Metadata = BTreeMap<String, String>;
