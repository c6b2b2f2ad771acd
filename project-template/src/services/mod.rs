//! This project's services, offered next to QuickScale's built-in ones.
//!
//! A service implements `quickscale_service_sdk::Service`: a descriptor (slug, name, price in
//! credits, input kind) and an async `execute`. `quickscale generate-service NAME` writes one
//! (`--kind text`, `image`, `data` or `llm`), declares its module here and registers it in
//! `register` below, above the `// quickscale:services` line: keep that line.

mod title_case;

pub use title_case::TitleCase;

use quickscale_service_sdk::{RegistryError, ServiceRegistry};

/// Registers the project's services; the app calls it once at start-up.
pub fn register(registry: &mut ServiceRegistry) -> Result<(), RegistryError> {
    registry.register(TitleCase)?;
    // quickscale:services
    Ok(())
}
