//! The one trait a service implements.

use std::time::Duration;

use async_trait::async_trait;

use crate::{InputError, ServiceDescriptor, ServiceInput, ServiceOutput};

/// Why a run failed. Every failure refunds the charge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The input passed the generic checks but the service cannot use it
    /// (detected before any work; still refunded).
    #[error(transparent)]
    Input(#[from] InputError),
    /// Something the service depends on failed (an upstream API, a model).
    #[error("{0}")]
    Upstream(String),
    /// A bug or an unexpected state in the service.
    #[error("{0}")]
    Internal(String),
    /// A background run stopped because its user cancelled it (its progress report said so).
    #[error("the run was cancelled")]
    Cancelled,
}

/// A paid (or free) service users can run.
///
/// ```
/// use async_trait::async_trait;
/// use quickscale_service_sdk::{Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput};
///
/// struct Shout;
///
/// #[async_trait]
/// impl Service for Shout {
///     fn descriptor(&self) -> ServiceDescriptor {
///         ServiceDescriptor::new("shout", "Shout").description("Upper-cases text").free()
///     }
///
///     async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
///         let text = input.as_text().unwrap_or_default();
///         Ok(ServiceOutput::new(text.to_uppercase()))
///     }
/// }
/// ```
#[async_trait]
pub trait Service: Send + Sync {
    /// The service's identity, price and limits; read once, when the service is registered.
    fn descriptor(&self) -> ServiceDescriptor;

    /// Service-specific input checks, run before anything is charged.
    fn validate(&self, input: &ServiceInput) -> Result<(), InputError> {
        let _ = input;
        Ok(())
    }

    /// Does the work. CPU-heavy services should move their work off the async executor.
    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError>;

    /// Does the work of a background run (see [`crate::RunMode::Background`]): report progress
    /// and, for a service priced by what it uses, the actual cost through `context`. The
    /// default runs [`Service::execute`] and reports nothing.
    async fn execute_background(
        &self,
        input: ServiceInput,
        context: &crate::RunContext,
    ) -> Result<ServiceOutput, ServiceError> {
        let _ = context;
        self.execute(input).await
    }
}

/// Sleeps: the runner's timeouts use it, so the SDK needs no async runtime of its own.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Timer: Send + Sync {
    /// Completes once `duration` has passed.
    async fn sleep(&self, duration: Duration);
}
