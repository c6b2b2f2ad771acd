//! Passwords: a secret wrapper, the policy for new ones, and the stored hash.

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use crate::Email;

/// A password as typed. Never printed, never serialised.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Longer inputs are cut off before hashing work is spent on them.
    pub const MAX_LEN: usize = 128;

    /// Wraps a password typed at sign-in; only the length is bounded.
    pub fn new(text: impl Into<String>) -> Self {
        let mut text: String = text.into();
        if text.len() > Self::MAX_LEN * 4 {
            text.truncate(text.floor_char_boundary(Self::MAX_LEN * 4));
        }
        Password(text)
    }

    /// The secret itself, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Why a new password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Shorter than the policy's minimum.
    #[error("use at least {min} characters")]
    TooShort {
        /// The policy's minimum length, in characters.
        min: usize,
    },
    /// Longer than the policy's maximum.
    #[error("use at most {max} characters")]
    TooLong {
        /// The policy's maximum length, in characters.
        max: usize,
    },
    /// The password is on the list of the most common ones, which guessers try first.
    #[error("this password is one of the most common ones; choose another")]
    Common,
    /// The password is the email or its local part, the first thing a guesser tries.
    #[error("the password cannot be your email address")]
    SameAsEmail,
    /// The confirmation differs from the password.
    #[error("the two passwords do not match")]
    Mismatch,
}

/// The rules for new passwords: length bounds and a list of the most common ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// The fewest characters a new password may have.
    pub min_len: usize,
    /// The most characters a new password may have (hashing a huge password is a denial of
    /// service).
    pub max_len: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_len: 8,
            max_len: Password::MAX_LEN,
        }
    }
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

impl PasswordPolicy {
    /// Checks a new password (and its confirmation) against the policy.
    pub fn check(
        &self,
        password: &str,
        confirmation: &str,
        email: Option<&Email>,
    ) -> Result<Password, PasswordError> {
        let length = password.chars().count();
        if length < self.min_len {
            return Err(PasswordError::TooShort { min: self.min_len });
        }
        if length > self.max_len {
            return Err(PasswordError::TooLong { max: self.max_len });
        }
        if password != confirmation {
            return Err(PasswordError::Mismatch);
        }
        let lowered = password.to_lowercase();
        if common_passwords().contains(lowered.as_str()) {
            return Err(PasswordError::Common);
        }
        if let Some(email) = email
            && (lowered == email.as_str() || lowered == email.local_part())
        {
            return Err(PasswordError::SameAsEmail);
        }
        Ok(Password(password.to_owned()))
    }
}

/// A password hash in PHC string format (`$argon2id$v=19$...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// A hash read back from storage.
    pub fn from_phc(phc: impl Into<String>) -> Self {
        PasswordHash(phc.into())
    }

    /// The hash in PHC form, for storage and for the hasher.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_length_confirmation_and_common_list() {
        let policy = PasswordPolicy::default();
        let email = Email::parse("ada@example.com").unwrap();
        assert_eq!(
            policy.check("short", "short", None).unwrap_err(),
            PasswordError::TooShort { min: 8 }
        );
        assert_eq!(
            policy
                .check("Password123", "Password123", None)
                .unwrap_err(),
            PasswordError::Common
        );
        assert_eq!(
            policy
                .check("long enough", "long enougH", None)
                .unwrap_err(),
            PasswordError::Mismatch
        );
        assert_eq!(
            policy
                .check("ada@example.com", "ada@example.com", Some(&email))
                .unwrap_err(),
            PasswordError::SameAsEmail
        );
        let long = "x".repeat(129);
        assert_eq!(
            policy.check(&long, &long, None).unwrap_err(),
            PasswordError::TooLong { max: 128 }
        );
        assert!(
            policy
                .check(
                    "correct horse battery",
                    "correct horse battery",
                    Some(&email)
                )
                .is_ok()
        );
    }

    #[test]
    fn secrets_are_not_printed() {
        assert_eq!(format!("{:?}", Password::new("hunter2")), "Password(***)");
        assert_eq!(
            format!("{:?}", PasswordHash::from_phc("$argon2id$x")),
            "PasswordHash(***)"
        );
    }
}
