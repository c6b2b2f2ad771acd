//! Settings, API keys: make a named key (shown once), see when each was last used, revoke.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_identity::{
    API_KEY_SHOWN, ApiKey, ApiKeyError, ApiKeyId, MAX_ACTIVE_KEYS, MAX_KEY_NAME, api_key_hash,
    key_name,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::error::AppError;
use crate::extract::CurrentUser;
use crate::session;
use crate::state::AppState;
use crate::view::{Page, date_time};

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
    Page::new("account/api_keys.html")
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
        .status(status)
        .render(state, &current.viewer())
        .await
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
}

pub async fn create(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<CreateForm>,
) -> Result<Response, AppError> {
    let name = match key_name(&form.name) {
        Ok(name) => name,
        Err(error) => {
            return page(&state, &current, None, Some((sentence(&error), &form.name))).await;
        }
    };
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
        "api_key.create",
        Some((current.user.id.as_uuid(), current.user.email.to_string())),
        serde_json::Value::Null,
        json!({"key": key.id, "name": key.name, "shown": key.shown}),
    )
    .await;
    // The key is in this response only: it is not stored, and a reload does not show it again.
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
            "api_key.revoke",
            Some((current.user.id.as_uuid(), current.user.email.to_string())),
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

fn sentence(error: &ApiKeyError) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        format!("{}{}.", c.to_uppercase(), chars.as_str())
    })
}
