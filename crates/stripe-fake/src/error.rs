//! Stripe-shaped API errors: `{"error": {"type", "code", "message", "param", ...}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::money::{MAX_AMOUNT, format_money};

/// An error answered by the fake API, shaped like Stripe's.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    /// `invalid_request_error`, `api_error`, `card_error` or `idempotency_error`.
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    pub decline_code: Option<&'static str>,
    /// Whether an idempotency key stores this answer (Stripe stores the result of a request
    /// that started executing, but not of one that failed parameter validation).
    pub stored_for_idempotency: bool,
}

/// Marks a response an idempotency key may store and replay.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Replayable;

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            code: None,
            message: message.into(),
            param: None,
            decline_code: None,
            stored_for_idempotency: false,
        }
    }

    /// 400 `invalid_request_error` about one parameter.
    pub fn invalid(
        param: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message);
        error.code = Some(code);
        error.param = Some(param.into());
        error
    }

    /// 400 `parameter_missing`.
    pub fn missing(param: impl Into<String>) -> Self {
        let param = param.into();
        Self::invalid(
            param.clone(),
            "parameter_missing",
            format!("Missing required param: {param}."),
        )
    }

    /// 400 `invalid_request_error` without a code.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 404 `resource_missing` for an id in the URL.
    pub fn not_found(object: &str, id: &str) -> Self {
        let mut error = Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("No such {object}: '{id}'"),
        );
        error.code = Some("resource_missing");
        error.param = Some("id".into());
        error
    }

    /// 400 `resource_missing` for an id given as a parameter.
    pub fn no_such(object: &str, param: &str, id: &str) -> Self {
        Self::invalid(
            param,
            "resource_missing",
            format!("No such {object}: '{id}'"),
        )
    }

    /// 400 `amount_too_large`: a line total or total past Stripe's largest amount.
    pub fn amount_too_large(param: impl Into<String>, currency: &str) -> Self {
        Self::invalid(
            param,
            "amount_too_large",
            format!(
                "Amount must be no more than {}.",
                format_money(MAX_AMOUNT, currency)
            ),
        )
    }

    /// 401 for a missing or non-test key.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_request_error", message)
    }

    /// A 400 the request produced after it started executing: an idempotency key stores it.
    pub fn business(code: &'static str, param: Option<&str>, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message);
        error.code = Some(code);
        error.param = param.map(str::to_string);
        error.stored_for_idempotency = true;
        error
    }

    /// 400 `idempotency_error`.
    pub fn idempotency(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "idempotency_error", message)
    }

    /// 409 `idempotency_error`: the same key is being processed right now.
    pub fn idempotency_conflict() -> Self {
        let mut error = Self::new(
            StatusCode::CONFLICT,
            "idempotency_error",
            "There is currently another in-progress request using this Stripe-Idempotency-Key \
             (that is, your Idempotency-Key header). Please try again later.",
        );
        error.code = Some("lock_timeout");
        error
    }

    /// 500 `api_error` (fault injection).
    pub fn server(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "api_error", message)
    }

    /// 404 for an unknown URL.
    pub fn unrecognized_url(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!(
                "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs \
                 or we can help at https://support.stripe.com/. (This is the QuickScale Stripe \
                 fake: it implements only the endpoints listed in its README.)"
            ),
        )
    }

    pub fn body(&self) -> Value {
        let mut error = json!({
            "type": self.kind,
            "code": self.code,
            "message": self.message,
            "param": self.param,
        });
        if let Some(code) = self.code {
            error["doc_url"] = json!(format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            ));
        }
        if let Some(decline_code) = self.decline_code {
            error["decline_code"] = json!(decline_code);
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.stored_for_idempotency {
            response.extensions_mut().insert(Replayable);
        }
        response
    }
}
