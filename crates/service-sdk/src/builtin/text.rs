//! Text measurements shared by the text services.

use std::collections::HashMap;

use serde::Serialize;

/// The words of a text: letters, digits and inner apostrophes, with their original case.
pub fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Counts vowel groups, a standard estimate of English syllables.
fn syllables(word: &str) -> usize {
    let lower = word.to_lowercase();
    let mut count = 0;
    let mut previous_vowel = false;
    for c in lower.chars() {
        let vowel = "aeiouy".contains(c);
        if vowel && !previous_vowel {
            count += 1;
        }
        previous_vowel = vowel;
    }
    if lower.ends_with('e') && !lower.ends_with("le") && count > 1 {
        count -= 1;
    }
    count.max(1)
}

/// Measurements of a text.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct TextStatistics {
    /// Characters (not bytes), white space included.
    pub characters: usize,
    /// Characters that are not white space.
    pub characters_without_spaces: usize,
    /// Words: runs of letters and digits, with inner apostrophes.
    pub words: usize,
    /// Different words, ignoring case.
    pub unique_words: usize,
    /// Sentences, at least one for a text with words.
    pub sentences: usize,
    /// Blocks of text separated by a blank line.
    pub paragraphs: usize,
    /// In characters, to one decimal.
    pub average_word_length: f64,
    /// Flesch reading ease: 90+ very easy, 60-70 plain English, below 30 very hard.
    pub reading_ease: f64,
    /// At 230 words per minute.
    pub reading_time_seconds: u64,
    /// The most frequent words, most frequent first (ties alphabetical).
    pub top_words: Vec<(String, usize)>,
}

impl TextStatistics {
    /// Measures `text`.
    pub fn of(text: &str) -> Self {
        let all = words(text);
        let mut frequency: HashMap<String, usize> = HashMap::new();
        for word in &all {
            *frequency.entry(word.to_lowercase()).or_default() += 1;
        }
        let sentences = text
            .split(['.', '!', '?'])
            .filter(|s| s.chars().any(char::is_alphanumeric))
            .count()
            .max(usize::from(!all.is_empty()));
        let paragraphs = text.split("\n\n").filter(|p| !p.trim().is_empty()).count();
        let letters: usize = all.iter().map(|w| w.chars().count()).sum();
        let syllable_count: usize = all.iter().map(|w| syllables(w)).sum();
        let word_count = all.len();
        let (average_word_length, reading_ease) = if word_count == 0 {
            (0.0, 0.0)
        } else {
            let words_f = word_count as f64;
            let ease = 206.835
                - 1.015 * (words_f / sentences as f64)
                - 84.6 * (syllable_count as f64 / words_f);
            (round1(letters as f64 / words_f), round1(ease))
        };
        let mut top_words: Vec<(String, usize)> = frequency.into_iter().collect();
        top_words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let unique_words = top_words.len();
        top_words.truncate(5);
        TextStatistics {
            characters: text.chars().count(),
            characters_without_spaces: text.chars().filter(|c| !c.is_whitespace()).count(),
            words: word_count,
            unique_words,
            sentences,
            paragraphs,
            average_word_length,
            reading_ease,
            reading_time_seconds: ((word_count as f64 / 230.0) * 60.0).ceil() as u64,
            top_words,
        }
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_keeping_inner_apostrophes() {
        assert_eq!(
            words("Don't stop—'now', ok?"),
            vec!["Don't", "stop", "now", "ok"]
        );
    }

    #[test]
    fn measures_a_text() {
        let stats = TextStatistics::of("The cat sat. The cat ran!\n\nA dog barked?");
        assert_eq!(stats.words, 9);
        assert_eq!(stats.sentences, 3);
        assert_eq!(stats.paragraphs, 2);
        assert_eq!(stats.unique_words, 7);
        assert_eq!(stats.top_words[0], ("cat".to_owned(), 2));
        assert_eq!(stats.top_words[1], ("the".to_owned(), 2));
        assert!(
            stats.reading_ease > 90.0,
            "short words read easily: {}",
            stats.reading_ease
        );
    }

    #[test]
    fn empty_text_has_no_words() {
        let stats = TextStatistics::of("   ");
        assert_eq!(stats.words, 0);
        assert_eq!(stats.sentences, 0);
    }
}
