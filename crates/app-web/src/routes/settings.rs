//! The user's settings: display name and password.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_identity::{ChangePasswordError, DisplayName, Password};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::extract::CurrentUser;
use crate::session;
use crate::state::AppState;
use crate::view::Page;

#[derive(Debug, Default, Serialize)]
struct SettingsErrors {
    display_name: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
}

async fn settings_page(
    state: &AppState,
    current: &CurrentUser,
    display_name: &str,
    errors: SettingsErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    Page::new("settings.html")
        .with("display_name", &display_name)
        .with("errors", &errors)
        .with("min_password", &state.accounts().password_policy().min_len)
        .status(status)
        .render(state, &current.viewer())
        .await
}

pub async fn settings(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    let name = current.user.display_name.as_str().to_owned();
    settings_page(
        &state,
        &current,
        &name,
        SettingsErrors::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
}

pub async fn update_profile(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<ProfileForm>,
) -> Result<Response, AppError> {
    match DisplayName::parse(&form.display_name) {
        Ok(name) => {
            state
                .users()
                .set_display_name(current.user.id, &name)
                .await?;
            session::flash(&current.session, "success", "Your profile was saved.").await?;
            Ok(Redirect::to("/settings").into_response())
        }
        Err(e) => {
            let errors = SettingsErrors {
                display_name: Some(format!("{e}.")),
                ..SettingsErrors::default()
            };
            settings_page(
                &state,
                &current,
                &form.display_name,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirmation: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let name = current.user.display_name.as_str().to_owned();
    let new = match state.accounts().password_policy().check(
        &form.new_password,
        &form.new_password_confirmation,
        Some(&current.user.email),
    ) {
        Ok(password) => password,
        Err(e) => {
            let errors = SettingsErrors {
                new_password: Some(format!("{e}.")),
                ..SettingsErrors::default()
            };
            return settings_page(
                &state,
                &current,
                &name,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    match state
        .accounts()
        .change_password(current.user.id, &Password::new(form.current_password), &new)
        .await
    {
        Ok(()) => {
            // A new session id after a credential change.
            session::sign_in(&current.session, current.user.id).await?;
            session::flash(&current.session, "success", "Your password was changed.").await?;
            Ok(Redirect::to("/settings").into_response())
        }
        Err(ChangePasswordError::WrongCurrentPassword) => {
            let errors = SettingsErrors {
                current_password: Some("The current password is incorrect.".into()),
                ..SettingsErrors::default()
            };
            settings_page(
                &state,
                &current,
                &name,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
