//! One error type for every HTML handler, and the page it renders to. It logs the cause and shows
//! a safe message; the page itself is rendered by `middleware::error_pages` (which has the
//! templates). A leaf: it depends on no other module of the app.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use quickscale_domain_credits::CreditError;
use quickscale_domain_identity::{AuthError, ChangePasswordError, RegisterError};
use quickscale_domain_kernel::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("the form has expired")]
    Csrf,
    #[error("too many requests; retry in {wait_seconds} s")]
    TooManyRequests { wait_seconds: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What the error page shows: attached to the response for `error_pages` to render.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub title: &'static str,
    pub message: String,
}

impl AppError {
    fn page(&self) -> (StatusCode, ErrorPage) {
        let (status, title, message) = match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "Page not found", "There is nothing at this address. Check the link, or go back to the home page.".to_owned()),
            AppError::Forbidden => (StatusCode::FORBIDDEN, "Not allowed", "Your account cannot open this page. Go back to your dashboard, or sign in with an account that can.".to_owned()),
            AppError::BadRequest(why) => (StatusCode::BAD_REQUEST, "That did not work", why.clone()),
            AppError::Csrf => (StatusCode::FORBIDDEN, "This form has expired", "For your security the form could not be accepted. Go back, reload the page and try again.".to_owned()),
            AppError::TooManyRequests { wait_seconds } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!("You tried this too often in a short time. Wait {wait_seconds} seconds, then try again."),
            ),
            AppError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable", "We cannot reach our database right now. Nothing was changed; please try again in a moment.".to_owned()),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "An unexpected error happened on our side. It has been logged; please try again.".to_owned()),
        };
        (status, ErrorPage { title, message })
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Internal(cause) => {
                tracing::error!(error = ?cause, "request failed");
                // With error reports on, the report of this 500 carries the cause (scrubbed);
                // without them there is no client and this does nothing.
                sentry::Hub::with_active(|hub| {
                    hub.configure_scope(|scope| {
                        scope.set_extra("cause", format!("{cause:#}").into())
                    });
                });
            }
            AppError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => tracing::debug!(error = %self, "request refused"),
        }
        let (status, page) = self.page();
        let mut response = (status, page.message.clone()).into_response();
        response.extensions_mut().insert(page);
        response
    }
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> Self {
        if error.is_unavailable() {
            AppError::Unavailable(error.to_string())
        } else {
            AppError::Internal(anyhow::Error::new(error))
        }
    }
}

impl From<CreditError> for AppError {
    fn from(error: CreditError) -> Self {
        match error {
            CreditError::Storage(e) => e.into(),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<AuthError> for AppError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Storage(e) => e.into(),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<RegisterError> for AppError {
    fn from(error: RegisterError) -> Self {
        match error {
            RegisterError::Storage(e) => e.into(),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<ChangePasswordError> for AppError {
    fn from(error: ChangePasswordError) -> Self {
        match error {
            ChangePasswordError::Storage(e) => e.into(),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}
