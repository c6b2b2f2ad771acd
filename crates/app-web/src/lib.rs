#![forbid(unsafe_code)]
//! # The QuickScale web app
//!
//! An axum app with server-rendered pages (tera templates, Bulma, HTMX, Alpine.js), built by
//! [`App`], the composition root: it reads the [`Config`], picks the adapters (SQLite,
//! PostgreSQL or memory), and wires one [`AppState`] into the router.
//!
//! A generated project's `main.rs` is a few lines:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     quickscale_app_web::App::new("my-saas-app")
//!         .services(|registry| {
//!             // registry.register(MyService)?;
//!             let _ = registry;
//!             Ok(())
//!         })
//!         .run()
//! }
//! ```

mod account_flows;
pub mod api;
mod app;
pub mod assets;
pub mod audit;
pub mod choices_cache;
pub mod config;
pub mod error;
pub mod extract;
pub mod limits;
pub mod mail;
mod middleware;
pub mod notifications;
pub mod observability;
pub mod onboarding;
pub mod outbox;
pub mod paging;
pub mod payments;
pub mod queue;
mod routes;
pub mod security;
pub mod session;
pub mod settings_cache;
pub mod state;
pub mod templates;
pub mod user_cache;
pub mod verify;
pub mod view;
pub mod visitor_pages;
pub mod wording;

pub use app::{App, Built, cli, run_workers, serve_router, spawn_local_chores};
pub use config::{Config, ConfigError, Flags};
pub use quickscale_service_sdk as sdk;
pub use quickscale_service_sdk::{RegistryError, Service, ServiceRegistry};
pub use routes::ADMIN_PAGES;
pub use state::AppState;
