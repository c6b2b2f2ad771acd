//! The settings page (profile, password, email, sessions and deletion), and its profile and
//! password forms (the others are in `account`).

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_identity::{ChangePasswordError, DisplayName, Password, Profile};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::extract::CurrentUser;
use crate::session;
use crate::state::AppState;
use crate::view::Page;

#[derive(Debug, Default, Serialize)]
struct SettingsErrors {
    display_name: Option<String>,
    company: Option<String>,
    job_title: Option<String>,
    website: Option<String>,
    bio: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
}

/// What the profile form shows.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    job_title: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    bio: String,
    #[serde(default)]
    product_updates: Option<String>,
}

impl ProfileForm {
    fn of(current: &CurrentUser) -> Self {
        let p = &current.user.profile;
        ProfileForm {
            display_name: current.user.display_name.as_str().to_owned(),
            company: p.company.clone(),
            job_title: p.job_title.clone(),
            website: p.website.clone(),
            bio: p.bio.clone(),
            product_updates: p.product_updates.then(|| "on".to_owned()),
        }
    }
}

async fn settings_page(
    state: &AppState,
    current: &CurrentUser,
    form: &ProfileForm,
    errors: SettingsErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let sessions = state
        .stores()
        .sessions
        .admin()
        .count_for_user(current.user.id, state.clock().now())
        .await?;
    Page::new("settings.html")
        .with("profile", form)
        .with("errors", &errors)
        .with("min_password", &state.accounts().password_policy().min_len)
        .with("session_count", &sessions)
        .with("api_enabled", &state.config().flags.enable_api)
        .status(status)
        .render(state, &current.viewer())
        .await
}

pub async fn settings(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    settings_page(
        &state,
        &current,
        &ProfileForm::of(&current),
        SettingsErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn update_profile(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<ProfileForm>,
) -> Result<Response, AppError> {
    let name = DisplayName::parse(&form.display_name);
    let profile = Profile::parse(
        &form.company,
        &form.job_title,
        &form.website,
        &form.bio,
        form.product_updates.is_some(),
    );
    match (name, profile) {
        (Ok(name), Ok(profile)) => {
            state
                .users()
                .set_profile(current.user.id, &name, &profile)
                .await?;
            session::flash(&current.session, "success", "Your profile was saved.").await?;
            Ok(Redirect::to("/settings").into_response())
        }
        (name, profile) => {
            let mut errors = match profile {
                Err(e) => SettingsErrors {
                    company: e.company.map(crate::wording::sentence),
                    job_title: e.job_title.map(crate::wording::sentence),
                    website: e.website.map(crate::wording::sentence),
                    bio: e.bio.map(crate::wording::sentence),
                    ..SettingsErrors::default()
                },
                Ok(_) => SettingsErrors::default(),
            };
            errors.display_name = name.err().map(crate::wording::sentence);
            settings_page(
                &state,
                &current,
                &form,
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

/// Changes the password; other sessions end, this one gets a new id, and the owner is emailed.
pub async fn change_password(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let profile = ProfileForm::of(&current);
    let new = match state.accounts().password_policy().check(
        &form.new_password,
        &form.new_password_confirmation,
        Some(&current.user.email),
    ) {
        Ok(password) => password,
        Err(e) => {
            let errors = SettingsErrors {
                new_password: Some(crate::wording::sentence(e)),
                ..SettingsErrors::default()
            };
            return settings_page(
                &state,
                &current,
                &profile,
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
            session::sign_in(&current.session, current.user.id).await?;
            let keep = current.session.id().map(|id| id.to_string());
            state
                .stores()
                .sessions
                .admin()
                .delete_for_user(current.user.id, keep.as_deref())
                .await?;
            crate::account_flows::password_changed(&state, &current.user).await;
            session::flash(
                &current.session,
                "success",
                "Your password was changed. Other devices were signed out.",
            )
            .await?;
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
                &profile,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
