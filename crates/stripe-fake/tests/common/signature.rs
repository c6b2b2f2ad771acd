//! The webhook signature checked as Stripe documents it, written independently of the
//! stand-in's signing code.

use hmac::{KeyInit, Mac};

/// Verifies a `Stripe-Signature` header as Stripe documents it: take `t` and every `v1`,
/// HMAC-SHA256 over "<t>.<body>" with the secret, compare with a `v1`, check the tolerance.
pub fn verify_signature(secret: &str, header: &str, body: &str, tolerance: i64) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.push(v.to_string()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now - timestamp).abs() <= tolerance && candidates.iter().any(|c| c == &expected)
}
