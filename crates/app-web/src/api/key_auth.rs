//! API-key authentication: `Authorization: Bearer qs_...`, with a rate limit per key, and one per
//! client address for keys that do not authenticate, enforced before the lookup.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use quickscale_domain_identity::{ApiBounds, ApiKey, User, api_key_hash, looks_like_api_key};

use super::ApiProblem;
use super::key_bounds::{bounds_of, key_quota};
use crate::extract::ClientAddress;
use crate::state::AppState;

/// A request authenticated by an active API key of an active user.
#[derive(Debug, Clone)]
pub struct ApiKeyAuth {
    pub key: ApiKey,
    pub user: User,
    /// The bounds of the user's keys now (their plan's, or the app's defaults).
    pub bounds: ApiBounds,
}

impl FromRequestParts<AppState> for ApiKeyAuth {
    type Rejection = ApiProblem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ClientAddress(client) = match ClientAddress::from_request_parts(parts, state).await {
            Ok(address) => address,
            Err(never) => match never {},
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                // The scheme is case-insensitive (RFC 9110).
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(token)
            })
            .map(str::trim)
            .ok_or_else(|| {
                ApiProblem::unauthorized(
                    "Send an API key as `Authorization: Bearer qs_...`; make one in Settings, API keys.",
                )
            })?;
        let refused = || ApiProblem::unauthorized("This API key is not valid or was revoked.");
        let hash = api_key_hash(token);
        let limits = state.limits();
        limits
            .check_unknown_key(client, &hash)
            .await
            .map_err(ApiProblem::too_many_unknown_keys)?;
        // A failure (the database, the key's own budget) says nothing about the key.
        let authenticated = authenticate(state, token, &hash).await?;
        limits
            .record_key(client, &hash, authenticated.is_some())
            .await
            .map_err(ApiProblem::too_many_unknown_keys)?;
        authenticated.ok_or_else(refused)
    }
}

/// The key and its user, when the key is well-formed, known, active, and its user too.
async fn authenticate(
    state: &AppState,
    token: &str,
    hash: &str,
) -> Result<Option<ApiKeyAuth>, ApiProblem> {
    if !looks_like_api_key(token) {
        return Ok(None);
    }
    let now = state.clock().now();
    let Some(key) = state.stores().api_keys.authenticate(hash, now).await? else {
        return Ok(None);
    };
    let Some(user) = state
        .users()
        .by_id(key.user)
        .await?
        .filter(|user| user.is_active && user.deleted_at.is_none())
    else {
        return Ok(None);
    };
    tracing::Span::current().record("user_id", tracing::field::display(user.id));
    let bounds = bounds_of(state, user.id).await?;
    state
        .limits()
        .api_key(key.id.0, key_quota(&key, &bounds, state.config().api_rate))
        .await
        .map_err(ApiProblem::too_many)?;
    Ok(Some(ApiKeyAuth { key, user, bounds }))
}
