//! Identifiers and keys of the credit ledger.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The credit account of one user (the same UUID as the user).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountId(Uuid);

impl AccountId {
    /// The account of the user with this id.
    pub fn new(id: Uuid) -> Self {
        AccountId(id)
    }
    /// The UUID, for storage and for finding the user.
    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.0)
    }
}

macro_rules! sequence_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

sequence_id!(
    /// A grant (lot of credits), numbered by the store.
    GrantId
);
sequence_id!(
    /// A ledger entry, numbered by the store in the order entries were written.
    EntryId
);

/// Why a key or reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Nothing was given.
    #[error("{what} cannot be empty")]
    Empty {
        /// Which kind of key, for the message.
        what: &'static str,
    },
    /// Longer than the kind's limit.
    #[error("{what} is longer than {max} characters")]
    TooLong {
        /// Which kind of key, for the message.
        what: &'static str,
        /// The limit, in bytes (the text is ASCII).
        max: usize,
    },
    /// Non-ASCII, control characters, or a space at either end: such a key would not survive
    /// an HTTP header or a log line unchanged, and its replay would miss.
    #[error("{what} may only contain ASCII letters, digits, punctuation and spaces between them")]
    NotPrintable {
        /// Which kind of key, for the message.
        what: &'static str,
    },
}

fn printable_ascii(what: &'static str, text: &str, max: usize) -> Result<(), KeyError> {
    if text.is_empty() {
        return Err(KeyError::Empty { what });
    }
    if text.len() > max {
        return Err(KeyError::TooLong { what, max });
    }
    // Spaces inside ("order 17") are part of the key; at either end they would be lost by
    // any trimming on the way (an HTTP header's are), so they are refused there.
    let is_space = |b: &u8| *b == b' ';
    if !text.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        || text.bytes().next().as_ref().is_some_and(is_space)
        || text.bytes().last().as_ref().is_some_and(is_space)
    {
        return Err(KeyError::NotPrintable { what });
    }
    Ok(())
}

/// Names one intended change. Repeating an operation with the same key returns the first
/// result and changes nothing, so retries (a double-clicked form, a redelivered webhook) are safe.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest key, in bytes.
    pub const MAX_LEN: usize = 200;

    /// Accepts printable ASCII with spaces only between words, at most [`Self::MAX_LEN`] long.
    pub fn parse(key: impl Into<String>) -> Result<Self, KeyError> {
        let key = key.into();
        printable_ascii("an idempotency key", &key, Self::MAX_LEN)?;
        Ok(IdempotencyKey(key))
    }

    /// The key as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a grant came from: `signup`, `payment:pi_123`, `invoice:in_9`, `admin:<uuid>` ...
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct SourceRef(String);

impl SourceRef {
    /// The longest reference, in bytes.
    pub const MAX_LEN: usize = 200;

    /// Accepts printable ASCII with spaces only between words, at most [`Self::MAX_LEN`] long.
    pub fn parse(source: impl Into<String>) -> Result<Self, KeyError> {
        let source = source.into();
        printable_ascii("a source reference", &source, Self::MAX_LEN)?;
        Ok(SourceRef(source))
    }

    /// The reference as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a change was made, in words an admin reading the ledger understands.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Reason(String);

/// Why a reason was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReasonError {
    /// Nothing but spaces: every change must say why, for whoever reads the ledger later.
    #[error("a reason is required")]
    Empty,
    /// Longer than [`Reason::MAX_CHARS`].
    #[error("the reason is longer than {max} characters")]
    TooLong {
        /// The longest reason, in characters.
        max: usize,
    },
}

impl Reason {
    /// The longest reason, in characters.
    pub const MAX_CHARS: usize = 500;

    /// Trims the text and requires 1 to [`Self::MAX_CHARS`] characters.
    pub fn parse(reason: impl AsRef<str>) -> Result<Self, ReasonError> {
        let reason = reason.as_ref().trim();
        if reason.is_empty() {
            return Err(ReasonError::Empty);
        }
        if reason.chars().count() > Self::MAX_CHARS {
            return Err(ReasonError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        Ok(Reason(reason.to_owned()))
    }

    /// The reason, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who made a change.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Actor {
    /// The application itself (sign-up bonus, expiry, service runner).
    System,
    /// The account holder.
    User(Uuid),
    /// An administrator acting on the account.
    Admin(Uuid),
    /// The payment processor, through a verified webhook.
    PaymentProcessor,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Admin(id) => write!(f, "admin:{id}"),
            Actor::PaymentProcessor => f.write_str("payments"),
        }
    }
}

impl std::str::FromStr for Actor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse_id = |id: &str| Uuid::parse_str(id).map_err(|e| format!("bad actor id: {e}"));
        match s.split_once(':') {
            None if s == "system" => Ok(Actor::System),
            None if s == "payments" => Ok(Actor::PaymentProcessor),
            Some(("user", id)) => Ok(Actor::User(parse_id(id)?)),
            Some(("admin", id)) => Ok(Actor::Admin(parse_id(id)?)),
            _ => Err(format!("unknown actor {s:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_printable_and_bounded() {
        assert!(IdempotencyKey::parse("run:1").is_ok());
        assert_eq!(
            IdempotencyKey::parse(""),
            Err(KeyError::Empty {
                what: "an idempotency key"
            })
        );
        assert!(IdempotencyKey::parse("order 17 of ada").is_ok());
        for bad in [" a", "a ", "a\tb", "a\nb", "clé"] {
            let refused = IdempotencyKey::parse(bad).unwrap_err();
            assert!(matches!(refused, KeyError::NotPrintable { .. }), "{bad:?}");
            assert_eq!(
                refused.to_string(),
                "an idempotency key may only contain ASCII letters, digits, punctuation and spaces between them"
            );
        }
        assert!(matches!(
            IdempotencyKey::parse("x".repeat(201)),
            Err(KeyError::TooLong { .. })
        ));
    }

    #[test]
    fn actors_round_trip_through_text() {
        let id = Uuid::now_v7();
        for actor in [
            Actor::System,
            Actor::User(id),
            Actor::Admin(id),
            Actor::PaymentProcessor,
        ] {
            assert_eq!(actor.to_string().parse::<Actor>(), Ok(actor));
        }
        assert!("robot".parse::<Actor>().is_err());
    }

    #[test]
    fn reasons_are_trimmed_and_required() {
        assert_eq!(Reason::parse("  goodwill ").unwrap().as_str(), "goodwill");
        assert_eq!(Reason::parse("   "), Err(ReasonError::Empty));
    }
}
