//! The services every QuickScale app starts with.

mod demo_free;
mod sentiment;
mod text;

pub use demo_free::DemoFreeService;
pub use sentiment::{Sentiment, SentimentAnalysis, TextSentimentAnalysis, analyse};
pub use text::{TextStatistics, words};

use crate::{RegistryError, ServiceRegistry};

/// Registers the built-in services.
pub fn register_builtins(registry: &mut ServiceRegistry) -> Result<(), RegistryError> {
    registry.register(DemoFreeService)?;
    registry.register(TextSentimentAnalysis)?;
    Ok(())
}
