//! The services every QuickScale app starts with.

mod data_validator;
mod demo_free;
mod image_metadata;
mod keywords;
mod llm;
mod sentiment;
mod text;

pub use data_validator::{DataValidator, Report, RowError, validate};
pub use demo_free::DemoFreeService;
pub use image_metadata::{ImageMetadata, ImageMetadataExtractor, read_metadata};
pub use keywords::{Keyword, TextKeywordExtractor, extract_keywords};
pub use llm::{ChatModel, LlmTextService};
pub use sentiment::{Sentiment, SentimentAnalysis, TextSentimentAnalysis, analyse};
pub use text::{TextStatistics, words};

use crate::{RegistryError, ServiceRegistry};

/// Registers the built-in services.
pub fn register_builtins(registry: &mut ServiceRegistry) -> Result<(), RegistryError> {
    registry.register(DemoFreeService)?;
    registry.register(TextSentimentAnalysis)?;
    registry.register(TextKeywordExtractor)?;
    registry.register(ImageMetadataExtractor)?;
    registry.register(DataValidator)?;
    Ok(())
}
