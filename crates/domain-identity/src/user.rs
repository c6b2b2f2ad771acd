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
    pub fn generate() -> Self {
        UserId(Uuid::now_v7())
    }
    pub fn from_uuid(id: Uuid) -> Self {
        UserId(id)
    }
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
    User,
    Admin,
}

impl Role {
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    #[error("a name is at most {max} characters")]
    TooLong { max: usize },
    #[error("a name cannot contain control characters")]
    Control,
}

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

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

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A registered user.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub password_hash: PasswordHash,
    pub role: Role,
    pub display_name: DisplayName,
    pub is_active: bool,
    pub email_verified_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// Failed sign-ins on the account from every client.
    pub login: AccountLoginState,
    pub profile: Profile,
    /// When the account was set up: its credit account opened and its welcome credits granted
    /// (or none, when none were configured). `None` while a registration is unfinished (the
    /// process stopped in between), so that the next sign-in finishes it.
    pub onboarded_at: Option<OffsetDateTime>,
    /// Set when the account was deleted: its personal data is gone, its records stay.
    pub deleted_at: Option<OffsetDateTime>,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

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
