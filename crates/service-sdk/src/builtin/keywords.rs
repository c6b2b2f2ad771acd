//! `text_keyword_extractor`: keyword phrases ranked with RAKE.
//!
//! RAKE (Rose et al., 2010, "Automatic keyword extraction from individual documents") splits a
//! text into candidate phrases at stop words and punctuation, scores each word by
//! degree / frequency (words that occur in long phrases score higher than words that recur
//! alone), and scores a phrase by the sum of its words' scores.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use async_trait::async_trait;
use serde::Serialize;

use crate::{Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput};

fn stop_words() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        include_str!("../../data/stop-words.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .flat_map(str::split_whitespace)
            .collect()
    })
}

/// A ranked keyword phrase.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Keyword {
    /// The phrase, lower-cased.
    pub phrase: String,
    /// The sum of its words' degree-to-frequency scores: higher ranks first.
    pub score: f64,
    /// How often the phrase occurs in the text.
    pub occurrences: usize,
}

/// The top `limit` keyword phrases of `text`, best first.
pub fn extract_keywords(text: &str, limit: usize) -> Vec<Keyword> {
    let stop = stop_words();
    let mut phrases: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for token in text.split_inclusive(|c: char| c.is_whitespace() || ",.;:!?()[]{}\"“”".contains(c))
    {
        let ends_phrase = token.ends_with(|c: char| ",.;:!?()[]{}\"“”".contains(c));
        let word: String = token
            .trim_matches(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
            .to_lowercase();
        let usable = !word.is_empty()
            && !stop.contains(word.as_str())
            && !word.chars().all(|c| c.is_ascii_digit())
            && word.chars().count() > 1;
        if usable {
            current.push(word);
        } else if !current.is_empty() {
            phrases.push(std::mem::take(&mut current));
        }
        if ends_phrase && !current.is_empty() {
            phrases.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        phrases.push(current);
    }
    // Very long runs without stop words are rarely keywords.
    phrases.retain(|p| p.len() <= 4);

    let mut frequency: HashMap<&str, f64> = HashMap::new();
    let mut degree: HashMap<&str, f64> = HashMap::new();
    for phrase in &phrases {
        for word in phrase {
            *frequency.entry(word).or_default() += 1.0;
            *degree.entry(word).or_default() += phrase.len() as f64;
        }
    }
    let mut scored: HashMap<String, (f64, usize)> = HashMap::new();
    for phrase in &phrases {
        let score: f64 = phrase
            .iter()
            .map(|w| degree[w.as_str()] / frequency[w.as_str()])
            .sum();
        let entry = scored.entry(phrase.join(" ")).or_insert((score, 0));
        entry.1 += 1;
    }
    let mut keywords: Vec<Keyword> = scored
        .into_iter()
        .map(|(phrase, (score, occurrences))| Keyword {
            phrase,
            score: (score * 100.0).round() / 100.0,
            occurrences,
        })
        .collect();
    keywords.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.occurrences.cmp(&a.occurrences))
            .then_with(|| a.phrase.cmp(&b.phrase))
    });
    keywords.truncate(limit);
    keywords
}

/// Keyword phrases of a text, for one credit.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextKeywordExtractor;

#[async_trait]
impl Service for TextKeywordExtractor {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("text_keyword_extractor", "Keyword extractor")
            .description("Finds the key phrases of a text with RAKE: stop words and punctuation split the text, and phrases are ranked by how their words co-occur.")
            .category("Text")
            .example("Compatibility of systems of linear constraints over the set of natural numbers. Criteria of compatibility of a system of linear Diophantine equations are considered.")
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        let keywords = extract_keywords(input.as_text().unwrap_or_default(), 15);
        let summary = match keywords.first() {
            Some(top) => format!(
                "{} key phrases; the strongest is \"{}\"",
                keywords.len(),
                top.phrase
            ),
            None => "No key phrases found: the text has only stop words or numbers".to_owned(),
        };
        let rows = keywords
            .iter()
            .map(|k| {
                vec![
                    k.phrase.clone(),
                    format!("{:.2}", k.score),
                    k.occurrences.to_string(),
                ]
            })
            .collect();
        let data =
            serde_json::to_value(&keywords).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(ServiceOutput::new(summary)
            .table(&["Phrase", "Score", "Occurrences"], rows)
            .data(serde_json::json!({ "keywords": data })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_multi_word_phrases_from_the_rake_paper_example() {
        let text = "Compatibility of systems of linear constraints over the set of natural numbers. \
            Criteria of compatibility of a system of linear Diophantine equations, strict inequations, \
            and nonstrict inequations are considered. Upper bounds for components of a minimal set of \
            solutions and algorithms of construction of minimal generating sets of solutions for all \
            types of systems are given.";
        let keywords = extract_keywords(text, 10);
        let phrases: Vec<&str> = keywords.iter().map(|k| k.phrase.as_str()).collect();
        assert!(
            phrases.contains(&"linear diophantine equations"),
            "{phrases:?}"
        );
        assert!(phrases.contains(&"minimal generating sets"), "{phrases:?}");
        assert!(
            !phrases
                .iter()
                .any(|p| p.split(' ').any(|w| stop_words().contains(w))),
            "{phrases:?}"
        );
        assert!(keywords.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn stop_words_only_give_nothing() {
        assert!(extract_keywords("it is what it is, and so on.", 5).is_empty());
    }
}
