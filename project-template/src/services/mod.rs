//! This project's services, offered next to QuickScale's built-in ones.
//!
//! A service implements `quickscale_service_sdk::Service`: a descriptor (slug, name, price in
//! credits, input kind) and an async `execute`. `quickscale generate-service NAME` writes one
//! (`--kind text`, `image`, `data` or `llm`), declares its module here and registers it in
//! `register` below, above the `// quickscale:services` line, or, for a service that calls a
//! language model, in `register_llm`, above `// quickscale:llm-services`: keep those lines.

mod paragraph_digest;
mod title_case;

pub use paragraph_digest::ParagraphDigest;
pub use title_case::TitleCase;

use std::sync::Arc;

use quickscale_service_sdk::builtin::ChatModel;
use quickscale_service_sdk::{RegistryError, ServiceRegistry};

/// Registers the project's services; the app calls it once at start-up.
pub fn register(registry: &mut ServiceRegistry) -> Result<(), RegistryError> {
    registry.register(TitleCase)?;
    registry.register(ParagraphDigest)?;
    // quickscale:services
    Ok(())
}

/// Registers the project's services that call a language model, with the app's model. The app
/// calls it only when one is configured (`LLM_BASE_URL`); without one these services are not
/// offered.
pub fn register_llm(
    registry: &mut ServiceRegistry,
    model: Arc<dyn ChatModel>,
) -> Result<(), RegistryError> {
    let _ = (&registry, &model); // unused until a service is registered here
    // quickscale:llm-services
    Ok(())
}
