//! `paragraph_digest`: the example of a background service. It works through a text one
//! paragraph at a time, reports its progress after each, and charges by the paragraph.
//!
//! A run goes to the job queue (`.background()`): the form answers at once with the run's page,
//! which shows the progress this service reports, a Cancel button, and then the result. The
//! price is half a credit a paragraph: a run holds the most it can cost (`.max_cost`, ten
//! paragraphs) when it is submitted, reports what it really cost when it ends
//! (`context.report_cost`), and the rest of the hold goes back to the user.
//!
//! Each paragraph takes a second on purpose: the pause stands in for the slow call a real
//! service makes for each item (a language model, an API, a file to convert), so that the run's
//! page has progress to show. Replace `digest` and the pause with your own work, and keep the
//! `context.progress(..).await?` calls: they are also where a cancelled run stops.

use std::time::Duration;

use async_trait::async_trait;
use quickscale_service_sdk::{
    Credits, InputError, RunContext, Service, ServiceDescriptor, ServiceError, ServiceInput,
    ServiceOutput,
};

/// The most paragraphs one run takes (and so the most it costs: what it holds).
const MAX_PARAGRAPHS: usize = 10;

/// What one paragraph costs, in hundredths of a credit.
const CENTS_PER_PARAGRAPH: i64 = 50;

/// The time one paragraph takes: a stand-in for a slow call per item.
const PAUSE_PER_PARAGRAPH: Duration = Duration::from_secs(1);

/// The longest lead sentence shown, in characters.
const LEAD_CHARS: usize = 120;

#[derive(Debug, Clone, Copy, Default)]
pub struct ParagraphDigest;

/// What the digest says about one paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub words: usize,
    pub lead: String,
}

#[async_trait]
impl Service for ParagraphDigest {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("paragraph_digest", "Paragraph digest")
            .description("Reads a text one paragraph at a time in the background, a second each, and gives the lead sentence and word count of each paragraph. Half a credit per paragraph, at most ten. The example of a run that reports its progress.")
            .category("Text")
            // The price a run is charged when it reports no cost of its own; an admin can
            // override it.
            .cost(cents(CENTS_PER_PARAGRAPH))
            // A run goes to the job queue; the request answers at once with the run's page.
            .background()
            // Held when a run is submitted: the most a run can cost.
            .max_cost(cents(CENTS_PER_PARAGRAPH * MAX_PARAGRAPHS as i64))
            .timeout(Duration::from_secs(60))
            .max_input_bytes(20 * 1024)
            .example("Background runs go to a job queue.\n\nThe page shows the progress.\n\nThe credits are held, then settled.")
    }

    fn validate(&self, input: &ServiceInput) -> Result<(), InputError> {
        let count = paragraphs(input.as_text().unwrap_or_default()).len();
        if count == 0 {
            return Err(InputError::Invalid("there is no paragraph to read".into()));
        }
        if count > MAX_PARAGRAPHS {
            return Err(InputError::Invalid(format!(
                "the text has {count} paragraphs; at most {MAX_PARAGRAPHS} are read in one run"
            )));
        }
        Ok(())
    }

    /// A background run: one paragraph at a time, its progress reported before each (and
    /// `?` ends the run there once it was cancelled), its cost reported at the end.
    async fn execute_background(
        &self,
        input: ServiceInput,
        context: &RunContext,
    ) -> Result<ServiceOutput, ServiceError> {
        let paragraphs = paragraphs(input.as_text().unwrap_or_default());
        let total = paragraphs.len();
        let mut digests = Vec::with_capacity(total);
        for (done, paragraph) in paragraphs.iter().enumerate() {
            let message = format!("reading paragraph {} of {total}", done + 1);
            context
                .progress(done as f32 / total as f32, &message)
                .await?;
            tokio::time::sleep(PAUSE_PER_PARAGRAPH).await;
            digests.push(digest(paragraph));
        }
        context.progress(1.0, "done").await?;
        context.report_cost(cost_of(total))?;
        Ok(output(&digests))
    }

    /// The same work at once, for a run made without a job queue (and for the tests).
    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        let digests: Vec<Digest> = paragraphs(input.as_text().unwrap_or_default())
            .iter()
            .map(|p| digest(p))
            .collect();
        Ok(output(&digests))
    }
}

fn cents(cents: i64) -> Credits {
    Credits::from_cents(cents).expect("a price within the limits")
}

/// What a run of `paragraphs` paragraphs costs.
pub fn cost_of(paragraphs: usize) -> Credits {
    cents(CENTS_PER_PARAGRAPH * paragraphs as i64)
}

/// The paragraphs of `text`: runs of lines that are not blank, each joined into one line.
pub fn paragraphs(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            if !current.is_empty() {
                found.push(current.join(" "));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        found.push(current.join(" "));
    }
    found.retain(|p| p.chars().any(char::is_alphanumeric));
    found
}

/// The word count and lead sentence (up to the first full stop, question or exclamation mark
/// followed by a space) of one paragraph.
pub fn digest(paragraph: &str) -> Digest {
    let words = paragraph.split_whitespace().count();
    let end = paragraph
        .char_indices()
        .find(|&(at, c)| {
            matches!(c, '.' | '!' | '?')
                && paragraph[at + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace)
        })
        .map_or(paragraph.len(), |(at, c)| at + c.len_utf8());
    let sentence = &paragraph[..end];
    let lead = if sentence.chars().count() > LEAD_CHARS {
        let cut: String = sentence.chars().take(LEAD_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        sentence.to_owned()
    };
    Digest { words, lead }
}

fn output(digests: &[Digest]) -> ServiceOutput {
    let words: usize = digests.iter().map(|d| d.words).sum();
    let rows = digests
        .iter()
        .enumerate()
        .map(|(n, d)| vec![(n + 1).to_string(), d.words.to_string(), d.lead.clone()])
        .collect();
    let data: Vec<serde_json::Value> = digests
        .iter()
        .map(|d| serde_json::json!({ "words": d.words, "lead": d.lead }))
        .collect();
    let paragraphs = digests.len();
    let plural = if paragraphs == 1 { "" } else { "s" };
    ServiceOutput::new(format!("{paragraphs} paragraph{plural}, {words} words"))
        .field("Paragraphs", paragraphs)
        .field("Words", words)
        .table(&["#", "Words", "Lead sentence"], rows)
        .data(serde_json::json!({ "paragraphs": data, "words": words }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paragraphs_at_blank_lines_and_finds_each_lead_sentence() {
        let text = "First line of one.\r\nStill the first! Second sentence.\r\n\r\n  \r\nTwo? Yes.\n\n\n...\n";
        let found = paragraphs(text);
        assert_eq!(
            found,
            [
                "First line of one. Still the first! Second sentence.",
                "Two? Yes."
            ]
        );
        assert_eq!(
            digest(&found[0]),
            Digest {
                words: 9,
                lead: "First line of one.".into()
            }
        );
        assert_eq!(digest("No full stop here").lead, "No full stop here");
        assert_eq!(
            digest("Version 1.5 is out. Try it.").lead,
            "Version 1.5 is out."
        );
        let long = digest(&"word ".repeat(60));
        assert_eq!(long.lead.chars().count(), LEAD_CHARS);
        assert!(long.lead.ends_with('…'));
    }

    #[test]
    fn refuses_no_paragraph_or_too_many_before_holding_anything() {
        let text = |s: String| ServiceInput::Text(s);
        assert!(
            ParagraphDigest
                .validate(&text(" \n\n ... ".into()))
                .is_err()
        );
        let eleven = ["A paragraph."; 11].join("\n\n");
        let error = ParagraphDigest.validate(&text(eleven)).unwrap_err();
        assert!(format!("{error:?}").contains("11 paragraphs"), "{error:?}");
        let ten = ["A paragraph."; 10].join("\n\n");
        assert!(ParagraphDigest.validate(&text(ten)).is_ok());
    }

    #[test]
    fn holds_what_ten_paragraphs_cost_and_charges_by_the_paragraph() {
        let descriptor = ParagraphDigest.descriptor();
        assert_eq!(descriptor.mode, quickscale_service_sdk::RunMode::Background);
        assert_eq!(descriptor.max_cost, Some(cost_of(MAX_PARAGRAPHS)));
        assert_eq!(cost_of(3).to_string(), "1.50");
        descriptor.validate().expect("a valid descriptor");
    }

    // Registered the way the app registers it, next to the built-ins, and run.
    #[tokio::test]
    async fn runs_from_the_project_registry() {
        let mut registry = quickscale_service_sdk::ServiceRegistry::new();
        quickscale_service_sdk::builtin::register_builtins(&mut registry).unwrap();
        crate::services::register(&mut registry).expect("no clash with the other services");
        let service = &registry
            .get("paragraph_digest")
            .expect("registered")
            .service;

        let output = service
            .execute(ServiceInput::Text("One. Two.\n\nThree words here.".into()))
            .await
            .unwrap();
        assert_eq!(output.summary, "2 paragraphs, 5 words");
        assert_eq!(output.data["paragraphs"][1]["lead"], "Three words here.");
    }
}
