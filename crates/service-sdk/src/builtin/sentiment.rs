//! `text_sentiment_analysis`: lexicon-based sentiment (the VADER method).
//!
//! Each word's valence comes from the VADER lexicon (MIT licence, `data/VADER-LICENSE.txt`);
//! the rules that adjust it follow Hutto & Gilbert (2014): negation within three words flips and
//! dampens it, boosters ("very") and dampeners ("slightly") shift it, ALL-CAPS emphasises it in
//! mixed-case text, words after "but" weigh more than those before, and exclamation marks
//! amplify the total. The compound score is the sum normalised into [-1, 1].

use std::collections::HashMap;
use std::sync::OnceLock;

use async_trait::async_trait;
use serde::Serialize;

use crate::{Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput};

const BOOST: f64 = 0.293;
const CAPS_BOOST: f64 = 0.733;
const NEGATION_SCALAR: f64 = -0.74;
const NORMALISATION_ALPHA: f64 = 15.0;
const EXCLAMATION_BOOST: f64 = 0.292;

fn lexicon() -> &'static HashMap<&'static str, f64> {
    static LEXICON: OnceLock<HashMap<&'static str, f64>> = OnceLock::new();
    LEXICON.get_or_init(|| {
        include_str!("../../data/vader_lexicon.tsv")
            .lines()
            .filter_map(|line| {
                let (word, valence) = line.split_once('\t')?;
                Some((word, valence.trim().parse().ok()?))
            })
            .collect()
    })
}

const NEGATIONS: &[&str] = &[
    "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt", "dont", "hadnt",
    "hasnt", "havent", "isnt", "mightnt", "mustnt", "neither", "never", "none", "nope", "nor",
    "not", "nothing", "nowhere", "oughtnt", "shant", "shouldnt", "wasnt", "werent", "without",
    "wont", "wouldnt", "rarely", "seldom", "despite", "no",
];

const BOOSTERS: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerably",
    "decidedly",
    "deeply",
    "enormously",
    "entirely",
    "especially",
    "exceptionally",
    "extremely",
    "fabulously",
    "fully",
    "greatly",
    "highly",
    "hugely",
    "incredibly",
    "intensely",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "totally",
    "tremendously",
    "unbelievably",
    "unusually",
    "utterly",
    "very",
];

const DAMPENERS: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "kinda",
    "less",
    "little",
    "marginally",
    "occasionally",
    "partly",
    "scarcely",
    "slightly",
    "somewhat",
    "sorta",
];

fn is_negation(word: &str) -> bool {
    let plain: String = word.chars().filter(|c| *c != '\'' && *c != '’').collect();
    NEGATIONS.contains(&plain.as_str()) || word.ends_with("n't") || word.ends_with("n’t")
}

/// The overall tone of a text.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sentiment {
    /// A compound score of 0.05 or more.
    Positive,
    /// A compound score of -0.05 or less.
    Negative,
    /// In between.
    Neutral,
}

/// The analysis of one text.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct SentimentAnalysis {
    /// The tone the compound score falls in.
    pub label: Sentiment,
    /// From -1 (most negative) to 1 (most positive).
    pub compound: f64,
    /// The share of the text's weight that is positive, from 0 to 1.
    pub positive_share: f64,
    /// The share that is negative, from 0 to 1.
    pub negative_share: f64,
    /// The share that is neutral, from 0 to 1; the three add up to 1 (give or take rounding).
    pub neutral_share: f64,
    /// The words that carried sentiment and what each contributed, strongest first.
    pub drivers: Vec<(String, f64)>,
}

/// Analyses `text`.
pub fn analyse(text: &str) -> SentimentAnalysis {
    let lexicon = lexicon();
    let tokens: Vec<&str> = text
        .split_whitespace()
        .filter_map(|raw| {
            let lowered = raw.to_lowercase();
            if lexicon.contains_key(lowered.as_str()) && !raw.chars().any(char::is_alphanumeric) {
                return Some(raw); // an emoticon such as ":)"
            }
            let word = raw.trim_matches(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'));
            (!word.is_empty()).then_some(word)
        })
        .collect();
    let lowered: Vec<String> = tokens.iter().map(|t| t.to_lowercase()).collect();
    let mixed_case =
        tokens.iter().any(|t| is_shouting(t)) && !tokens.iter().all(|t| is_shouting(t));
    let but_at = lowered.iter().position(|w| w == "but");

    let mut valences: Vec<f64> = Vec::with_capacity(tokens.len());
    for (i, word) in lowered.iter().enumerate() {
        let Some(&base) = lexicon.get(word.as_str()) else {
            valences.push(0.0);
            continue;
        };
        if BOOSTERS.contains(&word.as_str()) || DAMPENERS.contains(&word.as_str()) {
            valences.push(0.0);
            continue;
        }
        let mut valence = base;
        if mixed_case && is_shouting(tokens[i]) {
            valence += CAPS_BOOST * valence.signum();
        }
        for (distance, previous) in lowered[i.saturating_sub(3)..i].iter().rev().enumerate() {
            let scale = [1.0, 0.95, 0.9][distance];
            if BOOSTERS.contains(&previous.as_str()) {
                valence += BOOST * valence.signum() * scale;
            } else if DAMPENERS.contains(&previous.as_str()) {
                valence -= BOOST * valence.signum() * scale;
            }
        }
        if lowered[i.saturating_sub(3)..i]
            .iter()
            .any(|w| is_negation(w))
        {
            valence *= NEGATION_SCALAR;
        }
        valences.push(valence);
    }
    if let Some(but) = but_at {
        for (i, valence) in valences.iter_mut().enumerate() {
            if i < but {
                *valence *= 0.5;
            } else if i > but {
                *valence *= 1.5;
            }
        }
    }

    let mut sum: f64 = valences.iter().sum();
    let exclamations = text.matches('!').count().min(4) as f64;
    if sum != 0.0 {
        sum += exclamations * EXCLAMATION_BOOST * sum.signum();
    }
    let compound = (sum / (sum * sum + NORMALISATION_ALPHA).sqrt()).clamp(-1.0, 1.0);

    let (mut positive, mut negative, mut neutral) = (0.0, 0.0, 0.0);
    for valence in &valences {
        if *valence > 0.0 {
            positive += valence + 1.0;
        } else if *valence < 0.0 {
            negative += valence.abs() + 1.0;
        } else {
            neutral += 1.0;
        }
    }
    let total = positive + negative + neutral;
    let share = |part: f64| {
        if total > 0.0 {
            round3(part / total)
        } else {
            0.0
        }
    };

    let mut drivers: Vec<(String, f64)> = lowered
        .iter()
        .zip(&valences)
        .filter(|(_, v)| **v != 0.0)
        .map(|(w, v)| (w.clone(), round3(*v)))
        .collect();
    drivers.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then_with(|| a.0.cmp(&b.0)));
    drivers.truncate(10);

    let label = if compound >= 0.05 {
        Sentiment::Positive
    } else if compound <= -0.05 {
        Sentiment::Negative
    } else {
        Sentiment::Neutral
    };
    SentimentAnalysis {
        label,
        compound: round3(compound),
        positive_share: share(positive),
        negative_share: share(negative),
        neutral_share: share(neutral),
        drivers,
    }
}

fn is_shouting(token: &str) -> bool {
    token.chars().filter(|c| c.is_alphabetic()).count() > 1
        && token
            .chars()
            .all(|c| !c.is_alphabetic() || c.is_uppercase())
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Sentiment of a text, for one credit.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextSentimentAnalysis;

#[async_trait]
impl Service for TextSentimentAnalysis {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("text_sentiment_analysis", "Sentiment analysis")
            .description("Scores the sentiment of a text from -1 to 1 with the VADER lexicon and shows the words that drove the score.")
            .category("Text")
            .example("I love how fast this is, but the setup was not great.")
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        let text = input.as_text().unwrap_or_default();
        let analysis = analyse(text);
        let label = match analysis.label {
            Sentiment::Positive => "Positive",
            Sentiment::Negative => "Negative",
            Sentiment::Neutral => "Neutral",
        };
        let rows = analysis
            .drivers
            .iter()
            .map(|(word, weight)| vec![word.clone(), format!("{weight:+.3}")])
            .collect();
        let data =
            serde_json::to_value(&analysis).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(
            ServiceOutput::new(format!("{label} ({:+.3})", analysis.compound))
                .field("Sentiment", label)
                .field("Score", format!("{:+.3}", analysis.compound))
                .field(
                    "Positive",
                    format!("{:.0}%", analysis.positive_share * 100.0),
                )
                .field(
                    "Negative",
                    format!("{:.0}%", analysis.negative_share * 100.0),
                )
                .field("Neutral", format!("{:.0}%", analysis.neutral_share * 100.0))
                .table(&["Word", "Contribution"], rows)
                .data(data),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_and_negative_sentences() {
        let good = analyse("I love this product, it is wonderful and works great.");
        assert_eq!(good.label, Sentiment::Positive);
        assert!(good.compound > 0.8, "{}", good.compound);
        assert!(good.drivers.iter().any(|(w, _)| w == "love"));

        let bad = analyse("This is terrible. I hate it and the support was awful.");
        assert_eq!(bad.label, Sentiment::Negative);
        assert!(bad.compound < -0.7, "{}", bad.compound);
    }

    #[test]
    fn neutral_text_scores_zero() {
        let neutral = analyse("The meeting is at ten in room four.");
        assert_eq!(neutral.label, Sentiment::Neutral);
        assert_eq!(neutral.compound, 0.0);
        assert!(neutral.drivers.is_empty());
    }

    #[test]
    fn negation_flips_and_boosters_strengthen() {
        let plain = analyse("The food is good.").compound;
        let negated = analyse("The food is not good.").compound;
        let boosted = analyse("The food is very good.").compound;
        assert!(negated < 0.0, "{negated}");
        assert!(boosted > plain, "{boosted} > {plain}");
        assert!(analyse("The food isn't good.").compound < 0.0);
    }

    #[test]
    fn but_shifts_weight_to_what_follows() {
        let result = analyse("The room was lovely but the service was horrible.");
        assert_eq!(result.label, Sentiment::Negative);
    }

    #[test]
    fn shouting_and_exclamations_amplify() {
        assert!(analyse("This is GREAT today").compound > analyse("This is great today").compound);
        assert!(analyse("This is great!!!").compound > analyse("This is great").compound);
    }
}
