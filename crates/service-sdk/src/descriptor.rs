//! What a service says about itself.

use std::time::Duration;

use quickscale_domain_credits::Credits;
use serde::Serialize;

/// The kind of input a service takes, which decides the form it gets.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// Free text (a text area).
    Text,
    /// A JSON document (a text area that must parse).
    Json,
    /// An uploaded file (size-limited, with accepted content types).
    File,
}

impl InputKind {
    /// The name used in the API and its document.
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Text => "text",
            InputKind::Json => "json",
            InputKind::File => "file",
        }
    }
}

/// How a service runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// In the request: the answer carries the result. For services that take under a second.
    #[default]
    Immediate,
    /// On the job queue: the request holds the credits and answers at once; a worker runs the
    /// service, which reports progress; the run settles (or releases) the hold when it ends.
    Background,
}

impl RunMode {
    /// The name used in the API, the marketplace and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Immediate => "immediate",
            RunMode::Background => "background",
        }
    }

    /// The mode stored under `text`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        [RunMode::Immediate, RunMode::Background]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// Why a descriptor is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DescriptorError {
    /// The slug is not 2 to 64 characters of `a-z`, `0-9` and `_` starting with a letter: it
    /// appears in URLs and database rows. Holds the slug.
    #[error("slug {0:?} must be 2 to 64 characters of a-z, 0-9 and _, starting with a letter")]
    Slug(String),
    /// The name is empty or longer than 80 characters. Holds the slug.
    #[error("service {0}: the name must be 1 to 80 characters")]
    Name(String),
    /// The description is longer than 500 characters. Holds the slug.
    #[error("service {0}: the description is longer than 500 characters")]
    Description(String),
    /// The cost is above [`ServiceDescriptor::MAX_COST`].
    #[error("service {slug}: the cost {cost} is above the maximum of {max} credits per run")]
    Cost {
        /// The service's slug.
        slug: String,
        /// The cost refused.
        cost: Credits,
        /// The most a run may cost.
        max: Credits,
    },
    /// The declared maximum of a background run is below its cost, above
    /// [`ServiceDescriptor::MAX_COST`], or set on an immediate service. Holds the slug.
    #[error(
        "service {0}: the maximum cost must be a background service's, from its cost to 10000 credits"
    )]
    MaxCost(String),
    /// The timeout is outside 100 ms to 10 minutes. Holds the slug.
    #[error("service {0}: the timeout must be between 100 ms and 10 minutes")]
    Timeout(String),
    /// The input limit is outside 1 byte to 50 MB. Holds the slug.
    #[error("service {0}: the input limit must be between 1 byte and 50 MB")]
    InputLimit(String),
    /// A file service that accepts no content type could never run. Holds the slug.
    #[error("service {0}: a file service must accept at least one content type")]
    NoContentTypes(String),
    /// The input schema is not a valid JSON Schema, or the service does not take JSON.
    #[error("service {slug}: the input schema {why}")]
    InputSchema {
        /// The service's slug.
        slug: String,
        /// What is wrong with the schema.
        why: String,
    },
}

/// A service's identity, price and limits.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ServiceDescriptor {
    /// Stable identifier used in URLs, the API and the database: `text_sentiment_analysis`.
    pub slug: String,
    /// What people see: "Sentiment analysis".
    pub name: String,
    /// A sentence or two on the service's page, at most 500 characters.
    pub description: String,
    /// Groups services on the services page ("Text", "Images").
    pub category: String,
    /// Credits charged per successful start (refunded when the run fails). Zero means free.
    pub cost: Credits,
    /// What the service takes, and so which form it gets.
    pub input: InputKind,
    /// Content types a file service accepts (`image/png` ...).
    pub accepted_types: Vec<String>,
    /// The largest input accepted, in bytes; larger ones are refused before any charge.
    pub max_input_bytes: usize,
    /// How long a run may take before it is stopped and refunded (published in milliseconds).
    #[serde(serialize_with = "millis")]
    pub timeout: Duration,
    /// Shown on the service page and pre-filled in the form.
    pub example_input: Option<String>,
    /// For JSON services: a JSON Schema the input must match. The runner refuses other input
    /// before charging, and the API document publishes it.
    pub input_schema: Option<serde_json::Value>,
    /// Whether a run happens in the request or on the job queue.
    pub mode: RunMode,
    /// For a background service whose runs cost what they use (tokens, pages): the most a run
    /// may cost, held when it starts; the run then reports its actual cost. `None`: the run
    /// holds, and is charged, its cost.
    pub max_cost: Option<Credits>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl ServiceDescriptor {
    /// The most credits a single run may cost.
    pub const MAX_COST: u32 = 10_000;

    /// A text service costing one credit, with a ten-second timeout and 100 KB of input.
    pub fn new(slug: &str, name: &str) -> Self {
        ServiceDescriptor {
            slug: slug.to_owned(),
            name: name.to_owned(),
            description: String::new(),
            category: "General".to_owned(),
            cost: Credits::whole(1),
            input: InputKind::Text,
            accepted_types: Vec::new(),
            max_input_bytes: 100 * 1024,
            timeout: Duration::from_secs(10),
            example_input: None,
            input_schema: None,
            mode: RunMode::Immediate,
            max_cost: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_owned();
        self
    }
    /// Sets the category.
    pub fn category(mut self, text: &str) -> Self {
        self.category = text.to_owned();
        self
    }
    /// Sets the cost of a run.
    pub fn cost(mut self, cost: Credits) -> Self {
        self.cost = cost;
        self
    }
    /// Makes runs free: they are recorded, and charge nothing.
    pub fn free(mut self) -> Self {
        self.cost = Credits::ZERO;
        self
    }
    /// Sets the kind of input.
    pub fn input(mut self, kind: InputKind) -> Self {
        self.input = kind;
        self
    }
    /// Sets the content types a file service accepts.
    pub fn accepts(mut self, content_types: &[&str]) -> Self {
        self.accepted_types = content_types.iter().map(|t| (*t).to_owned()).collect();
        self
    }
    /// Sets the input limit, in bytes.
    pub fn max_input_bytes(mut self, bytes: usize) -> Self {
        self.max_input_bytes = bytes;
        self
    }
    /// Sets the timeout of a run.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Sets the example input the form starts with.
    pub fn example(mut self, input: &str) -> Self {
        self.example_input = Some(input.to_owned());
        self
    }
    /// The JSON Schema a JSON service's input must match.
    pub fn input_schema(mut self, schema: serde_json::Value) -> Self {
        self.input_schema = Some(schema);
        self
    }

    /// Runs on the job queue (see [`RunMode::Background`]).
    pub fn background(mut self) -> Self {
        self.mode = RunMode::Background;
        self
    }
    /// A background run holds `max` and is charged what it reports it used (at most `max`).
    pub fn max_cost(mut self, max: Credits) -> Self {
        self.max_cost = Some(max);
        self
    }

    /// What a background run holds when it starts, for a run priced at `cost` (the admin's
    /// override or the descriptor's cost): the declared maximum when it is higher.
    pub fn hold_for(&self, cost: Credits) -> Credits {
        self.max_cost.map_or(cost, |max| max.max(cost))
    }

    /// Whether runs cost nothing (no charge is made at all).
    pub fn is_free(&self) -> bool {
        self.cost.is_zero()
    }

    /// Checks every field; the registry refuses services that fail this.
    pub fn validate(&self) -> Result<(), DescriptorError> {
        let slug_ok = (2..=64).contains(&self.slug.len())
            && self.slug.starts_with(|c: char| c.is_ascii_lowercase())
            && self
                .slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !slug_ok {
            return Err(DescriptorError::Slug(self.slug.clone()));
        }
        let name_len = self.name.trim().chars().count();
        if name_len == 0 || name_len > 80 {
            return Err(DescriptorError::Name(self.slug.clone()));
        }
        if self.description.chars().count() > 500 {
            return Err(DescriptorError::Description(self.slug.clone()));
        }
        let max = Credits::whole(Self::MAX_COST);
        if self.cost > max {
            return Err(DescriptorError::Cost {
                slug: self.slug.clone(),
                cost: self.cost,
                max,
            });
        }
        if let Some(most) = self.max_cost
            && (self.mode != RunMode::Background || most < self.cost || most > max)
        {
            return Err(DescriptorError::MaxCost(self.slug.clone()));
        }
        if self.timeout < Duration::from_millis(100) || self.timeout > Duration::from_secs(600) {
            return Err(DescriptorError::Timeout(self.slug.clone()));
        }
        if self.max_input_bytes == 0 || self.max_input_bytes > 50 * 1024 * 1024 {
            return Err(DescriptorError::InputLimit(self.slug.clone()));
        }
        if self.input == InputKind::File && self.accepted_types.is_empty() {
            return Err(DescriptorError::NoContentTypes(self.slug.clone()));
        }
        if let Some(schema) = &self.input_schema {
            let why = if self.input != InputKind::Json {
                Some("is for JSON services only".to_owned())
            } else {
                jsonschema::validator_for(schema)
                    .err()
                    .map(|e| format!("is not a valid JSON Schema: {e}"))
            };
            if let Some(why) = why {
                return Err(DescriptorError::InputSchema {
                    slug: self.slug.clone(),
                    why,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_slug_cost_and_limits() {
        assert!(ServiceDescriptor::new("ok_slug", "OK").validate().is_ok());
        for bad in ["A", "1abc", "has-dash", "x", "with space"] {
            assert!(matches!(
                ServiceDescriptor::new(bad, "n").validate(),
                Err(DescriptorError::Slug(_))
            ));
        }
        let pricey = ServiceDescriptor::new("pricey", "P").cost(Credits::whole(10_001));
        assert!(matches!(
            pricey.validate(),
            Err(DescriptorError::Cost { .. })
        ));
        let file = ServiceDescriptor::new("files", "F").input(InputKind::File);
        assert!(matches!(
            file.validate(),
            Err(DescriptorError::NoContentTypes(_))
        ));
        let slow = ServiceDescriptor::new("slow", "S").timeout(Duration::from_secs(601));
        assert!(matches!(slow.validate(), Err(DescriptorError::Timeout(_))));
    }

    #[test]
    fn a_maximum_cost_is_for_background_services_and_at_least_the_cost() {
        let llm = ServiceDescriptor::new("llm", "L").cost(Credits::whole(2));
        assert!(matches!(
            llm.clone().max_cost(Credits::whole(5)).validate(),
            Err(DescriptorError::MaxCost(_))
        ));
        let background = llm.background();
        assert_eq!(background.mode, RunMode::Background);
        assert!(matches!(
            background.clone().max_cost(Credits::whole(1)).validate(),
            Err(DescriptorError::MaxCost(_))
        ));
        let capped = background.max_cost(Credits::whole(5));
        assert!(capped.validate().is_ok());
        assert_eq!(capped.hold_for(Credits::whole(2)), Credits::whole(5));
        assert_eq!(capped.hold_for(Credits::whole(7)), Credits::whole(7));
        assert_eq!(
            ServiceDescriptor::new("plain", "P").hold_for(Credits::whole(3)),
            Credits::whole(3)
        );
    }

    #[test]
    fn an_input_schema_is_a_valid_json_schema_on_a_json_service() {
        let schema = serde_json::json!({"type": "object", "required": ["a"]});
        let json = ServiceDescriptor::new("json_in", "J").input(InputKind::Json);
        assert!(json.clone().input_schema(schema.clone()).validate().is_ok());
        assert!(matches!(
            json.input_schema(serde_json::json!({"type": 5})).validate(),
            Err(DescriptorError::InputSchema { .. })
        ));
        assert!(matches!(
            ServiceDescriptor::new("text_in", "T")
                .input_schema(schema)
                .validate(),
            Err(DescriptorError::InputSchema { .. })
        ));
    }
}
