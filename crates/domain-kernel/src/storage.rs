//! Failures of the stores behind ports.

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
