//! The JSON API's plumbing: API-key authentication (`Authorization: Bearer qs_...`), a rate limit
//! per key (`limits::RateLimits::api_key`, at the key's rate within its plan's bounds:
//! `key_bounds`), and errors as problem details (RFC 9457,
//! `application/problem+json`). Browser sessions never authenticate an API request, so the API
//! needs no CSRF token and a page cannot make a signed-in visitor's browser call it. The API's
//! routes are in `routes::api_v1`.

mod key_auth;
pub mod key_bounds;
pub mod problem;

pub use key_auth::ApiKeyAuth;
pub use problem::ApiProblem;
