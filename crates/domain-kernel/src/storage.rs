//! Failures of the stores behind ports.

/// What kind of storage failure happened, so callers can choose between "try again later"
/// (unavailable) and "this is a bug" (everything else).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
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
    /// The kind of failure, which decides how callers react.
    pub failure: StorageFailure,
    /// What failed, for logs; never shown to visitors.
    pub message: String,
    /// The adapter's own error, kept for logs.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StorageError {
    /// A failure with no underlying error to keep.
    pub fn new(failure: StorageFailure, message: impl Into<String>) -> Self {
        StorageError {
            failure,
            message: message.into(),
            source: None,
        }
    }

    /// A failure that wraps the adapter's own error.
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

    /// Stored data that does not parse back into domain types: a bug or a hand-edited row, never
    /// a reason to retry.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(StorageFailure::Corrupt, message)
    }

    /// Whether trying again later may work.
    pub fn is_unavailable(&self) -> bool {
        self.failure == StorageFailure::Unavailable
    }
}
