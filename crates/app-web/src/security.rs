//! CSRF protection for every unsafe request, the security headers on every response, and the
//! guard of the development pages.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tower_sessions::Session;

use crate::error::AppError;
use crate::session::{constant_time_eq, expected_csrf_token, random_token};
use crate::state::AppState;

/// The form field and header that carry the token.
pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// Paths that authenticate by other means (API keys, signed webhooks) and carry no cookies.
fn exempt(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/webhooks/")
}

/// The cookie that carries a visitor's CSRF secret.
pub const CSRF_COOKIE: &str = "qs_csrf";

type HmacSha256 = Hmac<Sha256>;

/// A visitor's CSRF protection without a stored session (a signed double-submit token): a
/// random value in its own cookie ([`CSRF_COOKIE`]: HttpOnly, SameSite=Lax, Secure when the
/// session cookie is), and the token pages carry is the HMAC-SHA256 of that value keyed by
/// `SECRET_KEY`. Another site can neither read the cookie nor compute the token, so a request
/// carrying a token that matches its cookie came from one of our pages. The cookie is set on
/// the response only when the request had none and a page used its token.
#[derive(Clone)]
pub struct VisitorCsrf {
    token: String,
    /// `Some` when the request had no (well-formed) cookie: the value to set, and whether a
    /// page used the token.
    fresh: Option<(String, Arc<AtomicBool>)>,
}

impl fmt::Debug for VisitorCsrf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VisitorCsrf(***)")
    }
}

impl VisitorCsrf {
    /// The token for this visitor's pages (marks the cookie as needed).
    pub fn token(&self) -> String {
        if let Some((_, used)) = &self.fresh {
            used.store(true, Ordering::Relaxed);
        }
        self.token.clone()
    }
}

/// The token for a CSRF cookie's value: hex HMAC-SHA256 under `key`.
pub fn visitor_csrf_token(key: &[u8], cookie_value: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(b"qs-csrf:");
    mac.update(cookie_value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The request's CSRF cookie, when it is one we could have issued (64 hex digits).
fn csrf_cookie(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CSRF_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Refuses unsafe requests (POST, PUT, PATCH, DELETE) unless they carry a valid CSRF token:
/// the session's own token, or the visitor's signed token that matches their CSRF cookie
/// ([`VisitorCsrf`]). The token travels in the `X-CSRF-Token` header (HTMX sends it), in the
/// `csrf_token` form field, or for multipart uploads in the `csrf_token` query parameter. A
/// cross-site `Origin` is refused too. Every request gets its [`VisitorCsrf`] for the pages it
/// renders.
pub async fn csrf(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let config = state.config();
    let key = config.secret_key.expose().as_bytes();
    let cookie = csrf_cookie(&request);
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) || exempt(request.uri().path());
    if !safe {
        let visitor_token = cookie.as_deref().map(|c| visitor_csrf_token(key, c));
        request = match checked(session, request, visitor_token).await {
            Ok(request) => request,
            Err(error) => return error.into_response(),
        };
    }
    let (visitor, fresh) = match cookie {
        Some(value) => (
            VisitorCsrf {
                token: visitor_csrf_token(key, &value),
                fresh: None,
            },
            None,
        ),
        None => {
            let value = random_token();
            let used = Arc::new(AtomicBool::new(false));
            (
                VisitorCsrf {
                    token: visitor_csrf_token(key, &value),
                    fresh: Some((value.clone(), used.clone())),
                },
                Some((value, used)),
            )
        }
    };
    request.extensions_mut().insert(visitor);
    let mut response = next.run(request).await;
    if let Some((value, used)) = fresh
        && used.load(Ordering::Relaxed)
    {
        let secure = if config.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!("{CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

async fn checked(
    session: Session,
    request: Request,
    visitor_token: Option<String>,
) -> Result<Request, AppError> {
    if cross_site(&request) {
        return Err(AppError::Csrf);
    }
    let expected = expected_csrf_token(&session).await?;
    if expected.is_none() && visitor_token.is_none() {
        return Err(AppError::Csrf);
    }
    let matches = |token: &str| {
        let session_ok = expected
            .as_deref()
            .is_some_and(|e| constant_time_eq(token.as_bytes(), e.as_bytes()));
        let visitor_ok = visitor_token
            .as_deref()
            .is_some_and(|e| constant_time_eq(token.as_bytes(), e.as_bytes()));
        session_ok | visitor_ok
    };
    if let Some(token) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return if matches(token) {
            Ok(request)
        } else {
            Err(AppError::Csrf)
        };
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let token = request
            .uri()
            .query()
            .and_then(|q| field(q.as_bytes(), CSRF_FIELD));
        return if token.as_deref().is_some_and(matches) {
            Ok(request)
        } else {
            Err(AppError::Csrf)
        };
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let (parts, body) = request.into_parts();
        let bytes = to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| {
            AppError::BadRequest(
                "The form is too large: shorten what you entered and send it again.".into(),
            )
        })?;
        let token = field(&bytes, CSRF_FIELD);
        return if token.as_deref().is_some_and(matches) {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        } else {
            Err(AppError::Csrf)
        };
    }
    Err(AppError::Csrf)
}

/// A browser-sent `Origin` that is not this host means the form was posted from another site.
fn cross_site(request: &Request) -> bool {
    let Some(origin) = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    origin == "null" || !origin_host.eq_ignore_ascii_case(host)
}

fn field(encoded: &[u8], name: &str) -> Option<String> {
    form_pairs(encoded)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Decodes `application/x-www-form-urlencoded` pairs.
fn form_pairs(encoded: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(encoded).unwrap_or_default()
}

/// The content security policy: only our own scripts, styles and images; no inline script, no
/// eval (Alpine's CSP build). Forms may go to our own pages and to the payment processor's
/// hosted checkout (`checkout_origins`), where "Buy credits" redirects; browsers apply
/// `form-action` to that redirect.
pub fn content_security_policy(checkout_origins: &[String]) -> anyhow::Result<HeaderValue> {
    let mut form_action = String::from("'self'");
    for origin in checkout_origins {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src 'self'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
    );
    HeaderValue::from_str(&policy)
        .map_err(|_| anyhow::anyhow!("invalid checkout origin in {checkout_origins:?}"))
}

/// `scheme://host[:port]` of an absolute http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty() && !authority.contains(['@', ' ', ';', ',']))
        .then(|| format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// Development pages (every path under `/dev`, such as the outbox with its sign-in and reset
/// links) exist only while developing: a `BASE_URL` on this machine, no proxy in front
/// (`TRUST_PROXY` off), and a request straight from this machine that names it in `Host`
/// ([`from_this_machine`](quickscale_stripe_fake::local::from_this_machine): a loopback peer
/// alone would let a page that rebinds its own name to 127.0.0.1 read them). Otherwise they
/// answer 404, as if they did not exist.
pub async fn development_only(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path != "/dev" && !path.starts_with("/dev/") {
        return next.run(request).await;
    }
    let config = state.config();
    if config.serves_development_pages()
        && quickscale_stripe_fake::local::from_this_machine(&request)
    {
        next.run(request).await
    } else {
        AppError::NotFound.into_response()
    }
}

/// Adds the security headers to every response.
pub async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            state.0.content_security_policy.clone(),
        );
    }
    let mut set = |name: &'static str, value: &'static str| {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set("x-frame-options", "DENY");
    set("x-content-type-options", "nosniff");
    set("referrer-policy", "same-origin");
    set(
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    );
    set("cross-origin-opener-policy", "same-origin");
    if state.config().secure_cookies {
        set(
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_may_go_to_the_checkout_origins_only() {
        let policy = content_security_policy(&[]).unwrap();
        assert!(policy.to_str().unwrap().contains("form-action 'self';"));
        let policy = content_security_policy(&[
            "https://checkout.stripe.com".to_owned(),
            "http://127.0.0.1:4242".to_owned(),
        ])
        .unwrap();
        assert!(
            policy
                .to_str()
                .unwrap()
                .contains("form-action 'self' https://checkout.stripe.com http://127.0.0.1:4242;")
        );
        assert!(content_security_policy(&["https://a.test\n".to_owned()]).is_err());
    }

    #[test]
    fn origins_of_urls() {
        assert_eq!(
            origin_of("http://127.0.0.1:4242/v1").as_deref(),
            Some("http://127.0.0.1:4242")
        );
        assert_eq!(
            origin_of("https://API.stripe.com").as_deref(),
            Some("https://api.stripe.com")
        );
        assert_eq!(origin_of("ftp://x.test/"), None);
        assert_eq!(origin_of("https://user@x.test/"), None);
        assert_eq!(origin_of("https:///path"), None);
    }

    #[test]
    fn reads_the_token_from_an_encoded_form() {
        assert_eq!(
            field(b"a=1&csrf_token=abc%2B1&b=2", CSRF_FIELD).as_deref(),
            Some("abc+1")
        );
        assert_eq!(field(b"a=1", CSRF_FIELD), None);
    }

    #[test]
    fn cross_site_origins_are_detected() {
        let request = |origin: &str| {
            Request::builder()
                .header(header::HOST, "localhost:8000")
                .header(header::ORIGIN, origin)
                .body(Body::empty())
                .unwrap()
        };
        assert!(!cross_site(&request("http://localhost:8000")));
        assert!(cross_site(&request("https://evil.example")));
        assert!(cross_site(&request("null")));
    }
}
