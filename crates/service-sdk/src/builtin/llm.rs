//! `llm_text_service`: summarise a text, or answer a question about it, with a chat model
//! behind the [`ChatModel`] port (an OpenAI-compatible endpoint in production, a fake in tests).
//!
//! Input is text. When its first line starts with `Q:` the rest of that line is the question
//! and the remaining text is what to answer from; otherwise the text is summarised.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::{Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput};

/// A chat-completion model: a system prompt and a user message in, the reply out.
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// The model's name, shown with results.
    fn name(&self) -> &str;
    /// Errors are worded for the user (they are shown on the page, and the run is refunded).
    async fn complete(&self, system: &str, user: &str) -> Result<String, ServiceError>;
}

/// What the user asked for.
#[derive(Debug, PartialEq, Eq)]
enum Task<'a> {
    Summarise(&'a str),
    Answer { question: &'a str, text: &'a str },
}

fn task(input: &str) -> Task<'_> {
    let trimmed = input.trim_start();
    match trimmed.split_once('\n') {
        Some((first, rest)) if first.trim_start().to_ascii_lowercase().starts_with("q:") => {
            let question = first.trim_start()[2..].trim();
            Task::Answer {
                question,
                text: rest.trim(),
            }
        }
        _ => Task::Summarise(trimmed.trim_end()),
    }
}

/// Summaries and answers from a language model, for five credits.
pub struct LlmTextService {
    model: Arc<dyn ChatModel>,
    timeout: Duration,
}

impl std::fmt::Debug for LlmTextService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmTextService")
            .field("model", &self.model.name())
            .finish()
    }
}

impl LlmTextService {
    /// The service over a chat model; `timeout` becomes the run's timeout, so set it above the
    /// model client's own.
    pub fn new(model: Arc<dyn ChatModel>, timeout: Duration) -> Self {
        LlmTextService { model, timeout }
    }
}

#[async_trait]
impl Service for LlmTextService {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("llm_text_service", "Summarise or ask (AI)")
            .description("Summarises a text in a few sentences, or answers a question about it: start with a line \"Q: your question\".")
            .category("AI")
            .cost(quickscale_domain_credits::Credits::whole(5))
            .max_input_bytes(32 * 1024)
            .timeout(self.timeout)
            .example("Q: What does the runner do when a service fails?\nThe runner validates input, charges credits once per key, executes the service with a timeout, and refunds the charge when the service fails or times out.")
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        let text = input.as_text().unwrap_or_default();
        let (system, user, label) = match task(text) {
            Task::Summarise(body) => (
                "You summarise texts in at most four plain sentences. Answer with the summary only.",
                body.to_owned(),
                "Summary",
            ),
            Task::Answer { question, text: "" } => (
                "Answer the question briefly. Say so when you do not know.",
                question.to_owned(),
                "Answer",
            ),
            Task::Answer { question, text } => (
                "Answer the question from the given text only, briefly. Say so when the text does not contain the answer.",
                format!("Text:\n{text}\n\nQuestion: {question}"),
                "Answer",
            ),
        };
        let reply = self.model.complete(system, &user).await?;
        let reply = reply.trim();
        if reply.is_empty() {
            return Err(ServiceError::Upstream(
                "the language model returned an empty answer".into(),
            ));
        }
        Ok(ServiceOutput::new(reply)
            .field(label, reply)
            .field("Model", self.model.name())
            .data(serde_json::json!({ "kind": label.to_lowercase(), "text": reply, "model": self.model.name() })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_q_line_asks_a_question() {
        assert_eq!(
            task("Q: why?\nbecause"),
            Task::Answer {
                question: "why?",
                text: "because"
            }
        );
        assert_eq!(
            task("  q:  who\n\n text "),
            Task::Answer {
                question: "who",
                text: "text"
            }
        );
        assert_eq!(
            task("Just a text.\nQ: not first"),
            Task::Summarise("Just a text.\nQ: not first")
        );
    }
}
