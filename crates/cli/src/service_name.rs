//! Service names: what `quickscale generate-service NAME` accepts.
//!
//! The name is at once the service's slug (in URLs, the API and the database), the Rust module
//! under `src/services/`, and, in CamelCase, the service's type.

use std::fmt;

use crate::name::{RUST_KEYWORDS, check_shape};

/// The slugs of the services every QuickScale app already offers.
pub const BUILTIN_SLUGS: &[&str] = &[
    "demo_free_service",
    "text_sentiment_analysis",
    "text_keyword_extractor",
    "image_metadata_extractor",
    "data_validator",
    "llm_text_service",
];

/// Crates a module under `src/services/` must not shadow: a module of the same name would make
/// every path starting with it ambiguous.
const CRATE_NAMES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
    "async_trait",
    "serde",
    "serde_json",
    "tokio",
    "axum",
    "tower",
];

/// Type names of Rust's prelude: a service type with one of these names would shadow it.
const PRELUDE_TYPES: &[&str] = &[
    "AsMut",
    "AsRef",
    "Box",
    "Clone",
    "Copy",
    "Debug",
    "Default",
    "Drop",
    "Eq",
    "Err",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "FromIterator",
    "Hash",
    "Into",
    "IntoIterator",
    "Iterator",
    "None",
    "Ok",
    "Option",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Result",
    "Send",
    "Sized",
    "Some",
    "String",
    "Sync",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
    "Vec",
];

pub const MIN_LEN: usize = 2;
pub const MAX_LEN: usize = 64;

/// A valid service name: `word_counter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceName(String);

/// Why a service name was refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNameError {
    name: String,
    reason: String,
}

impl fmt::Display for ServiceNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a valid service name: {}. A service name uses lowercase letters, digits \
             and single underscores, starts with a letter and has {MIN_LEN} to {MAX_LEN} \
             characters, for example word_counter.",
            self.name, self.reason
        )
    }
}

impl std::error::Error for ServiceNameError {}

impl ServiceName {
    pub fn parse(name: &str) -> Result<Self, ServiceNameError> {
        let refuse = |reason: String| ServiceNameError {
            name: name.to_owned(),
            reason,
        };
        check_shape(name, '_', (MIN_LEN, MAX_LEN), || suggestion(name)).map_err(refuse)?;
        if RUST_KEYWORDS.contains(&name) {
            return Err(refuse(format!("{name} is a Rust keyword")));
        }
        if CRATE_NAMES.contains(&name) || name.starts_with("quickscale") {
            return Err(refuse(format!(
                "{name} is the name of a crate the project uses"
            )));
        }
        if BUILTIN_SLUGS.contains(&name) {
            return Err(refuse(format!(
                "{name} is one of QuickScale's built-in services"
            )));
        }
        let type_name = camel_case(name);
        if PRELUDE_TYPES.contains(&type_name.as_str()) {
            return Err(refuse(format!(
                "its type would be called {type_name}, like a type of Rust's prelude"
            )));
        }
        Ok(ServiceName(name.to_owned()))
    }

    /// The slug and the module name: `word_counter`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The service's type: `WordCounter`.
    pub fn type_name(&self) -> String {
        camel_case(&self.0)
    }

    /// The name shown on pages until the developer picks a better one: `Word counter`.
    pub fn display_name(&self) -> String {
        let words = self.0.replace('_', " ");
        let mut chars = words.chars();
        chars
            .next()
            .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn camel_case(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A valid name close to `name`, if there is one: lower case, underscores for the rest, with a
/// word boundary before each capital (`WordCounter` is `word_counter`).
fn suggestion(name: &str) -> Option<String> {
    let mut better = String::new();
    let mut previous_lower = false;
    for c in name.trim().chars() {
        if c.is_ascii_uppercase() && previous_lower && !better.ends_with('_') {
            better.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            better.push(c);
        } else if !better.is_empty() && !better.ends_with('_') {
            better.push('_');
        }
    }
    let better = better.trim_end_matches('_').to_owned();
    (better != name && ServiceName::parse(&better).is_ok()).then_some(better)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names_and_derives_the_others() {
        let name = ServiceName::parse("word_counter2").unwrap();
        assert_eq!(name.as_str(), "word_counter2");
        assert_eq!(name.type_name(), "WordCounter2");
        assert_eq!(name.display_name(), "Word counter2");
        assert_eq!(ServiceName::parse("ab").unwrap().type_name(), "Ab");
        assert!(ServiceName::parse(&"a".repeat(64)).is_ok());
        assert!(ServiceName::parse("a1_b2_c3").is_ok());
    }

    #[test]
    fn refuses_with_a_reason_the_user_can_act_on() {
        let cases = [
            ("a", "shorter than 2"),
            (&*"a".repeat(65), "65 characters"),
            ("WordCounter", "capital letter 'W' (try \"word_counter\")"),
            ("word-counter", "a hyphen (try \"word_counter\")"),
            ("word counter", "a space (try \"word_counter\")"),
            ("wörd", "the character 'ö'"),
            ("../x", "the character '.'"),
            ("1word", "does not start with a letter"),
            ("_word", "does not start with a letter"),
            ("word_", "ends with an underscore"),
            ("self_", "ends with an underscore"),
            ("word__count", "two underscores"),
            ("match", "Rust keyword"),
            ("self", "Rust keyword"),
            ("std", "crate the project uses"),
            ("serde_json", "crate the project uses"),
            ("quickscale_x", "crate the project uses"),
            ("data_validator", "built-in services"),
            ("llm_text_service", "built-in services"),
            ("string", "prelude"),
            ("vec", "prelude"),
            ("option", "prelude"),
        ];
        for (name, reason) in cases {
            let error = ServiceName::parse(name).expect_err(name).to_string();
            assert!(error.contains(reason), "{name}: {error}");
            assert!(error.contains("for example word_counter"), "{error}");
        }
    }

    #[test]
    fn every_builtin_slug_is_refused() {
        for slug in BUILTIN_SLUGS {
            assert!(ServiceName::parse(slug).is_err(), "{slug}");
        }
        let mut registry = quickscale_app_web::sdk::ServiceRegistry::new();
        quickscale_app_web::sdk::builtin::register_builtins(&mut registry).unwrap();
        for registered in registry.iter() {
            assert!(
                BUILTIN_SLUGS.contains(&registered.descriptor.slug.as_str()),
                "{} is built in: add it to BUILTIN_SLUGS",
                registered.descriptor.slug
            );
        }
    }
}
