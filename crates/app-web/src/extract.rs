//! Typed extractors: who is asking (`Viewer`), a signed-in user (`CurrentUser`), an admin
//! (`AdminUser`), the client's address (`ClientAddress`). The API's key is `api::ApiKeyAuth`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_identity::User;
use tower_sessions::Session;

use crate::error::AppError;
use crate::limits::client_address;
use crate::security::VisitorCsrf;
use crate::session;
use crate::state::AppState;
use quickscale_domain_kernel::LocalPath;

/// The visitor: their session, and their account when signed in.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub session: Session,
    pub user: Option<User>,
    /// The visitor's signed CSRF token (none outside the CSRF middleware).
    pub csrf: Option<VisitorCsrf>,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(viewer) = parts.extensions.get::<Viewer>() {
            return Ok(viewer.clone());
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, why)| AppError::Internal(anyhow::anyhow!("no session layer: {why}")))?;
        let user = match session::user_id(&session).await? {
            Some(id) => match state.session_users().session_user(id).await? {
                Some(user) if user.is_active => {
                    session::touch(&session, state.clock().now()).await?;
                    Some(user)
                }
                // Deleted or deactivated since signing in: the session no longer counts.
                _ => {
                    session::sign_out(&session).await?;
                    None
                }
            },
            None => None,
        };
        if let Some(user) = &user {
            tracing::Span::current().record("user_id", tracing::field::display(user.id));
        }
        let csrf = parts.extensions.get::<VisitorCsrf>().cloned();
        let viewer = Viewer {
            session,
            user,
            csrf,
        };
        parts.extensions.insert(viewer.clone());
        Ok(viewer)
    }
}

/// Why a page that needs an account was refused.
#[derive(Debug)]
pub enum Refusal {
    /// Not signed in: go to the sign-in page and come back (when the address is one to come
    /// back to).
    SignIn {
        next: Option<LocalPath>,
        htmx: bool,
    },
    App(AppError),
}

impl From<AppError> for Refusal {
    fn from(error: AppError) -> Self {
        Refusal::App(error)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::SignIn { next, htmx } => {
                let target = match next {
                    Some(next) => format!("/login?next={}", urlencode(next.as_str())),
                    None => "/login".to_owned(),
                };
                if htmx {
                    // HTMX follows this header with a full page load.
                    let mut response = StatusCode::UNAUTHORIZED.into_response();
                    if let Ok(value) = HeaderValue::from_str(&target) {
                        response.headers_mut().insert("HX-Redirect", value);
                    }
                    response
                } else {
                    Redirect::to(&target).into_response()
                }
            }
            Refusal::App(error) => error.into_response(),
        }
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A signed-in, active user.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub session: Session,
    pub user: User,
    pub csrf: Option<VisitorCsrf>,
}

impl CurrentUser {
    pub fn viewer(&self) -> Viewer {
        Viewer {
            session: self.session.clone(),
            user: Some(self.user.clone()),
            csrf: self.csrf.clone(),
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        match viewer.user {
            Some(user) => Ok(CurrentUser {
                session: viewer.session,
                user,
                csrf: viewer.csrf,
            }),
            None => Err(Refusal::SignIn {
                next: parts
                    .uri
                    .path_and_query()
                    .and_then(|p| LocalPath::parse(p.as_str())),
                htmx: parts.headers.contains_key("HX-Request"),
            }),
        }
    }
}

/// A signed-in admin. Other signed-in users get 403.
#[derive(Clone, Debug)]
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        if current.user.is_admin() {
            Ok(AdminUser(current))
        } else {
            Err(Refusal::App(AppError::Forbidden))
        }
    }
}

/// True for requests made by HTMX (which want a fragment, not a page).
#[derive(Clone, Copy, Debug)]
pub struct Htmx(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for Htmx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Htmx(
            parts.headers.get("HX-Request").is_some_and(|v| v == "true"),
        ))
    }
}

/// The client's address as a handler argument (see [`client_address`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        Ok(ClientAddress(client_address(
            &parts.headers,
            peer,
            &state.limits().trust,
        )))
    }
}
