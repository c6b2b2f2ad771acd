//! Composition root: the one place where adapters are chosen and the app is wired together.
//!
//! [`App`] (here) is the builder: the project's services and, for tests, replaced ports. The
//! rest, one concern a file:
//! - `build`: the wiring (database, mailer, services, billing, state and router);
//! - `database`: opening, and migrating, the configured database;
//! - `layers`: the middleware stack around the routes;
//! - `cli`: the app's command line (clap), and `commands/`: one file per command;
//! - `server`: serving and shutting down; `workers`: the job workers and the chores' schedules;
//!   `banner`: what start-up prints; `logging`: tracing's set-up; `llm`: the language model.

mod banner;
mod build;
pub mod cli;
mod commands;
mod database;
mod layers;
mod llm;
mod logging;
mod server;
mod workers;

use std::sync::Arc;

use axum::Router;
use quickscale_domain_billing::PaymentGateway;
use quickscale_domain_identity::PasswordHasher;
use quickscale_domain_kernel::{Clock, Mailer};
use quickscale_service_sdk::builtin::ChatModel;
use quickscale_service_sdk::{RegistryError, Service, ServiceRegistry};

pub use server::serve_router;
pub use workers::{run_workers, spawn_local_chores};

use crate::config::Config;
use crate::state::AppState;
use build::Purpose;

/// A QuickScale app: its name, its services, and (for tests) replaced ports.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     quickscale_app_web::App::new("my-saas-app").run()
/// }
/// ```
pub struct App {
    name: String,
    registry: ServiceRegistry,
    registry_errors: Vec<RegistryError>,
    hasher: Option<Arc<dyn PasswordHasher>>,
    mailer: Option<Arc<dyn Mailer>>,
    clock: Option<Arc<dyn Clock>>,
    gateway: Option<(Arc<dyn PaymentGateway>, String)>,
    llm_services: Vec<LlmRegistration>,
}

/// Registers services that need the configured language model (see [`App::llm_services`]).
type LlmRegistration =
    Box<dyn FnOnce(&mut ServiceRegistry, Arc<dyn ChatModel>) -> Result<(), RegistryError> + Send>;

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("name", &self.name)
            .field("services", &self.registry.len())
            .finish()
    }
}

/// A built app: the router to serve and the state behind it.
#[derive(Debug)]
pub struct Built {
    pub router: Router,
    pub state: AppState,
}

impl App {
    /// An app with the built-in services registered.
    pub fn new(name: &str) -> Self {
        let mut registry = ServiceRegistry::new();
        let registry_errors = quickscale_service_sdk::builtin::register_builtins(&mut registry)
            .err()
            .into_iter()
            .collect();
        App {
            name: name.to_owned(),
            registry,
            registry_errors,
            hasher: None,
            mailer: None,
            clock: None,
            gateway: None,
            llm_services: Vec::new(),
        }
    }

    /// Registers the project's services (errors are reported when the app starts).
    pub fn services(
        mut self,
        register: impl FnOnce(&mut ServiceRegistry) -> Result<(), RegistryError>,
    ) -> Self {
        if let Err(error) = register(&mut self.registry) {
            self.registry_errors.push(error);
        }
        self
    }

    /// Registers the project's services that call the language model. They are offered only when
    /// a model is configured (`LLM_BASE_URL`), and receive the same client the built-in LLM service
    /// uses; without one they are not registered, so their pages do not exist.
    pub fn llm_services(
        mut self,
        register: impl FnOnce(&mut ServiceRegistry, Arc<dyn ChatModel>) -> Result<(), RegistryError>
        + Send
        + 'static,
    ) -> Self {
        self.llm_services.push(Box::new(register));
        self
    }

    /// Registers one service.
    pub fn service(mut self, service: impl Service + 'static) -> Self {
        if let Err(error) = self.registry.register(service) {
            self.registry_errors.push(error);
        }
        self
    }

    pub fn with_hasher(mut self, hasher: Arc<dyn PasswordHasher>) -> Self {
        self.hasher = Some(hasher);
        self
    }

    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Replaces the payment gateway (tests), with the webhook secret its events are signed with.
    pub fn with_gateway(mut self, gateway: Arc<dyn PaymentGateway>, webhook_secret: &str) -> Self {
        self.gateway = Some((gateway, webhook_secret.to_owned()));
        self
    }

    pub fn registry(&self) -> &ServiceRegistry {
        &self.registry
    }

    /// Connects the database, applies migrations, and wires the state and the router.
    pub async fn build(self, config: Config) -> anyhow::Result<Built> {
        self.build_for(config, Purpose::Serve).await
    }
}
