#![forbid(unsafe_code)]
//! # QuickScale billing types
//!
//! Money in minor units with its currency, credit packs and payments. Stripe is the truth for
//! money and our database for credits; the rules that connect them (checkout, webhooks,
//! refunds) build on these types.

mod money;
mod pack;
mod payment;

pub use money::{Currency, CurrencyError, Money, MoneyError};
pub use pack::{CreditPack, PackError, PackId};
pub use payment::{Payment, PaymentId, PaymentStatus};
