//! Signed webhook deliveries: one queue, delivered in order in the background, failed attempts
//! retried on the configured schedule, every attempt logged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{KeyInit, Mac};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::clock::{now, now_ms};
use crate::model::DeliveryState;
use crate::server::Shared;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The delivery log keeps the latest attempts only.
const MAX_LOGGED_ATTEMPTS: usize = 10_000;

/// The `Stripe-Signature` header for `payload` sent at `timestamp`:
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<payload>" keyed with the secret>`.
pub fn signature_header(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// One attempt to deliver an event, and what the endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryAttempt {
    pub event_id: String,
    pub event_type: String,
    /// 1 for the first attempt of a delivery, then 2, 3, ... for its retries.
    pub attempt: u32,
    /// Whether a test control asked for this delivery (no automatic retries then).
    pub manual: bool,
    pub url: Option<String>,
    /// When it was sent, in milliseconds since the Unix epoch.
    pub sent_at_ms: i64,
    pub duration_ms: u64,
    /// The endpoint's HTTP status, if it answered.
    pub status: Option<u16>,
    /// The start of the endpoint's answer (up to 2 KiB).
    pub response_body: Option<String>,
    /// A connection error or timeout.
    pub error: Option<String>,
    pub succeeded: bool,
    /// The `Stripe-Signature` header that was sent.
    pub signature: String,
    /// The exact body that was sent and signed.
    pub payload: String,
}

/// A queued delivery.
#[derive(Debug)]
pub(crate) struct Job {
    event_id: String,
    attempt: u32,
    manual: bool,
    done: Option<oneshot::Sender<DeliveryAttempt>>,
}

impl Job {
    pub fn new(
        event_id: String,
        manual: bool,
        done: Option<oneshot::Sender<DeliveryAttempt>>,
    ) -> Self {
        Self {
            event_id,
            attempt: 1,
            manual,
            done,
        }
    }
}

/// Delivers queued events one at a time, in the order they were queued.
pub(crate) async fn worker(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = rx.recv().await {
        deliver(&shared, job).await;
    }
}

async fn deliver(shared: &Arc<Shared>, job: Job) {
    let prepared = {
        let store = shared.lock();
        store.event(&job.event_id).map(|event| {
            let mut body = store.event_json(event);
            body["pending_webhooks"] = serde_json::json!(1);
            (event.kind.clone(), body, store.webhook_url.clone())
        })
    };
    let Some((kind, body, url)) = prepared else {
        tracing::warn!(event = %job.event_id, "delivery of an unknown event skipped");
        return;
    };
    let payload = serde_json::to_string_pretty(&body).unwrap_or_default();
    let timestamp = now();
    let signature = signature_header(&shared.webhook_secret, timestamp, payload.as_bytes());
    let sent_at_ms = now_ms();
    let started = Instant::now();
    let mut attempt = DeliveryAttempt {
        event_id: job.event_id.clone(),
        event_type: kind.clone(),
        attempt: job.attempt,
        manual: job.manual,
        url: url.clone(),
        sent_at_ms,
        duration_ms: 0,
        status: None,
        response_body: None,
        error: None,
        succeeded: false,
        signature: signature.clone(),
        payload: payload.clone(),
    };
    match &url {
        None => attempt.error = Some("no webhook URL is configured".to_string()),
        Some(url) => {
            let result = shared
                .http
                .post(url)
                .header("Content-Type", "application/json; charset=utf-8")
                .header("Stripe-Signature", &signature)
                .header(
                    "User-Agent",
                    "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                )
                .header("Cache-Control", "no-cache")
                .body(payload.clone())
                .send()
                .await;
            match result {
                Ok(response) => {
                    let status = response.status();
                    attempt.status = Some(status.as_u16());
                    attempt.succeeded = status.is_success();
                    let text = response.text().await.unwrap_or_default();
                    attempt.response_body = Some(truncate(text, 2048));
                }
                Err(error) => {
                    attempt.error = Some(if error.is_timeout() {
                        format!("timed out after {:?}", shared.config.webhook_timeout)
                    } else {
                        error_chain(&error)
                    });
                }
            }
        }
    }
    attempt.duration_ms = started.elapsed().as_millis() as u64;

    let schedule = &shared.config.retry_schedule;
    let retry_in: Option<Duration> = if attempt.succeeded || job.manual || url.is_none() {
        None
    } else {
        schedule.get(job.attempt as usize - 1).copied()
    };
    if attempt.succeeded {
        tracing::info!(event = %attempt.event_id, kind = %kind, attempt = attempt.attempt,
            status = ?attempt.status, "webhook delivered");
    } else {
        tracing::warn!(event = %attempt.event_id, kind = %kind, attempt = attempt.attempt,
            status = ?attempt.status, error = ?attempt.error, retry_in = ?retry_in,
            "webhook delivery failed");
    }
    {
        let mut store = shared.lock();
        store.deliveries.push(attempt.clone());
        if store.deliveries.len() > MAX_LOGGED_ATTEMPTS {
            let excess = store.deliveries.len() - MAX_LOGGED_ATTEMPTS;
            store.deliveries.drain(..excess);
        }
        let state = if attempt.succeeded {
            Some(DeliveryState::Delivered)
        } else if retry_in.is_some() {
            Some(DeliveryState::Pending)
        } else if url.is_none() {
            Some(DeliveryState::NoEndpoint)
        } else {
            Some(DeliveryState::Failed)
        };
        if let (Some(event), Some(state)) = (store.event_mut(&attempt.event_id), state) {
            // A later failed resend does not undo an earlier success.
            if event.delivery != DeliveryState::Delivered {
                event.delivery = state;
            }
        }
    }
    shared.persist();
    if let Some(done) = job.done {
        let _ = done.send(attempt);
    }
    if let Some(delay) = retry_in {
        let tx = shared.delivery_tx.clone();
        let retry = Job {
            event_id: job.event_id,
            attempt: job.attempt + 1,
            manual: false,
            done: None,
        };
        let handle = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(retry);
        });
        shared.track(handle);
    }
}

/// An error with its causes: "error sending request ...: connection refused".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // HMAC-SHA256("whsec_test", "1700000000.{}") computed independently (Python's hmac).
        let header = signature_header("whsec_test", 1_700_000_000, b"{}");
        assert_eq!(
            header,
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("ééé".to_string(), 3), "é");
        assert_eq!(truncate("abc".to_string(), 10), "abc");
    }
}
