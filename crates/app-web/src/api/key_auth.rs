//! API-key authentication: `Authorization: Bearer qs_...`, with a rate limit per key.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use quickscale_domain_identity::{ApiKey, User, api_key_hash, looks_like_api_key};

use super::ApiProblem;
use crate::state::AppState;

/// A request authenticated by an active API key of an active user.
#[derive(Debug, Clone)]
pub struct ApiKeyAuth {
    pub key: ApiKey,
    pub user: User,
}

impl FromRequestParts<AppState> for ApiKeyAuth {
    type Rejection = ApiProblem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
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
        if !looks_like_api_key(token) {
            return Err(refused());
        }
        let now = state.clock().now();
        let key = state
            .stores()
            .api_keys
            .authenticate(&api_key_hash(token), now)
            .await?
            .ok_or_else(refused)?;
        state
            .limits()
            .api
            .check(key.id.0)
            .map_err(ApiProblem::too_many)?;
        let user = state
            .users()
            .by_id(key.user)
            .await?
            .filter(|user| user.is_active && user.deleted_at.is_none())
            .ok_or_else(refused)?;
        Ok(ApiKeyAuth { key, user })
    }
}
