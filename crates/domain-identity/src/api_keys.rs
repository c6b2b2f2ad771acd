//! API keys: a user's named, revocable credentials for the JSON API. The key itself is shown
//! once, when it is made; only its SHA-256 hash and a short prefix (to recognise it in a list)
//! are stored.

use async_trait::async_trait;
use quickscale_domain_kernel::StorageError;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::UserId;

/// What every key starts with, so that a leaked key is recognisable (secret scanners, logs).
pub const API_KEY_PREFIX: &str = "qs_";
/// How many characters of a key are kept to show in lists: the `qs_` prefix and 8 more.
pub const API_KEY_SHOWN: usize = API_KEY_PREFIX.len() + 8;
/// How many active keys one user may hold.
pub const MAX_ACTIVE_KEYS: u64 = 10;
/// The longest key name.
pub const MAX_KEY_NAME: usize = 60;

/// A key's id, shown in the key list and used to revoke it; the key's secret is not derived
/// from it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct ApiKeyId(pub Uuid);

impl ApiKeyId {
    /// The id written in `text` (a revoke form's field); `None` if it is not a UUID.
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok().map(Self)
    }
}

impl std::fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A stored key (never the key itself).
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ApiKey {
    /// The key's id.
    pub id: ApiKeyId,
    /// Whose key it is: requests made with it act as this user.
    pub user: UserId,
    /// What the user called it ("CI", "laptop"), to tell keys apart.
    pub name: String,
    /// The key's first characters (`qs_` and 8 more), to tell keys apart.
    pub shown: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When a request last authenticated with it, to spot keys nobody uses.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked; a revoked key stays listed but authenticates nothing.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiKey {
    /// Whether the key still authenticates.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// Why a key cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// The name is empty, too long or has control characters.
    #[error("give the key a name (at most {MAX_KEY_NAME} characters)")]
    BadName,
    /// The user already holds [`MAX_ACTIVE_KEYS`] active keys.
    #[error("you already have {MAX_ACTIVE_KEYS} active keys; revoke one first")]
    TooMany,
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A checked key name: trimmed, 1 to [`MAX_KEY_NAME`] characters, no control characters.
pub fn key_name(text: &str) -> Result<String, ApiKeyError> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > MAX_KEY_NAME || name.chars().any(char::is_control)
    {
        return Err(ApiKeyError::BadName);
    }
    Ok(name.to_owned())
}

/// The hash under which a key is stored: SHA-256 of the key, hex. Keys are long random strings,
/// so a fast hash is enough (no password hashing).
pub fn api_key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.trim().as_bytes()))
}

/// Whether `text` has the shape of one of our keys (checked before any lookup).
pub fn looks_like_api_key(text: &str) -> bool {
    text.len() > API_KEY_SHOWN
        && text.len() <= 100
        && text.starts_with(API_KEY_PREFIX)
        && text[API_KEY_PREFIX.len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
}

/// The key store.
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    /// Stores a new key under `hash`, unless the user already holds `max_active` active keys
    /// (checked in the same transaction: two requests at once cannot both pass).
    async fn create(&self, key: &ApiKey, hash: &str, max_active: u64) -> Result<(), ApiKeyError>;
    /// The active key stored under `hash`, its last use set to `now` (written at most once a
    /// minute, so that busy keys do not write on every request).
    async fn authenticate(
        &self,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ApiKey>, StorageError>;
    /// The user's keys, active and revoked, newest first.
    async fn list(&self, user: UserId) -> Result<Vec<ApiKey>, StorageError>;
    /// Revokes one of the user's keys; `false` when the user has no such active key.
    async fn revoke(
        &self,
        user: UserId,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError>;
    /// Revokes every active key of the user (account deletion); returns how many.
    async fn revoke_all(&self, user: UserId, now: OffsetDateTime) -> Result<u64, StorageError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(key_name("  CI deploys ").unwrap(), "CI deploys");
        for bad in ["   ", &"x".repeat(61), "a\u{0}b"] {
            assert!(matches!(key_name(bad), Err(ApiKeyError::BadName)), "{bad}");
        }
        assert!(key_name(&"é".repeat(60)).is_ok(), "characters, not bytes");
    }

    #[test]
    fn only_key_shaped_text_is_looked_up() {
        assert!(looks_like_api_key("qs_abcdEFGH12345678"));
        for bad in [
            "",
            "qs_",
            "qs_abcdefgh",
            "sk_abcdEFGH12345678",
            "qs_abcd-EFGH12345678",
            &format!("qs_{}", "a".repeat(100)),
        ] {
            assert!(!looks_like_api_key(bad), "{bad}");
        }
        assert_eq!(api_key_hash(" qs_x "), api_key_hash("qs_x"));
        assert_ne!(api_key_hash("qs_x"), api_key_hash("qs_y"));
    }
}
