//! Register, sign in, sign out.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_identity::{AuthError, Password, RegisterError, Registration, Role};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::extract::Viewer;
use crate::local_path::LocalPath;
use crate::onboarding::open_credit_account;
use crate::session;
use crate::state::AppState;
use crate::view::{Page, credits_label};

#[derive(Debug, Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

/// What the form shows back: never the passwords.
#[derive(Debug, Default, Serialize)]
struct RegisterValues {
    email: String,
    display_name: String,
}

#[derive(Debug, Default, Serialize)]
struct RegisterErrors {
    email: Option<String>,
    password: Option<String>,
    display_name: Option<String>,
}

async fn register_page(
    state: &AppState,
    viewer: &Viewer,
    values: RegisterValues,
    errors: RegisterErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    Page::new("auth/register.html")
        .with("form", &values)
        .with("errors", &errors)
        .with("min_password", &state.accounts().password_policy().min_len)
        .with(
            "welcome_credits",
            &credits_label(state.config().welcome_credits),
        )
        .status(status)
        .render(state, viewer)
        .await
}

pub async fn register_form(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    if viewer.user.is_some() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    register_page(
        &state,
        &viewer,
        RegisterValues::default(),
        RegisterErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn register(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<RegisterForm>,
) -> Result<Response, AppError> {
    let values = RegisterValues {
        email: form.email.trim().to_owned(),
        display_name: form.display_name.trim().to_owned(),
    };
    let registration = match Registration::parse(
        &form.email,
        &form.password,
        &form.password_confirmation,
        &form.display_name,
        state.accounts().password_policy(),
    ) {
        Ok(registration) => registration,
        Err(e) => {
            let errors = RegisterErrors {
                email: e.email.map(|e| sentence(&e.to_string())),
                password: e.password.map(|e| sentence(&e.to_string())),
                display_name: e.display_name.map(|e| sentence(&e.to_string())),
            };
            return register_page(
                &state,
                &viewer,
                values,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let user = match state.accounts().register(registration, Role::User).await {
        Ok(user) => user,
        Err(RegisterError::DuplicateEmail) => {
            // The same form and status as any other refusal of the email field.
            let errors = RegisterErrors {
                email: Some(
                    "This email cannot be used to register. If it is yours, sign in instead."
                        .into(),
                ),
                ..RegisterErrors::default()
            };
            return register_page(
                &state,
                &viewer,
                values,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(other) => return Err(other.into()),
    };
    open_credit_account(&state, &user).await?;
    session::sign_in(&viewer.session, user.id).await?;
    tracing::info!(user = %user.id, "account registered");
    if let Err(error) = crate::account_flows::welcome(&state, &user).await {
        tracing::warn!(%error, user = %user.id, "welcome email not sent");
    }
    let welcome = state.config().welcome_credits;
    let text = if welcome.is_zero() {
        "Welcome! Your account is ready.".to_owned()
    } else {
        format!(
            "Welcome! Your account is ready and {} are waiting for you.",
            credits_label(welcome)
        )
    };
    session::flash(&viewer.session, "success", text).await?;
    Ok(Redirect::to("/dashboard").into_response())
}

/// Capitalises a domain error message into a sentence for a form.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!(
            "{}{}.",
            first.to_uppercase(),
            chars.as_str().trim_end_matches('.')
        ),
        None => String::new(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

async fn login_page(
    state: &AppState,
    viewer: &Viewer,
    email: &str,
    next: &str,
    error: Option<String>,
) -> Result<Response, AppError> {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Page::new("auth/login.html")
        .with("email", &email)
        .with("next", &LocalPath::or_default(next))
        .with("error", &error)
        .status(status)
        .render(state, viewer)
        .await
}

pub async fn login_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = query.next.unwrap_or_default();
    if viewer.user.is_some() {
        return Ok(Redirect::to(LocalPath::or_default(&next).as_str()).into_response());
    }
    login_page(&state, &viewer, "", &next, None).await
}

pub async fn login(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    match state
        .accounts()
        .authenticate(&form.email, &Password::new(form.password))
        .await
    {
        Ok(user) => {
            session::sign_in(&viewer.session, user.id).await?;
            // Repairs an account whose welcome grant did not happen at registration.
            open_credit_account(&state, &user).await?;
            tracing::info!(user = %user.id, "signed in");
            Ok(Redirect::to(LocalPath::or_default(&form.next).as_str()).into_response())
        }
        Err(AuthError::Rejected(reason)) => {
            tracing::info!(?reason, "sign-in refused");
            let message = format!(
                "The email or password is incorrect, or sign-in is paused after {} failed attempts. Check them and try again in a few minutes.",
                state.config().lockout.max_attempts()
            );
            login_page(
                &state,
                &viewer,
                form.email.trim(),
                &form.next,
                Some(message),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn logout(State(_state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    session::sign_out(&viewer.session).await?;
    Ok(Redirect::to("/").into_response())
}
