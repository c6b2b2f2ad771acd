//! Settings, API keys: make a named key (shown once), see when each was last used, revoke.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_identity::{
    API_KEY_SHOWN, ApiKey, ApiKeyError, ApiKeyId, MAX_ACTIVE_KEYS, MAX_KEY_NAME, Password,
    api_key_hash, key_name,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::error::AppError;
use crate::extract::CurrentUser;
use crate::session;
use crate::state::AppState;
use crate::view::{Page, date_time};
use crate::wording::sentence;

#[derive(Serialize)]
struct KeyView {
    id: String,
    name: String,
    shown: String,
    created: String,
    last_used: Option<String>,
    revoked: Option<String>,
}

impl KeyView {
    fn of(key: &ApiKey) -> Self {
        KeyView {
            id: key.id.to_string(),
            name: key.name.clone(),
            shown: key.shown.clone(),
            created: date_time(key.created_at),
            last_used: key.last_used_at.map(date_time),
            revoked: key.revoked_at.map(date_time),
        }
    }
}

/// The session key of the make-a-key form's one-time token.
const FORM_TOKEN: &str = "api_key_form";

/// The page, with the key just made (shown this once) or why it was not made.
async fn page(
    state: &AppState,
    current: &CurrentUser,
    new_key: Option<(&str, &str)>,
    error: Option<(String, &str)>,
) -> Result<Response, AppError> {
    let keys: Vec<KeyView> = state
        .stores()
        .api_keys
        .list(current.user.id)
        .await?
        .iter()
        .map(KeyView::of)
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // Sending the form again (a reload of this page) is refused instead of making another key.
    let form_token = session::issue_form_token(&current.session, FORM_TOKEN).await?;
    let mut response = Page::new("account/api_keys.html")
        .with("keys", &keys)
        .with(
            "new_key",
            &new_key.map(|(name, key)| json!({"name": name, "key": key})),
        )
        .with(
            "error",
            &error.as_ref().map(|(message, _)| message.as_str()),
        )
        .with("name", &error.as_ref().map_or("", |(_, name)| *name))
        .with("max_keys", &MAX_ACTIVE_KEYS)
        .with("max_name", &MAX_KEY_NAME)
        .with("base_url", &state.config().base_url)
        .with("form_token", &form_token)
        .status(status)
        .render(state, &current.viewer())
        .await?;
    // The page may hold a new key: no cache keeps it.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    page(&state, &current, None, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    form_token: String,
}

pub async fn create(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<CreateForm>,
) -> Result<Response, AppError> {
    if !session::take_form_token(&current.session, FORM_TOKEN, &form.form_token).await? {
        let message = "This form was already sent (the key it made, if any, is in the list). Make another key here.";
        return page(&state, &current, None, Some((message.into(), &form.name))).await;
    }
    let name = match key_name(&form.name) {
        Ok(name) => name,
        Err(error) => {
            return page(&state, &current, None, Some((sentence(&error), &form.name))).await;
        }
    };
    // A key outlives sessions, so making one asks for the password, like deleting the account.
    let password = Password::new(form.current_password);
    if !state
        .accounts()
        .check_password(current.user.id, &password)
        .await?
    {
        let message = "The current password is incorrect.";
        return page(&state, &current, None, Some((message.into(), &form.name))).await;
    }
    let secret = format!("qs_{}", session::random_token());
    let key = ApiKey {
        id: ApiKeyId(Uuid::now_v7()),
        user: current.user.id,
        name: name.clone(),
        shown: secret[..API_KEY_SHOWN].to_owned(),
        created_at: state.clock().now(),
        last_used_at: None,
        revoked_at: None,
    };
    match state
        .stores()
        .api_keys
        .create(&key, &api_key_hash(&secret), MAX_ACTIVE_KEYS)
        .await
    {
        Ok(()) => {}
        Err(ApiKeyError::Storage(e)) => return Err(e.into()),
        Err(error) => {
            return page(&state, &current, None, Some((sentence(&error), &form.name))).await;
        }
    }
    crate::audit::record(
        &state,
        &current.user,
        crate::audit::AuditAction::ApiKeyCreated,
        crate::audit::user_subject(&current.user),
        serde_json::Value::Null,
        json!({"key": key.id, "name": key.name, "shown": key.shown}),
    )
    .await;
    crate::account_flows::api_key_created(&state, &current.user, &key.name, &key.shown).await;
    // The key is in this response only: it is not stored, and sending the form again (a reload)
    // makes nothing.
    page(&state, &current, Some((&name, &secret)), None).await
}

pub async fn revoke(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = ApiKeyId::parse(&id).ok_or(AppError::NotFound)?;
    let revoked = state
        .stores()
        .api_keys
        .revoke(current.user.id, id, state.clock().now())
        .await?;
    if revoked {
        crate::audit::record(
            &state,
            &current.user,
            crate::audit::AuditAction::ApiKeyRevoked,
            crate::audit::user_subject(&current.user),
            json!({"key": id}),
            serde_json::Value::Null,
        )
        .await;
        session::flash(
            &current.session,
            "success",
            "The key was revoked: requests with it are refused from now on.",
        )
        .await?;
    }
    Ok(Redirect::to("/settings/api-keys").into_response())
}
