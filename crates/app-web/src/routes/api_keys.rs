//! Settings, API keys: make a named key (shown once) with its limits, see when each was last
//! used, revoke; a key's page shows what it spent this month against its cap and changes its
//! limits, within the bounds of the user's plan (`api::key_bounds`).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_credits::Credits;
use quickscale_domain_identity::{
    API_KEY_SHOWN, ApiBounds, ApiKey, ApiKeyError, ApiKeyId, KeyLimits, MAX_ACTIVE_KEYS,
    MAX_KEY_NAME, Password, api_key_hash, key_name,
};
use quickscale_service_sdk::caps::month_start;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::api::key_bounds::bounds_of;
use crate::error::AppError;
use crate::extract::CurrentUser;
use crate::session;
use crate::state::AppState;
use crate::view::{Page, credits_label, date_time};
use crate::wording::sentence;

#[derive(Serialize)]
struct KeyView {
    id: String,
    name: String,
    shown: String,
    created: String,
    last_used: Option<String>,
    revoked: Option<String>,
    /// Its own rate, as typed in the form ("" for the plan's).
    per_minute: String,
    /// Its own monthly cap, as typed in the form ("" for none).
    monthly_cap: String,
    /// Its limits in words.
    limits: String,
}

impl KeyView {
    fn of(key: &ApiKey, bounds: &ApiBounds) -> Self {
        let rate = bounds.per_minute_of(&key.limits);
        let cap = key.limits.monthly_credits.map_or_else(
            || "no cap of its own".to_owned(),
            |c| format!("{} a month", credits_label(c)),
        );
        KeyView {
            id: key.id.to_string(),
            name: key.name.clone(),
            shown: key.shown.clone(),
            created: date_time(key.created_at),
            last_used: key.last_used_at.map(date_time),
            revoked: key.revoked_at.map(date_time),
            per_minute: key
                .limits
                .per_minute
                .map(|n| n.to_string())
                .unwrap_or_default(),
            monthly_cap: key
                .limits
                .monthly_credits
                .map(|c| c.to_string())
                .unwrap_or_default(),
            limits: format!("{rate} requests a minute; {cap}"),
        }
    }
}

/// The bounds of the user's keys in words, for the forms' help.
fn bounds_view(bounds: &ApiBounds) -> serde_json::Value {
    let plan = bounds.monthly_credits.map_or_else(String::new, |c| {
        format!(
            " Your plan allows {} a month through the API, all keys together.",
            credits_label(c)
        )
    });
    json!({
        "per_minute": bounds.per_minute,
        "monthly": bounds.monthly_credits.map(credits_label),
        "cap_help": format!(
            "The most this key may spend in a calendar month (UTC); blank for no cap of its own.{plan}"
        ),
        "rate_help": format!(
            "Blank for your plan's {} a minute, the most a key may have.",
            bounds.per_minute
        ),
    })
}

/// A key's limits as the form gives them: each blank for none (the plan's bound applies), a
/// whole number of requests a minute, credits with at most two decimals; then held to the
/// bounds. A refusal names its field.
fn limits_of(
    per_minute: &str,
    monthly_cap: &str,
    bounds: &ApiBounds,
) -> Result<KeyLimits, (&'static str, String)> {
    let per_minute = match per_minute.trim() {
        "" => None,
        text => Some(text.parse::<u32>().map_err(|_| {
            (
                "per_minute",
                "Give the requests a minute as a whole number, or leave it blank for your plan's rate.".to_owned(),
            )
        })?),
    };
    let monthly_credits = match monthly_cap.trim() {
        "" => None,
        text => Some(Credits::parse(text).map_err(|e| {
            (
                "monthly_cap",
                format!("The monthly cap is credits (like 250 or 12.50), or blank for none: {e}."),
            )
        })?),
    };
    bounds
        .allow(KeyLimits {
            per_minute,
            monthly_credits,
        })
        .map_err(|e| {
            let field = match e {
                quickscale_domain_identity::KeyLimitError::CapAboveBound { .. } => "monthly_cap",
                _ => "per_minute",
            };
            (field, sentence(e))
        })
}

/// What the make-a-key form was sent with, shown again when it is refused.
#[derive(Default)]
struct Refused<'a> {
    field: &'static str,
    message: String,
    name: &'a str,
    per_minute: &'a str,
    monthly_cap: &'a str,
}

/// The session key of the make-a-key form's one-time token.
const FORM_TOKEN: &str = "api_key_form";

/// The page, with the key just made (shown this once) or why it was not made.
async fn page(
    state: &AppState,
    current: &CurrentUser,
    new_key: Option<(&str, &str)>,
    error: Option<Refused<'_>>,
) -> Result<Response, AppError> {
    let bounds = bounds_of(state, current.user.id).await?;
    let keys: Vec<KeyView> = state
        .stores()
        .api_keys
        .list(current.user.id)
        .await?
        .iter()
        .map(|key| KeyView::of(key, &bounds))
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
            "errors",
            &error
                .as_ref()
                .map(|r| json!({ r.field: r.message }))
                .unwrap_or_else(|| json!({})),
        )
        .with("name", &error.as_ref().map_or("", |r| r.name))
        .with("per_minute", &error.as_ref().map_or("", |r| r.per_minute))
        .with("monthly_cap", &error.as_ref().map_or("", |r| r.monthly_cap))
        .with("bounds", &bounds_view(&bounds))
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
    #[serde(default)]
    per_minute: String,
    #[serde(default)]
    monthly_cap: String,
}

impl CreateForm {
    fn refused(&self, field: &'static str, message: impl Into<String>) -> Refused<'_> {
        Refused {
            field,
            message: message.into(),
            name: &self.name,
            per_minute: &self.per_minute,
            monthly_cap: &self.monthly_cap,
        }
    }
}

pub async fn create(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(mut form): Form<CreateForm>,
) -> Result<Response, AppError> {
    if !session::take_form_token(&current.session, FORM_TOKEN, &form.form_token).await? {
        let message = "This form was already sent (the key it made, if any, is in the list). Make another key here.";
        return page(&state, &current, None, Some(form.refused("name", message))).await;
    }
    let name = match key_name(&form.name) {
        Ok(name) => name,
        Err(error) => {
            let refused = form.refused("name", sentence(&error));
            return page(&state, &current, None, Some(refused)).await;
        }
    };
    let bounds = bounds_of(&state, current.user.id).await?;
    let limits = match limits_of(&form.per_minute, &form.monthly_cap, &bounds) {
        Ok(limits) => limits,
        Err((field, message)) => {
            return page(&state, &current, None, Some(form.refused(field, message))).await;
        }
    };
    // A key outlives sessions, so making one asks for the password, like deleting the account.
    let password = Password::new(std::mem::take(&mut form.current_password));
    if !state
        .accounts()
        .check_password(current.user.id, &password)
        .await?
    {
        let message = "The current password is incorrect.";
        let refused = form.refused("key_password", message);
        return page(&state, &current, None, Some(refused)).await;
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
        limits,
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
            let refused = form.refused("name", sentence(&error));
            return page(&state, &current, None, Some(refused)).await;
        }
    }
    crate::audit::record(
        &state,
        &current.user,
        crate::audit::AuditAction::ApiKeyCreated,
        crate::audit::user_subject(&current.user),
        serde_json::Value::Null,
        json!({"key": key.id, "name": key.name, "shown": key.shown, "limits": key.limits}),
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

/// One of the user's keys, active or revoked.
async fn own_key(state: &AppState, current: &CurrentUser, id: &str) -> Result<ApiKey, AppError> {
    let id = ApiKeyId::parse(id).ok_or(AppError::NotFound)?;
    state
        .stores()
        .api_keys
        .list(current.user.id)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or(AppError::NotFound)
}

/// The key's page: its limits, what it spent this calendar month (UTC) against its cap and the
/// plan's bound, and the form that changes its limits.
async fn key_page(
    state: &AppState,
    current: &CurrentUser,
    key: &ApiKey,
    error: Option<(&'static str, String, &str, &str)>,
) -> Result<Response, AppError> {
    let bounds = bounds_of(state, current.user.id).await?;
    let now = state.clock().now();
    let since = month_start(now);
    let spent = state
        .stores()
        .usage
        .month_spend(current.user.id, key.id, since)
        .await?;
    let share = |used: Credits, of: Option<Credits>| {
        of.map(|cap| match cap.cents() {
            0 => 100,
            cap => (used.cents().saturating_mul(100) / cap).clamp(0, 100),
        })
    };
    let view = KeyView::of(key, &bounds);
    let (per_minute, monthly_cap) = match &error {
        Some((_, _, rate, cap)) => ((*rate).to_owned(), (*cap).to_owned()),
        None => (view.per_minute.clone(), view.monthly_cap.clone()),
    };
    Page::new("account/api_key.html")
        .with("key", &view)
        .with("bounds", &bounds_view(&bounds))
        .with(
            "month",
            &json!({
                "since": date_time(since),
                "credits": credits_label(spent.key_credits),
                "runs": spent.key_runs,
                "cap": key.limits.monthly_credits.map(credits_label),
                "cap_percent": share(spent.key_credits, key.limits.monthly_credits),
                "api_credits": credits_label(spent.api_credits),
                "api_percent": share(spent.api_credits, bounds.monthly_credits),
            }),
        )
        .with("per_minute", &per_minute)
        .with("monthly_cap", &monthly_cap)
        .with(
            "errors",
            &error
                .as_ref()
                .map(|(field, message, _, _)| json!({ *field: message }))
                .unwrap_or_else(|| json!({})),
        )
        .status(if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        })
        .render(state, &current.viewer())
        .await
}

pub async fn show(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &current, &id).await?;
    key_page(&state, &current, &key, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct LimitsForm {
    #[serde(default)]
    per_minute: String,
    #[serde(default)]
    monthly_cap: String,
}

/// Changes an active key's limits, within the plan's bounds; a refusal keeps what was typed.
pub async fn set_limits(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<LimitsForm>,
) -> Result<Response, AppError> {
    let key = own_key(&state, &current, &id).await?;
    let bounds = bounds_of(&state, current.user.id).await?;
    let limits = match limits_of(&form.per_minute, &form.monthly_cap, &bounds) {
        Ok(limits) => limits,
        Err((field, message)) => {
            let error = Some((field, message, &*form.per_minute, &*form.monthly_cap));
            return key_page(&state, &current, &key, error).await;
        }
    };
    if !state
        .stores()
        .api_keys
        .set_limits(current.user.id, key.id, limits)
        .await?
    {
        let message = "This key was revoked; its limits no longer change anything.".to_owned();
        let error = Some(("per_minute", message, &*form.per_minute, &*form.monthly_cap));
        return key_page(&state, &current, &key, error).await;
    }
    crate::audit::record(
        &state,
        &current.user,
        crate::audit::AuditAction::ApiKeyLimitsChanged,
        crate::audit::user_subject(&current.user),
        json!({"key": key.id, "limits": key.limits}),
        json!({"key": key.id, "limits": limits}),
    )
    .await;
    session::flash(&current.session, "success", "The key's limits were saved.").await?;
    Ok(Redirect::to(&format!("/settings/api-keys/{}", key.id)).into_response())
}
