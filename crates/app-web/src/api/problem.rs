//! Errors as problem details (RFC 9457, `application/problem+json`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quickscale_domain_kernel::StorageError;
use serde::Serialize;

use crate::error::AppError;

/// An API error: a status, a short title, what to do about it, and a stable machine-readable
/// `code`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiProblem {
    #[serde(skip)]
    #[schema(ignore)]
    pub status: StatusCode,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    #[serde(rename = "status")]
    pub status_code: u16,
    pub detail: String,
    pub code: &'static str,
    /// Extra fields (for example `required` and `available` credits).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub extra: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    #[serde(skip)]
    #[schema(ignore)]
    retry_after: Option<u64>,
}

impl ApiProblem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiProblem {
            status,
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status_code: status.as_u16(),
            detail: detail.into(),
            code,
            extra: None,
            retry_after: None,
        }
    }

    pub fn with(mut self, field: &str, value: impl Serialize) -> Self {
        self.extra.get_or_insert_default().insert(
            field.to_owned(),
            serde_json::to_value(value).unwrap_or_default(),
        );
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No such {what}."),
        )
    }

    pub fn unauthorized(detail: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail)
    }

    /// Too many requests with one key: retry after `wait_seconds`.
    pub fn too_many(wait_seconds: u64) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many requests with this key; retry in {wait_seconds} s."),
        );
        problem.retry_after = Some(wait_seconds);
        problem
    }

    /// Too many requests with keys not known to be valid from this client address: retry
    /// after `wait_seconds`.
    pub fn too_many_unknown_keys(wait_seconds: u64) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "Too many requests with unknown API keys from this address; retry in {wait_seconds} s."
            ),
        );
        problem.retry_after = Some(wait_seconds);
        problem
    }
}

impl IntoResponse for ApiProblem {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"api\""),
            );
        }
        if let Some(wait) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        response
    }
}

/// Failures below the API (storage, credits) are classified once, by `AppError`: unavailable
/// (503, nothing changed) or internal (500, logged).
impl From<AppError> for ApiProblem {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The database is unavailable; nothing was changed. Retry in a moment.",
                )
            }
            other => {
                tracing::error!(error = ?other, "API request failed");
                Self::internal()
            }
        }
    }
}

impl From<StorageError> for ApiProblem {
    fn from(error: StorageError) -> Self {
        AppError::from(error).into()
    }
}

impl From<quickscale_domain_credits::CreditError> for ApiProblem {
    fn from(error: quickscale_domain_credits::CreditError) -> Self {
        AppError::from(error).into()
    }
}

/// The `type` of the 402 problems, one per limit that refused a run (RFC 9457: a URI naming
/// the problem; its `code` says the same in a word).
pub const INSUFFICIENT_CREDITS: &str = "urn:quickscale:problem:insufficient-credits";
pub const KEY_MONTHLY_CAP: &str = "urn:quickscale:problem:key-monthly-cap";
pub const PLAN_MONTHLY_API_LIMIT: &str = "urn:quickscale:problem:plan-monthly-api-limit";

impl ApiProblem {
    /// The same problem under a `type` of its own (default `about:blank`).
    pub fn typed(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// A request body over the limit the app reads.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "The request body is larger than the {} MiB the API reads.",
                crate::limits::MAX_BODY_BYTES / (1024 * 1024)
            ),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "An unexpected error happened on our side. It has been logged; please retry.",
        )
    }
}
