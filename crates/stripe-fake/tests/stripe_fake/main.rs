//! The stand-in over HTTP, as an app (and a browser) would use it: one test binary, a module per
//! area, sharing the helpers in `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod catalog;
mod checkout;
mod local_only;
mod python_library;
mod refunds;
mod state_file;
mod subscriptions;
mod webhooks;
