//! Users and roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{AccountLoginState, Email, PasswordHash, Profile};

/// A user's identity, stable for life (time-ordered UUID).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserId(Uuid);

impl UserId {
    /// A new id for a new account; time-ordered, so ids sort by sign-up.
    pub fn generate() -> Self {
        UserId(Uuid::now_v7())
    }
    /// The id stored under this UUID (read back from storage or a session).
    pub fn from_uuid(id: Uuid) -> Self {
        UserId(id)
    }
    /// The UUID, for storage and for ids in other domains (a credit account has its user's id).
    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

impl FromStr for UserId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(UserId)
    }
}

/// What a user may do.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Uses the app: services, credits, billing, API keys.
    User,
    /// Also administers: users, credits, payments, the audit log.
    Admin,
}

impl Role {
    /// The name stored in the database and shown in the admin.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// A display name: trimmed, at most 100 characters, may be empty.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct DisplayName(String);

/// Why a text is not a display name we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DisplayNameError {
    /// The name is longer than [`DisplayName::MAX_CHARS`].
    #[error("a name is at most {max} characters")]
    TooLong {
        /// The longest name accepted, in characters.
        max: usize,
    },
    /// Control characters (newlines, escapes) would break the pages and emails that greet the user.
    #[error("a name cannot contain control characters")]
    Control,
}

impl DisplayName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Trims the text and checks its length and characters.
    pub fn parse(text: &str) -> Result<Self, DisplayNameError> {
        let text = text.trim();
        if text.chars().count() > Self::MAX_CHARS {
            return Err(DisplayNameError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if text.chars().any(char::is_control) {
            return Err(DisplayNameError::Control);
        }
        Ok(DisplayName(text.to_owned()))
    }

    /// The name, trimmed; empty when the user gave none.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the user gave no name (greetings then use the email).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A registered user.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct User {
    /// Stable for life; the credit account and payments refer to it.
    pub id: UserId,
    /// The sign-in address, unique among accounts.
    pub email: Email,
    /// The password's salted hash; the password itself is never stored.
    pub password_hash: PasswordHash,
    /// What the user may do.
    pub role: Role,
    /// The name the user chose, possibly empty.
    pub display_name: DisplayName,
    /// False once an admin deactivated the account or it was deleted: it can no longer sign in.
    pub is_active: bool,
    /// When the user proved they own the email; `None` until then.
    pub email_verified_at: Option<OffsetDateTime>,
    /// When the account was registered.
    pub created_at: OffsetDateTime,
    /// Failed sign-ins on the account from every client.
    pub login: AccountLoginState,
    /// The optional fields the user tells about themselves.
    pub profile: Profile,
    /// When the account was set up: its credit account opened and its welcome credits granted
    /// (or none, when none were configured). `None` while a registration is unfinished (the
    /// process stopped in between), so that the next sign-in finishes it.
    pub onboarded_at: Option<OffsetDateTime>,
    /// Set when the account was deleted: its personal data is gone, its records stay.
    pub deleted_at: Option<OffsetDateTime>,
}

impl User {
    /// Whether the user may use the admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the user proved they own their email.
    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    /// The name to greet the user with: their display name, or their email.
    pub fn greeting_name(&self) -> &str {
        if self.display_name.is_empty() {
            self.email.as_str()
        } else {
            self.display_name.as_str()
        }
    }
}
