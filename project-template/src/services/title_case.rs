//! `title_case`: turns text into a headline, one line at a time.
//!
//! The rules are the usual editorial ones: every word starts with a capital except the small
//! words (articles, short conjunctions and prepositions) inside a title; the first and last
//! words, and the first word after a colon, are always capitalised; words that already carry
//! capitals inside them (NASA, iPhone, McDonald) or look like addresses (example.com) are left
//! alone; both halves of a hyphenated word are handled; text in capitals only is treated as
//! lower case first.

use async_trait::async_trait;
use quickscale_service_sdk::{
    InputError, Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput,
};

/// Costs one credit per run.
#[derive(Debug, Clone, Copy, Default)]
pub struct TitleCase;

const SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "but", "by", "en", "for", "if", "in", "nor", "of", "on", "or",
    "per", "the", "to", "v", "vs", "via",
];

#[async_trait]
impl Service for TitleCase {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("title_case", "Title case")
            .description("Turns each line of text into a headline in title case, keeping acronyms, brand names and web addresses as they are.")
            .category("Text")
            .max_input_bytes(20 * 1024)
            .example("the lord of the rings: the return of the king")
    }

    fn validate(&self, input: &ServiceInput) -> Result<(), InputError> {
        let text = input.as_text().unwrap_or_default();
        if !text.chars().any(char::is_alphabetic) {
            return Err(InputError::Invalid(
                "there are no words to capitalise".into(),
            ));
        }
        Ok(())
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        let text = input.as_text().unwrap_or_default();
        let titled = title_case(text);
        let words = text.split_whitespace().count();
        let changed = text
            .split_whitespace()
            .zip(titled.split_whitespace())
            .filter(|(before, after)| before != after)
            .count();
        Ok(ServiceOutput::new(titled.clone())
            .field("Words", words)
            .field("Words changed", changed)
            .data(serde_json::json!({ "title": titled, "words": words, "changed": changed })))
    }
}

/// Title-cases every line of `text`, keeping its whitespace.
pub fn title_case(text: &str) -> String {
    text.split('\n')
        .map(title_case_line)
        .collect::<Vec<_>>()
        .join("\n")
}

fn title_case_line(line: &str) -> String {
    let shouting = !line.chars().any(char::is_lowercase);
    let line = if shouting {
        line.to_lowercase()
    } else {
        line.to_owned()
    };
    let word_count = line.split_whitespace().count();
    let mut out = String::with_capacity(line.len());
    let mut index = 0;
    let mut starts_phrase = true;
    for piece in pieces(&line) {
        if piece.starts_with(char::is_whitespace) {
            out.push_str(piece);
            continue;
        }
        index += 1;
        out.push_str(&case_word(piece, starts_phrase || index == word_count));
        starts_phrase = piece.ends_with([':', '.', '?', '!', '—']) || piece == "-";
    }
    out
}

/// Splits a line into alternating runs of whitespace and of other characters.
fn pieces(line: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (at, c) in line.char_indices() {
        let space = c.is_whitespace();
        if in_space.is_some_and(|was| was != space) {
            pieces.push(&line[start..at]);
            start = at;
        }
        in_space = Some(space);
    }
    if start < line.len() {
        pieces.push(&line[start..]);
    }
    pieces
}

/// Cases one word, keeping the punctuation around it.
fn case_word(word: &str, capitalise: bool) -> String {
    let Some(core_start) = word.find(char::is_alphanumeric) else {
        return word.to_owned();
    };
    let core_end = word.rfind(char::is_alphanumeric).map_or(word.len(), |at| {
        at + word[at..].chars().next().map_or(1, char::len_utf8)
    });
    let core = &word[core_start..core_end];
    let keep = core.contains(['.', '@', '/', '_']) || core.chars().skip(1).any(char::is_uppercase);
    let cased = if keep {
        core.to_owned()
    } else {
        core.split('-')
            .enumerate()
            .map(|(i, part)| case_part(part, capitalise && i == 0))
            .collect::<Vec<_>>()
            .join("-")
    };
    format!("{}{}{}", &word[..core_start], cased, &word[core_end..])
}

fn case_part(part: &str, capitalise: bool) -> String {
    let lower = part.to_lowercase();
    if !capitalise && SMALL_WORDS.contains(&lower.as_str()) {
        return lower;
    }
    let mut chars = part.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_words_stay_small_inside_a_title() {
        assert_eq!(
            title_case("the lord of the rings: the return of the king"),
            "The Lord of the Rings: The Return of the King"
        );
        assert_eq!(title_case("a tale of two cities"), "A Tale of Two Cities");
        assert_eq!(title_case("what is it good for"), "What Is It Good For");
    }

    #[test]
    fn acronyms_brands_and_addresses_are_kept() {
        assert_eq!(
            title_case("my iPhone and NASA on example.com"),
            "My iPhone and NASA on example.com"
        );
    }

    #[test]
    fn hyphens_punctuation_capitals_and_lines() {
        assert_eq!(
            title_case("a step-by-step guide to \"rust\" (for beginners)"),
            "A Step-by-Step Guide to \"Rust\" (for Beginners)"
        );
        assert_eq!(title_case("THE QUICK BROWN FOX"), "The Quick Brown Fox");
        assert_eq!(
            title_case("first line\n  second  line "),
            "First Line\n  Second  Line "
        );
    }

    #[tokio::test]
    async fn runs_as_a_service_next_to_the_built_ins() {
        let mut registry = quickscale_service_sdk::ServiceRegistry::new();
        quickscale_service_sdk::builtin::register_builtins(&mut registry).unwrap();
        crate::services::register(&mut registry).expect("no clash with the built-ins");
        let service = &registry.get("title_case").expect("registered").service;

        let output = service
            .execute(ServiceInput::Text("war and peace".into()))
            .await
            .unwrap();
        assert_eq!(output.summary, "War and Peace");
        assert_eq!(output.data["changed"], 2);
        assert!(
            service
                .validate(&ServiceInput::Text("1984".into()))
                .is_err()
        );
    }
}
