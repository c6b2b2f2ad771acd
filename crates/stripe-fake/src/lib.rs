#![forbid(unsafe_code)]
#![recursion_limit = "256"]
//! # An offline, stateful stand-in for the Stripe API
//!
//! [`FakeStripe`] serves the Stripe endpoints QuickScale calls (customers, Checkout sessions in
//! payment and subscription mode, subscriptions, invoices, refunds, events, prices, products,
//! billing-portal sessions) with Stripe's request format
//! (form-encoded bracket parameters, Bearer `sk_test_...` keys, `Idempotency-Key`) and Stripe's
//! JSON objects, a hosted checkout page that takes Stripe's test cards, and webhooks signed
//! exactly like Stripe's (`Stripe-Signature: t=...,v1=...`), delivered in the background with
//! retries. Test controls under `/_test/...`, also available as methods of [`Running`], drive
//! payments, renewals (time passing for subscriptions), deliveries and faults.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use quickscale_stripe_fake::{Config, FakeStripe};
//!
//! let fake = FakeStripe::start(Config::for_tests().with_webhook_url("http://127.0.0.1:8000/webhooks/stripe")).await?;
//! println!("STRIPE_API_BASE={} STRIPE_WEBHOOK_SECRET={}", fake.base_url, fake.webhook_secret);
//! # Ok(()) }
//! ```

mod api;
mod cards;
mod clock;
mod config;
mod controls;
mod error;
mod expand;
mod faults;
mod form;
mod ids;
pub mod local;
mod model;
mod money;
mod objects;
mod pages;
mod persist;
mod requests;
mod running;
mod server;
mod store;
mod webhook;

pub use config::{CatalogItem, Config};
pub use controls::ControlError;
pub use faults::{Fault, FaultMode};
pub use model::DeliveryState;
pub use persist::running_at;
pub use running::Running;
pub use server::FakeStripe;
pub use webhook::{DeliveryAttempt, signature_header};
