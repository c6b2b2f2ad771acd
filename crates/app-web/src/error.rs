//! One error type for every HTML handler. It logs the cause and shows a safe message; the page
//! itself is rendered by `error_pages` (a middleware with access to the templates).

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use quickscale_domain_credits::CreditError;
use quickscale_domain_identity::{AuthError, ChangePasswordError, RegisterError};
use quickscale_domain_kernel::StorageError;
use tera::Context;

use crate::state::AppState;

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
            AppError::Forbidden => (StatusCode::FORBIDDEN, "Not allowed", "Your account cannot open this page.".to_owned()),
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
            AppError::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
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

impl From<crate::templates::TemplateError> for AppError {
    fn from(error: crate::templates::TemplateError) -> Self {
        AppError::Internal(anyhow::Error::new(error))
    }
}

/// Renders the HTML error page for responses that carry an [`ErrorPage`], and for bare 405
/// responses from the router. Runs inside the session layer, so the page shows the visitor as
/// signed in when they are (unless the database is what failed).
pub async fn error_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/api/") {
        // The API answers with problem details, never with a page.
        return next.run(request).await;
    }
    let session = request
        .extensions()
        .get::<tower_sessions::Session>()
        .cloned();
    let response = next.run(request).await;
    let page = match response.extensions().get::<ErrorPage>() {
        Some(page) => page.clone(),
        None if response.status() == StatusCode::METHOD_NOT_ALLOWED => ErrorPage {
            title: "Not allowed",
            message: "This address does not accept that kind of request.".into(),
        },
        None => return response,
    };
    let status = response.status();
    let database_failed = status == StatusCode::SERVICE_UNAVAILABLE;
    let rendered = match session.filter(|_| !database_failed) {
        Some(session) => render_for_visitor(&state, session, status, &page).await,
        None => render_anonymous(&state, status, &page),
    };
    match rendered {
        Ok(mut html) => {
            for (name, value) in response.headers() {
                if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                    html.headers_mut().insert(name.clone(), value.clone());
                }
            }
            html
        }
        Err(error) => {
            tracing::error!(%error, "the error page itself failed to render");
            response
        }
    }
}

async fn render_for_visitor(
    state: &AppState,
    session: tower_sessions::Session,
    status: StatusCode,
    page: &ErrorPage,
) -> Result<Response, AppError> {
    let user = match crate::session::user_id(&session).await? {
        Some(id) => state.users().by_id(id).await?.filter(|u| u.is_active),
        None => None,
    };
    crate::view::Page::new("error.html")
        .with("status", &status.as_u16())
        .with("title", &page.title)
        .with("message", &page.message)
        .status(status)
        .render(state, &crate::extract::Viewer { session, user })
        .await
}

fn render_anonymous(
    state: &AppState,
    status: StatusCode,
    page: &ErrorPage,
) -> Result<Response, AppError> {
    let mut context = Context::new();
    context.insert("status", &status.as_u16());
    context.insert("title", page.title);
    context.insert("message", &page.message);
    context.insert("user", &());
    context.insert("nav_balance", "");
    context.insert("csrf_token", "");
    context.insert("flashes", &Vec::<String>::new());
    let html = state.templates().render("error.html", &context)?;
    Ok((status, Html(html)).into_response())
}
