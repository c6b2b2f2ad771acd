//! Email verification, password reset, email change, sessions and account deletion.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_identity::{Email, Password};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::account_flows::{self, FlowError};
use crate::error::AppError;
use crate::extract::{CurrentUser, Viewer};
use crate::session;
use crate::state::AppState;
use crate::view::{Page, date_time};

#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn flow_error(error: FlowError) -> Result<String, AppError> {
    match error {
        FlowError::App(e) => Err(e),
        other => Ok(crate::wording::sentence(other)),
    }
}

/// Follows a verification link.
pub async fn verify(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    match account_flows::verify(&state, &query.token).await {
        Ok(_) => {
            let text = if viewer.user.is_some() {
                "Your email address is confirmed. Thank you!"
            } else {
                "Your email address is confirmed. Thank you! You can sign in now."
            };
            session::flash(&viewer.session, "success", text).await?;
            Ok(Redirect::to(if viewer.user.is_some() {
                "/dashboard"
            } else {
                "/login"
            })
            .into_response())
        }
        Err(error) => {
            let message = flow_error(error)?;
            Page::new("account/message.html")
                .with("title", &"This link does not work")
                .with("message", &message)
                .with("resend", &viewer.user.is_some())
                .status(StatusCode::BAD_REQUEST)
                .render(&state, &viewer)
                .await
        }
    }
}

/// Sends a new verification link to the signed-in user.
pub async fn resend(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    if current.user.is_verified() {
        session::flash(
            &current.session,
            "info",
            "Your email address is already confirmed.",
        )
        .await?;
    } else {
        match account_flows::send_verification(&state, &current.user).await {
            Ok(()) => {
                session::flash(
                    &current.session,
                    "success",
                    format!("We sent a new link to {}.", current.user.email),
                )
                .await?
            }
            Err(error) => session::flash(&current.session, "warning", flow_error(error)?).await?,
        }
    }
    Ok(Redirect::to("/settings").into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot_form(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    Page::new("account/forgot.html")
        .with("email", &"")
        .with("sent", &false)
        .render(&state, &viewer)
        .await
}

/// Answers the same, and as fast, whether or not the address has an account.
pub async fn forgot(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ForgotForm>,
) -> Result<Response, AppError> {
    account_flows::request_reset(&state, &form.email);
    Page::new("account/forgot.html")
        .with("email", &form.email.trim())
        .with("sent", &true)
        .render(&state, &viewer)
        .await
}

pub async fn reset_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let account = account_flows::reset_account(&state, &query.token).await?;
    Page::new("account/reset.html")
        .with("token", &query.token)
        .with("account_email", &account.as_ref().map(|u| u.email.as_str()))
        .with("error", &Option::<String>::None)
        .with("min_password", &state.accounts().password_policy().min_len)
        .render(&state, &viewer)
        .await
}

#[derive(Debug, Default, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

pub async fn reset(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ResetForm>,
) -> Result<Response, AppError> {
    // Read before the token is used up: a refusal shows the form again, for the same account.
    let account = account_flows::reset_account(&state, &form.token).await?;
    let page = |error: String| {
        Page::new("account/reset.html")
            .with("token", &form.token)
            .with("account_email", &account.as_ref().map(|u| u.email.as_str()))
            .with("error", &Some(error))
            .with("min_password", &state.accounts().password_policy().min_len)
            .status(StatusCode::UNPROCESSABLE_ENTITY)
    };
    let password = match state.accounts().password_policy().check(
        &form.password,
        &form.password_confirmation,
        None,
    ) {
        Ok(password) => password,
        Err(e) => {
            return page(crate::wording::sentence(e))
                .render(&state, &viewer)
                .await;
        }
    };
    match account_flows::reset_password(&state, &form.token, &password).await {
        Ok(user) => {
            session::sign_in(&viewer.session, user.id).await?;
            session::flash(
                &viewer.session,
                "success",
                "Your password was changed and you are signed in. Other devices were signed out.",
            )
            .await?;
            Ok(Redirect::to("/dashboard").into_response())
        }
        Err(error) => page(flow_error(error)?).render(&state, &viewer).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct EmailChangeForm {
    #[serde(default)]
    new_email: String,
    #[serde(default)]
    current_password: String,
}

pub async fn change_email(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<EmailChangeForm>,
) -> Result<Response, AppError> {
    let message = match Email::parse(&form.new_email) {
        Err(e) => Err(format!("The new email: {e}.")),
        Ok(email) if email == current.user.email => {
            Err("That is already your email address.".to_owned())
        }
        Ok(email) => match account_flows::request_email_change(
            &state,
            &current.user,
            &email,
            &Password::new(form.current_password),
        )
        .await
        {
            // The same answer whether or not another account uses the address.
            Ok(()) => Ok(format!(
                "We sent a message to {email}. Your address changes when you follow the confirmation link in it."
            )),
            Err(error) => Err(flow_error(error)?),
        },
    };
    match message {
        Ok(text) => session::flash(&current.session, "success", text).await?,
        Err(text) => session::flash(&current.session, "danger", text).await?,
    }
    Ok(Redirect::to("/settings").into_response())
}

pub async fn confirm_email(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    match account_flows::confirm_email_change(&state, &query.token).await {
        Ok(user) => {
            session::flash(
                &viewer.session,
                "success",
                format!("Your email address is now {}.", user.email),
            )
            .await?;
            Ok(Redirect::to(if viewer.user.is_some() {
                "/settings"
            } else {
                "/login"
            })
            .into_response())
        }
        Err(error) => {
            let message = flow_error(error)?;
            Page::new("account/message.html")
                .with("title", &"This link does not work")
                .with("message", &message)
                .with("resend", &false)
                .status(StatusCode::BAD_REQUEST)
                .render(&state, &viewer)
                .await
        }
    }
}

/// A session as the user sees it: a fingerprint (never the id, which is a secret).
#[derive(Debug, Serialize)]
struct SessionView {
    fingerprint: String,
    expires: String,
    current: bool,
}

fn fingerprint(id: &str) -> String {
    hex::encode(&Sha256::digest(id.as_bytes())[..6])
}

pub async fn sessions(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    let now = state.clock().now();
    let mine = current.session.id().map(|id| id.to_string());
    let sessions: Vec<SessionView> = state
        .stores()
        .sessions
        .admin()
        .list_for_user(current.user.id, now)
        .await?
        .into_iter()
        .map(|(id, expiry)| SessionView {
            fingerprint: fingerprint(&id),
            expires: date_time(expiry),
            current: Some(&id) == mine.as_ref(),
        })
        .collect();
    Page::new("account/sessions.html")
        .with("sessions", &sessions)
        .render(&state, &current.viewer())
        .await
}

#[derive(Debug, Default, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    scope: String,
}

/// Ends one session (by fingerprint), every other session, or every session including this one.
pub async fn revoke(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<RevokeForm>,
) -> Result<Response, AppError> {
    let admin = state.stores().sessions.admin();
    let mine = current.session.id().map(|id| id.to_string());
    match form.scope.as_str() {
        "everywhere" => {
            admin.delete_for_user(current.user.id, None).await?;
            session::sign_out(&current.session).await?;
            return Ok(Redirect::to("/login").into_response());
        }
        "others" => {
            let ended = admin
                .delete_for_user(current.user.id, mine.as_deref())
                .await?;
            session::flash(
                &current.session,
                "success",
                format!("Signed out {ended} other session(s)."),
            )
            .await?;
        }
        _ => {
            let now = state.clock().now();
            let target = admin
                .list_for_user(current.user.id, now)
                .await?
                .into_iter()
                .find(|(id, _)| fingerprint(id) == form.fingerprint)
                .map(|(id, _)| id);
            if let Some(id) = target {
                if Some(&id) == mine.as_ref() {
                    session::sign_out(&current.session).await?;
                    return Ok(Redirect::to("/login").into_response());
                }
                let parsed: Result<tower_sessions::session::Id, _> = id.parse();
                if let Ok(parsed) = parsed {
                    tower_sessions::SessionStore::delete(&state.stores().sessions, &parsed)
                        .await
                        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
                }
                session::flash(&current.session, "success", "That session was signed out.").await?;
            }
        }
    }
    Ok(Redirect::to("/settings/sessions").into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    confirmation: String,
}

pub async fn delete(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<DeleteForm>,
) -> Result<Response, AppError> {
    if form.confirmation.trim() != "DELETE" {
        session::flash(
            &current.session,
            "danger",
            "Type DELETE to confirm that you want to delete your account.",
        )
        .await?;
        return Ok(Redirect::to("/settings").into_response());
    }
    match account_flows::delete_account(
        &state,
        &current.user,
        &Password::new(form.current_password),
    )
    .await
    {
        Ok(()) => {
            session::sign_out(&current.session).await?;
            Ok(Redirect::to("/?deleted=1").into_response())
        }
        Err(error) => {
            session::flash(&current.session, "danger", flow_error(error)?).await?;
            Ok(Redirect::to("/settings").into_response())
        }
    }
}
