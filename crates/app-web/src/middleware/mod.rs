//! Middleware the router wraps around the handlers (the rest of the layers, security headers and
//! CSRF among them, are in `security` and `app::layers`).

pub mod admin_only;
pub mod error_pages;
pub mod fresh_settings;
pub mod server_errors;
