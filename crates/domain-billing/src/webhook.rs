//! Verifying Stripe's webhook signatures, and reading the events.
//!
//! Stripe signs `"<timestamp>.<raw body>"` with HMAC-SHA256 under the endpoint's secret and sends
//! `Stripe-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>...]`. A request is genuine when some `v1`
//! value matches under some current secret (several during a secret rotation) and the timestamp
//! is within the tolerance of now.

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Stripe's default tolerance: five minutes.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// Why a webhook request was refused. Nothing is stored when this happens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No timestamp, or no `v1` signature.
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    /// Signed too long ago (or in the future): a captured request replayed later is refused.
    #[error("the signature timestamp is outside the tolerance")]
    Stale,
    /// No signature matches any current secret: not from the processor, or the secret is wrong.
    #[error("no signature matches")]
    Mismatch,
}

/// Checks `header` (the `Stripe-Signature` value) for `payload` at `now` (unix seconds).
pub fn verify_signature(
    payload: &[u8],
    header: &str,
    secrets: &[&str],
    now: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let mut timestamp: Option<&str> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value),
            Some(("v1", value)) => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp_text = timestamp.ok_or(SignatureError::Malformed)?;
    let timestamp: i64 = timestamp_text
        .parse()
        .map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // Any i64 may arrive in the header: the distance is taken without overflowing.
    if now.abs_diff(timestamp) > tolerance_seconds.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        for signature in &signatures {
            let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
                .map_err(|_| SignatureError::Malformed)?;
            mac.update(timestamp_text.as_bytes());
            mac.update(b".");
            mac.update(payload);
            // `verify_slice` compares in constant time.
            if mac.verify_slice(signature).is_ok() {
                return Ok(());
            }
        }
    }
    Err(SignatureError::Mismatch)
}

/// Signs `payload` like Stripe does (for the offline stand-in and tests).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// What we keep of an event: its id, type, time, the id of the object it is about, and the raw
/// JSON (stored as received).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The processor's event id (`evt_...`), unique: the inbox stores each event once.
    pub id: String,
    /// The event type (`checkout.session.completed`, `invoice.paid`).
    pub kind: String,
    /// When the processor created it, in Unix seconds.
    pub created: i64,
    /// The id of the object it is about (`data.object.id`), to find every event about a payment.
    pub object_id: Option<String>,
    /// The event's JSON as received, kept so that processing can be replayed.
    pub payload: String,
}

/// Why an event body could not be read; holds the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event could not be read: {0}")]
pub struct EventError(pub String);

impl WebhookEvent {
    /// Reads the fields we index from a Stripe event body.
    pub fn parse(payload: &str) -> Result<Self, EventError> {
        let value: serde_json::Value =
            serde_json::from_str(payload).map_err(|e| EventError(e.to_string()))?;
        let id = value["id"]
            .as_str()
            .filter(|id| id.starts_with("evt_"))
            .ok_or_else(|| EventError("no event id".into()))?;
        let kind = value["type"]
            .as_str()
            .ok_or_else(|| EventError("no event type".into()))?;
        Ok(WebhookEvent {
            id: id.to_owned(),
            kind: kind.to_owned(),
            created: value["created"].as_i64().unwrap_or_default(),
            object_id: value["data"]["object"]["id"].as_str().map(str::to_owned),
            payload: payload.to_owned(),
        })
    }

    /// The event's `data.object`.
    pub fn object(&self) -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(&self.payload)
            .map(|v| v["data"]["object"].clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn accepts_its_own_signature_and_any_rotated_secret() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, 1_700_000_000);
        assert_eq!(
            verify_signature(body, &header, &[SECRET], 1_700_000_100, 300),
            Ok(())
        );
        assert_eq!(
            verify_signature(body, &header, &["whsec_old", SECRET], 1_700_000_000, 300),
            Ok(())
        );
        let two = format!("{header},v1={}", "00".repeat(32));
        assert_eq!(
            verify_signature(body, &two, &[SECRET], 1_700_000_000, 300),
            Ok(())
        );
    }

    #[test]
    fn refuses_forgeries_stale_and_malformed_headers() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, 1_700_000_000);
        assert_eq!(
            verify_signature(
                b"{\"id\":\"evt_2\"}",
                &header,
                &[SECRET],
                1_700_000_000,
                300
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(body, &header, &["whsec_other"], 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(body, &header, &[SECRET], 1_700_000_301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(body, "v1=abc", &[SECRET], 0, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(body, "t=1", &[SECRET], 1, 300),
            Err(SignatureError::Malformed)
        );
    }

    /// Found by the `webhook_signature` fuzz target: the extreme timestamps overflowed the
    /// distance to now (a panic in debug builds).
    #[test]
    fn extreme_timestamps_are_stale_not_a_panic() {
        for header in [
            "t=-9223372036854775808,v1=00",
            "t=9223372036854775807,v1=00",
        ] {
            for now in [0, 1_700_000_000, i64::MIN, i64::MAX] {
                let verdict = verify_signature(b"{}", header, &[SECRET], now, 300);
                assert!(
                    matches!(
                        verdict,
                        Err(SignatureError::Stale | SignatureError::Mismatch)
                    ),
                    "{header} at {now}: {verdict:?}"
                );
            }
        }
    }

    /// Stripe's documented example scheme, computed independently (Python's hmac module):
    /// `python3 -c "import hmac,hashlib;print(hmac.new(b'whsec_test_secret', b'1700000000.{\"id\":\"evt_1\"}', hashlib.sha256).hexdigest())"`
    #[test]
    fn matches_an_independently_computed_vector() {
        let header = sign(br#"{"id":"evt_1"}"#, SECRET, 1_700_000_000);
        assert_eq!(header, format!("t=1700000000,v1={}", INDEPENDENT_VECTOR));
        // And verification accepts the independent header on its own, and nothing else.
        let independent = format!("t=1700000000,v1={INDEPENDENT_VECTOR}");
        let payload = br#"{"id":"evt_1"}"#;
        assert!(verify_signature(payload, &independent, &[SECRET], 1_700_000_010, 300).is_ok());
        assert!(
            verify_signature(
                br#"{"id":"evt_2"}"#,
                &independent,
                &[SECRET],
                1_700_000_010,
                300
            )
            .is_err()
        );
        assert!(
            verify_signature(payload, &independent, &["whsec_other"], 1_700_000_010, 300).is_err()
        );
    }

    const INDEPENDENT_VECTOR: &str =
        "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a";

    #[test]
    fn reads_event_fields() {
        let event = WebhookEvent::parse(r#"{"id":"evt_9","type":"checkout.session.completed","created":5,"data":{"object":{"id":"cs_test_1","object":"checkout.session"}}}"#).unwrap();
        assert_eq!(event.kind, "checkout.session.completed");
        assert_eq!(event.object_id.as_deref(), Some("cs_test_1"));
        assert_eq!(event.object()["object"], "checkout.session");
        assert!(WebhookEvent::parse(r#"{"type":"x"}"#).is_err());
    }
}
