//! Errors of the credit ledger.

use crate::{
    AccountId, AmountError, EntryId, EntryKind, IdempotencyKey, InsufficientCredits, SourceRef,
};

/// What kind of storage failure happened, so callers can choose between "try again later"
/// (unavailable) and "this is a bug" (everything else).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StorageFailure {
    /// The store cannot be reached right now (connection refused, pool timeout, shutting down).
    Unavailable,
    /// Stored data could not be read back into domain types.
    Corrupt,
    /// Anything else.
    Other,
}

/// A failure of the store behind a port. Adapters wrap their own errors in it.
#[derive(Debug, thiserror::Error)]
#[error("storage {failure:?}: {message}")]
pub struct StorageError {
    pub failure: StorageFailure,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StorageError {
    pub fn new(failure: StorageFailure, message: impl Into<String>) -> Self {
        StorageError {
            failure,
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(
        failure: StorageFailure,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StorageError {
            failure,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(StorageFailure::Corrupt, message)
    }

    pub fn is_unavailable(&self) -> bool {
        self.failure == StorageFailure::Unavailable
    }
}

/// Why a credit operation did not happen. Whenever one of these is returned, nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    #[error(transparent)]
    Insufficient(#[from] InsufficientCredits),
    #[error("no credit account exists for {0}")]
    AccountNotFound(AccountId),
    #[error("the idempotency key {0} was already used for a different operation")]
    IdempotencyConflict(IdempotencyKey),
    #[error("ledger entry {0} does not exist on this account")]
    EntryNotFound(EntryId),
    #[error("ledger entry {entry} records a {kind} and cannot be reversed")]
    NotReversible { entry: EntryId, kind: EntryKind },
    #[error("ledger entry {entry} was already reversed by entry {by}")]
    AlreadyReversed { entry: EntryId, by: EntryId },
    #[error("no grant on this account comes from {0}")]
    UnknownSource(SourceRef),
    #[error("credits from {0} were already granted to this account")]
    DuplicateSource(SourceRef),
    #[error("the expiry must be in the future")]
    ExpiryInPast,
    #[error("invalid amount: {0}")]
    Amount(#[from] AmountError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}
