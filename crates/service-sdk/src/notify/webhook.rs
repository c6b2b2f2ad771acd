//! The webhooks QuickScale sends to its users: the payload, and its signature.
//!
//! Each POST carries `QuickScale-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
//! HMAC-SHA256, under the endpoint's secret, of `"{t}.{body}"` (the timestamp, a full stop, and
//! the raw request body). A receiver recomputes it over the body exactly as received, compares
//! in constant time, and refuses a timestamp too far from its own clock (a captured request
//! replayed later). [`verify_signature`] does all three.

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

use super::RunEnded;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "QuickScale-Signature";

/// The tolerance receivers should use unless they have a reason not to: five minutes.
pub const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `t=` timestamp or no `v1=` signature in the header.
    #[error("the QuickScale-Signature header is missing or malformed")]
    Malformed,
    /// Signed too long ago, or in the future, for the tolerance.
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    /// No `v1` signature matches the body under this secret.
    #[error("the signature does not match")]
    Mismatch,
}

/// The `QuickScale-Signature` value for `body` signed with `secret` at `timestamp` (unix
/// seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body))
    )
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Checks a `QuickScale-Signature` header for `body` (the raw bytes received) at `now` (unix
/// seconds): some `v1` value must be the HMAC-SHA256 of `"{t}.{body}"` under `secret`
/// (compared in constant time), and `t` within `tolerance_seconds` of `now`.
///
/// ```
/// use quickscale_service_sdk::notify::webhook::{sign, verify_signature};
/// let body = br#"{"type":"run.succeeded"}"#;
/// let header = sign("whsec_example", 1_700_000_000, body);
/// assert!(verify_signature("whsec_example", &header, body, 1_700_000_060, 300).is_ok());
/// assert!(verify_signature("whsec_other", &header, body, 1_700_000_060, 300).is_err());
/// ```
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: u64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > tolerance_seconds {
        return Err(SignatureError::Stale);
    }
    for signature in &signatures {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // `verify_slice` compares in constant time.
        if mac.verify_slice(signature).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// The body of a webhook: one event about one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The event's id (`evt_` and the run's id): the same in every attempt and replay, so a
    /// receiver can drop a repeat.
    pub id: String,
    /// `run.succeeded` or `run.failed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event happened (the run's end).
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// The run.
    pub data: WebhookRun,
}

/// The run an event is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRun {
    /// The run's id (`GET /api/v1/runs/{id}` reads it).
    pub id: String,
    /// The service's slug.
    pub service: String,
    /// `succeeded`, `failed` or `timed_out`.
    pub status: String,
    /// Credits the run kept, as a decimal string ("0.00" after a refund).
    pub cost: String,
    /// The output's one-line summary (succeeded runs).
    pub summary: Option<String>,
    /// Why it failed (failed runs).
    pub error: Option<String>,
    /// Whether it ran in the background.
    pub background: bool,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
}

impl WebhookEvent {
    /// The event users receive for `ended`.
    pub fn of(ended: &RunEnded) -> Self {
        WebhookEvent {
            id: event_id(ended),
            kind: ended.result.event_type().to_owned(),
            created: ended.finished_at,
            data: WebhookRun {
                id: ended.run.to_string(),
                service: ended.service.clone(),
                status: ended.status.clone(),
                cost: ended.cost.to_string(),
                summary: ended.summary.clone(),
                error: ended.error.clone(),
                background: ended.background,
                started_at: ended.started_at,
                finished_at: ended.finished_at,
            },
        }
    }
}

/// The id of the event about `ended`: one per run.
pub fn event_id(ended: &RunEnded) -> String {
    format!("evt_{}", ended.run.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"run.succeeded"}"#;

    #[test]
    fn a_signature_verifies_under_its_secret_and_body_only() {
        let header = sign(SECRET, 1_700_000_000, BODY);
        assert_eq!(
            verify_signature(SECRET, &header, BODY, 1_700_000_000, 300),
            Ok(())
        );
        assert_eq!(
            verify_signature("whsec_other", &header, BODY, 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(SECRET, &header, b"{}", 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: python3 -c 'import hmac,hashlib;
        // print(hmac.new(b"whsec_test", b"1700000000.{\"id\":\"evt_1\",\"type\":\"run.succeeded\"}",
        // hashlib.sha256).hexdigest())'
        assert_eq!(
            sign(SECRET, 1_700_000_000, BODY),
            "t=1700000000,v1=cfc35a2a2b6ea5efaeec059cfaa9bcc63e3222afa21418364c936cb35a705ddc"
        );
    }

    #[test]
    fn a_stale_or_future_timestamp_is_refused() {
        let header = sign(SECRET, 1_700_000_000, BODY);
        assert_eq!(
            verify_signature(SECRET, &header, BODY, 1_700_000_301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(SECRET, &header, BODY, 1_699_999_699, 300),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for header in [
            "",
            "t=1700000000",
            "v1=00",
            "t=abc,v1=00",
            "t=1700000000,v1=zz",
        ] {
            assert_eq!(
                verify_signature(SECRET, header, BODY, 1_700_000_000, 300),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn any_matching_v1_is_enough() {
        let good = sign(SECRET, 1_700_000_000, BODY);
        let v1 = good.split_once("v1=").unwrap().1;
        let header = format!("t=1700000000,v1={},v1={v1}", "00".repeat(32));
        assert_eq!(
            verify_signature(SECRET, &header, BODY, 1_700_000_000, 300),
            Ok(())
        );
    }
}
