//! How pages and messages word numbers, one way each: counts with their noun ("1 user",
//! "3 users"), dates ("2026-04-01", "2026-04-01 12:00 UTC"). Credit amounts are
//! `Credits::with_unit` ("1 credit", "2.50 credits"), shared with the domain; money is
//! `Money`'s `Display` ("$5.00"). Templates reach the same functions through the `plural` and
//! `credits` filters (`templates.rs`).

use std::fmt::Display;

use time::OffsetDateTime;

/// `count` with its noun: "1 user", "0 users", "2 users" (`one` for exactly one, `many`
/// otherwise). `count` may be a decimal written as text: "1.00" is one.
pub fn plural(count: impl Display, one: &str, many: &str) -> String {
    let count = count.to_string();
    format!("{count} {}", noun(&count, one, many))
}

/// The noun alone, for a count shown apart from it: `one` when `count` is exactly one.
pub fn noun<'a>(count: &str, one: &'a str, many: &'a str) -> &'a str {
    if is_one(count) { one } else { many }
}

/// "1", "1.0", "1.00", " 1 ", "+1": one; anything else (0, 2, 1.5, -1, text) is not.
fn is_one(count: &str) -> bool {
    let count = count.trim();
    let count = count.strip_prefix('+').unwrap_or(count);
    match count.split_once('.') {
        Some((whole, fraction)) => whole == "1" && fraction.bytes().all(|b| b == b'0'),
        None => count == "1",
    }
}

/// A message for people as a sentence: its first letter capitalised and one full stop at the
/// end ("the amount cannot be negative" → "The amount cannot be negative."). Domain errors are
/// worded as lower-case phrases; every form error and refusal the web shows goes through this.
pub fn sentence(message: impl Display) -> String {
    let message = message.to_string();
    let message = message.trim().trim_end_matches('.');
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => {
            let end = if message.ends_with(['?', '!']) {
                ""
            } else {
                "."
            };
            format!("{}{}{end}", first.to_uppercase(), chars.as_str())
        }
        None => String::new(),
    }
}

/// `2026-04-01 12:00 UTC`: when something happened.
pub fn date_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// `2026-04-01`: a day (a renewal, an account's creation).
pub fn date(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{}-{:02}-{:02}", at.year(), u8::from(at.month()), at.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_everything_else_plural() {
        assert_eq!(plural(1, "user", "users"), "1 user");
        assert_eq!(plural(0, "user", "users"), "0 users");
        assert_eq!(plural(2, "key", "keys"), "2 keys");
        assert_eq!(plural("1.00", "credit", "credits"), "1.00 credit");
        assert_eq!(plural("1.50", "credit", "credits"), "1.50 credits");
        assert_eq!(plural("11", "run", "runs"), "11 runs");
        assert_eq!(plural("-1", "run", "runs"), "-1 runs");
        assert_eq!(plural("10", "run", "runs"), "10 runs");
        assert_eq!(noun("1", "device", "devices"), "device");
        assert_eq!(noun("", "device", "devices"), "devices");
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(
            sentence("the amount cannot be negative"),
            "The amount cannot be negative."
        );
        assert_eq!(sentence("Already a sentence."), "Already a sentence.");
        assert_eq!(
            sentence("enter an email address "),
            "Enter an email address."
        );
        assert_eq!(sentence("élan"), "Élan.");
        assert_eq!(sentence("really?"), "Really?");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn dates_read_in_utc() {
        let at = time::macros::datetime!(2026-04-01 23:30 -02:00);
        assert_eq!(date_time(at), "2026-04-02 01:30 UTC");
        assert_eq!(date(at), "2026-04-02");
    }
}
