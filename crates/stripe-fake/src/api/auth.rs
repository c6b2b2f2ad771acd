//! The API key: test-mode keys only, as a Bearer token or HTTP Basic's user (`curl -u`).

use axum::http::{HeaderMap, header};

use crate::error::ApiError;

pub(super) fn authenticate(headers: &HeaderMap) -> Result<(), ApiError> {
    const NO_KEY: &str = "You did not provide an API key. You need to provide your API key in the Authorization header, \
        using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication \
        for details, or we can help at https://support.stripe.com/.";
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ApiError::unauthorized(NO_KEY));
    };
    let key = if let Some(token) = value.strip_prefix("Bearer ") {
        token.trim().to_string()
    } else if let Some(encoded) = value.strip_prefix("Basic ") {
        let decoded = base64_decode(encoded)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_default();
        decoded.split(':').next().unwrap_or_default().to_string()
    } else {
        return Err(ApiError::unauthorized(
            "Invalid Authorization header: use Bearer auth (e.g. 'Authorization: Bearer sk_test_...').",
        ));
    };
    if key.is_empty() {
        return Err(ApiError::unauthorized(NO_KEY));
    }
    let test_key = ["sk_test_", "rk_test_"]
        .iter()
        .any(|p| key.starts_with(p) && key.len() > p.len());
    if test_key {
        return Ok(());
    }
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if key.starts_with("sk_live_") || key.starts_with("rk_live_") {
        return Err(ApiError::unauthorized(format!(
            "This is the QuickScale Stripe fake, which takes test-mode keys only (sk_test_...); a live key was given (****{tail})."
        )));
    }
    Err(ApiError::unauthorized(format!(
        "Invalid API Key provided: ****{tail}"
    )))
}

/// Decodes standard base64 (for HTTP Basic auth); `None` when malformed.
fn base64_decode(input: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }
    let trimmed = input.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for c in trimmed.bytes() {
        buffer = (buffer << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, StatusCode};

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn test_keys_are_accepted_in_bearer_and_basic_auth() {
        assert!(authenticate(&headers("Bearer sk_test_123")).is_ok());
        assert!(authenticate(&headers("Bearer rk_test_123")).is_ok());
        // "sk_test_123:" in base64, as `curl -u sk_test_123:` sends it.
        assert!(authenticate(&headers("Basic c2tfdGVzdF8xMjM6")).is_ok());
    }

    #[test]
    fn other_keys_are_refused() {
        assert!(authenticate(&HeaderMap::new()).is_err());
        assert!(authenticate(&headers("Bearer sk_live_123")).is_err());
        assert!(authenticate(&headers("Bearer sk_test_")).is_err());
        assert!(authenticate(&headers("Bearer pk_test_123")).is_err());
        let error = authenticate(&headers("Bearer nope1234")).unwrap_err();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        assert!(error.message.contains("****1234"));
    }

    #[test]
    fn base64_decodes_basic_auth() {
        assert_eq!(base64_decode("c2tfdGVzdF8xMjM6").unwrap(), b"sk_test_123:");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert!(base64_decode("!!").is_none());
    }
}
