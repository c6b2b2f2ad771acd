//! `demo_free_service`: free text statistics.

use async_trait::async_trait;

use super::text::TextStatistics;
use crate::{Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput};

/// Counts words, sentences and reading time. Free: shows that free services run and are
/// recorded like paid ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoFreeService;

#[async_trait]
impl Service for DemoFreeService {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("demo_free_service", "Text statistics (free)")
            .description("Counts words, sentences and paragraphs, estimates reading time and readability, and lists the most frequent words.")
            .category("Text")
            .free()
            .example("QuickScale turns an idea into a paid product. Register, run a service, and watch your credits.")
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        let text = input.as_text().unwrap_or_default();
        let stats = TextStatistics::of(text);
        let data =
            serde_json::to_value(&stats).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let rows = stats
            .top_words
            .iter()
            .map(|(w, n)| vec![w.clone(), n.to_string()])
            .collect();
        Ok(ServiceOutput::new(format!(
            "{} words in {} sentences, about {} s to read",
            stats.words, stats.sentences, stats.reading_time_seconds
        ))
        .field("Words", stats.words)
        .field("Unique words", stats.unique_words)
        .field("Sentences", stats.sentences)
        .field("Paragraphs", stats.paragraphs)
        .field("Characters", stats.characters)
        .field("Average word length", stats.average_word_length)
        .field("Reading ease (Flesch)", stats.reading_ease)
        .table(&["Word", "Count"], rows)
        .data(data))
    }
}
