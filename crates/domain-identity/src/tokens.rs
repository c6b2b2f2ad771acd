//! Single-use tokens for email verification, password reset and email change: random, stored
//! only as a hash, single use, expiring.

use async_trait::async_trait;
use quickscale_domain_kernel::StorageError;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::UserId;

/// What a token proves.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenPurpose {
    /// Proves the user can read mail sent to their address.
    VerifyEmail,
    /// Lets the user set a new password without the old one.
    ResetPassword,
    /// Confirms a new email address; the token carries the address.
    ChangeEmail,
}

impl TokenPurpose {
    /// The name stored with the token.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
            TokenPurpose::ChangeEmail => "change_email",
        }
    }

    /// The purpose stored under `text`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        [
            TokenPurpose::VerifyEmail,
            TokenPurpose::ResetPassword,
            TokenPurpose::ChangeEmail,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }
}

/// The hash under which a token is stored: SHA-256 of the token, hex. The token itself only
/// exists in the link we email.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// A stored token (without the token itself).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TokenRecord {
    /// Whose token it is.
    pub user: UserId,
    /// What it may be used for; a token of one purpose never passes for another.
    pub purpose: TokenPurpose,
    /// Extra data: the new address for an email change.
    pub payload: Option<String>,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// After this instant the token is refused.
    pub expires_at: OffsetDateTime,
}

/// The token store.
#[async_trait]
pub trait TokenRepository: Send + Sync {
    /// Stores a new token under its hash.
    async fn issue(&self, hash: &str, record: &TokenRecord) -> Result<(), StorageError>;
    /// Uses a token up, atomically: returns its record if it exists, has this purpose, is
    /// unused and unexpired at `now`; afterwards it can never be used again.
    async fn consume(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StorageError>;
    /// The record `consume` would return at `now`, without using the token up (for the page a
    /// link opens, before its form is sent).
    async fn find(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StorageError>;
    /// Makes every unused token of the user for `purpose` unusable.
    async fn revoke_all(&self, user: UserId, purpose: TokenPurpose) -> Result<u64, StorageError>;
    /// How many tokens were issued to the user for `purpose` since `since` (for rate limits).
    async fn issued_since(
        &self,
        user: UserId,
        purpose: TokenPurpose,
        since: OffsetDateTime,
    ) -> Result<u64, StorageError>;
}
