//! API keys: a user's named, revocable credentials for the JSON API. The key itself is shown
//! once, when it is made; only its SHA-256 hash and a short prefix (to recognise it in a list)
//! are stored.

use async_trait::async_trait;
use quickscale_domain_credits::Credits;
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
    /// The limits its owner chose for it, within the bounds of their plan.
    pub limits: KeyLimits,
}

/// What a key may do, as its owner chose (each `None`: the plan's bound applies).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
pub struct KeyLimits {
    /// Requests a minute.
    pub per_minute: Option<u32>,
    /// Credits a calendar month (UTC) spent by the key's runs.
    pub monthly_credits: Option<Credits>,
}

/// The bounds of a user's keys: their plan's API limits, or the app's defaults without a plan.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct ApiBounds {
    /// Requests a minute, per key.
    pub per_minute: u32,
    /// Credits a calendar month (UTC) spent through the API, all keys together; `None`: no
    /// bound.
    pub monthly_credits: Option<Credits>,
}

impl ApiBounds {
    /// The rate a key gets: its own, but never above the bound (a plan changed since the key's
    /// limits were set applies at once).
    pub fn per_minute_of(&self, key: &KeyLimits) -> u32 {
        key.per_minute
            .map_or(self.per_minute, |own| own.min(self.per_minute))
    }

    /// The limits `asked`, when they are within these bounds.
    pub fn allow(&self, asked: KeyLimits) -> Result<KeyLimits, KeyLimitError> {
        if let Some(rate) = asked.per_minute {
            if rate == 0 {
                return Err(KeyLimitError::ZeroRate);
            }
            if rate > self.per_minute {
                return Err(KeyLimitError::RateAboveBound {
                    asked: rate,
                    bound: self.per_minute,
                });
            }
        }
        if let (Some(cap), Some(bound)) = (asked.monthly_credits, self.monthly_credits)
            && cap > bound
        {
            return Err(KeyLimitError::CapAboveBound { asked: cap, bound });
        }
        Ok(asked)
    }
}

/// Why a key's limits were refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLimitError {
    /// A rate of zero would make the key useless; revoke it instead.
    #[error("a key's rate must be at least 1 request a minute (revoke a key to stop it)")]
    ZeroRate,
    /// Above the plan's rate.
    #[error("your plan allows at most {bound} requests a minute per key, not {asked}")]
    RateAboveBound {
        /// What was asked.
        asked: u32,
        /// The plan's bound.
        bound: u32,
    },
    /// Above the plan's monthly bound.
    #[error(
        "your plan allows at most {} a month through the API, so a key's cap cannot be {}",
        .bound.with_unit(), .asked.with_unit()
    )]
    CapAboveBound {
        /// What was asked.
        asked: Credits,
        /// The plan's bound.
        bound: Credits,
    },
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
    /// Sets the limits of one of the user's active keys; `false` when the user has no such
    /// active key.
    async fn set_limits(
        &self,
        user: UserId,
        id: ApiKeyId,
        limits: KeyLimits,
    ) -> Result<bool, StorageError>;
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
    fn a_keys_limits_stay_within_the_plans_bounds() {
        let bounds = ApiBounds {
            per_minute: 120,
            monthly_credits: Some(Credits::whole(500)),
        };
        let asked = KeyLimits {
            per_minute: Some(120),
            monthly_credits: Some(Credits::whole(500)),
        };
        assert_eq!(bounds.allow(asked), Ok(asked));
        assert_eq!(bounds.allow(KeyLimits::default()), Ok(KeyLimits::default()));
        assert_eq!(
            bounds.allow(KeyLimits {
                per_minute: Some(121),
                ..asked
            }),
            Err(KeyLimitError::RateAboveBound {
                asked: 121,
                bound: 120
            })
        );
        assert_eq!(
            bounds.allow(KeyLimits {
                per_minute: Some(0),
                ..asked
            }),
            Err(KeyLimitError::ZeroRate)
        );
        let over = bounds
            .allow(KeyLimits {
                monthly_credits: Some(Credits::whole(501)),
                ..asked
            })
            .unwrap_err();
        assert_eq!(
            over.to_string(),
            "your plan allows at most 500 credits a month through the API, so a key's cap cannot be 501 credits"
        );
        // Without a monthly bound, any cap is allowed.
        let unbounded = ApiBounds {
            monthly_credits: None,
            ..bounds
        };
        assert!(
            unbounded
                .allow(KeyLimits {
                    monthly_credits: Some(Credits::whole(1_000_000)),
                    per_minute: None
                })
                .is_ok()
        );
        // A key's rate above a plan lowered since is cut to the plan's.
        assert_eq!(
            bounds.per_minute_of(&KeyLimits {
                per_minute: Some(300),
                monthly_credits: None
            }),
            120
        );
        assert_eq!(
            bounds.per_minute_of(&KeyLimits {
                per_minute: Some(30),
                monthly_credits: None
            }),
            30
        );
        assert_eq!(bounds.per_minute_of(&KeyLimits::default()), 120);
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
