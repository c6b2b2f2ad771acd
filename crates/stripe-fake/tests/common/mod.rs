//! Helpers shared by the stand-in's tests: a webhook receiver, an HTTP client speaking Stripe's
//! form encoding, an HMAC check written independently of the stand-in's signing code, and the
//! steps tests repeat.

mod flows;
mod http;
mod receiver;
mod signature;

pub use flows::*;
pub use http::*;
pub use receiver::*;
pub use signature::*;
