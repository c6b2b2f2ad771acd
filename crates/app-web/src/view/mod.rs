//! Rendering pages: a template, its context, and what every page knows (the signed-in user,
//! their balance, the CSRF token, flash messages).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use quickscale_domain_credits::{AccountId, Credits};
use quickscale_domain_identity::User;
use serde::Serialize;
use tera::Context;
use time::OffsetDateTime;

mod output;
mod payment;

pub use output::OutputView;
pub use payment::{PaymentView, RefundView};

use crate::error::AppError;
use crate::extract::Viewer;
use crate::security::VisitorCsrf;
use crate::session;
use crate::state::AppState;

/// A user as templates see them.
#[derive(Clone, Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub display_name: String,
    pub role: &'static str,
    pub is_admin: bool,
    pub is_active: bool,
    pub verified: bool,
    pub created_at: String,
    pub locked: bool,
}

impl UserView {
    pub fn of(user: &User, now: OffsetDateTime) -> Self {
        UserView {
            id: user.id.to_string(),
            email: user.email.to_string(),
            name: user.greeting_name().to_owned(),
            display_name: user.display_name.as_str().to_owned(),
            role: user.role.as_str(),
            is_admin: user.is_admin(),
            is_active: user.is_active,
            verified: user.email_verified_at.is_some(),
            created_at: date(user.created_at),
            locked: user.login.is_locked_at(now),
        }
    }
}

pub use crate::wording::{date, date_time, plural};

/// "1 credit", "2.50 credits" (the wording is `Credits::with_unit`, shared with the domain).
pub fn credits_label(amount: Credits) -> String {
    amount.with_unit()
}

/// A page being rendered.
#[derive(Debug)]
pub struct Page {
    template: &'static str,
    context: Context,
    status: StatusCode,
    /// The viewer's balance when the handler already knows it (saves a query).
    balance: Option<Credits>,
}

impl Page {
    pub fn new(template: &'static str) -> Self {
        Page {
            template,
            context: Context::new(),
            status: StatusCode::OK,
            balance: None,
        }
    }

    /// The signed-in viewer's balance, already known to the handler: the navbar shows it
    /// without reading the ledger again.
    pub fn viewer_balance(mut self, balance: Option<Credits>) -> Self {
        self.balance = balance;
        self
    }

    pub fn with(mut self, key: &'static str, value: &impl Serialize) -> Self {
        self.context.insert(key, value);
        self
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Renders with what every page knows about the viewer, showing pending flash messages.
    pub async fn render(self, state: &AppState, viewer: &Viewer) -> Result<Response, AppError> {
        self.render_with(state, viewer, true).await
    }

    /// Renders a fragment (for HTMX): flash messages stay for the next full page.
    pub async fn fragment(self, state: &AppState, viewer: &Viewer) -> Result<Response, AppError> {
        self.render_with(state, viewer, false).await
    }

    async fn render_with(
        mut self,
        state: &AppState,
        viewer: &Viewer,
        flashes: bool,
    ) -> Result<Response, AppError> {
        let now = state.clock().now();
        match &viewer.user {
            Some(user) => {
                self.context.insert("user", &UserView::of(user, now));
                let balance = match self.balance {
                    Some(known) => known,
                    None => state
                        .credits()
                        .balance(AccountId::new(user.id.as_uuid()), now)
                        .await
                        .map(|b| b.total)
                        .unwrap_or(Credits::ZERO),
                };
                self.context.insert("nav_balance", &balance.to_string());
            }
            None => {
                self.context.insert("user", &());
                self.context.insert("nav_balance", "");
            }
        }
        // The session's own token when it has one (a signed-in session gets a new one at
        // sign-in), else the visitor's signed token (nothing stored), else none (a page
        // rendered outside the CSRF middleware, such as an error page).
        let session_token = session::expected_csrf_token(&viewer.session).await?;
        let visitor = viewer.user.is_none() && session_token.is_none();
        let csrf_token = match session_token {
            Some(token) => token,
            None => viewer
                .csrf
                .as_ref()
                .map(VisitorCsrf::token)
                .unwrap_or_default(),
        };
        let pending = if flashes {
            session::take_flashes(&viewer.session).await?
        } else {
            Vec::new()
        };
        self.context.insert("flashes", &pending);
        // A visitor's page with nothing of their own but the token: rendered once for all.
        let html = if visitor && pending.is_empty() && self.status == StatusCode::OK {
            state
                .templates()
                .render_for_visitor(self.template, self.context, &csrf_token)?
        } else {
            self.context.insert("csrf_token", &csrf_token);
            state.templates().render(self.template, &self.context)?
        };
        Ok((self.status, Html(html)).into_response())
    }
}
