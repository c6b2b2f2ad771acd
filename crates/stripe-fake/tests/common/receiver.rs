//! A small axum app standing in for an app's webhook endpoint, plus success and cancel pages.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing;
use serde_json::Value;

/// One webhook as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: String,
    pub signature: String,
    pub event: Value,
}

#[derive(Clone, Default)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    /// Answer 500 to this many requests before answering 200.
    fail_first: Arc<AtomicUsize>,
}

/// A small axum app standing in for our webhook endpoint, plus success/cancel pages.
pub struct Receiver {
    pub base: String,
    state: ReceiverState,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn webhook(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let body = String::from_utf8(body.to_vec()).expect("UTF-8 body");
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    state.received.lock().unwrap().push(Received {
        body,
        signature,
        event,
    });
    let failing = state
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn landing(Query(q): Query<Vec<(String, String)>>) -> String {
    let session = q
        .iter()
        .find(|(k, _)| k == "session_id")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    format!("landed session={session}")
}

impl Receiver {
    pub async fn start() -> Self {
        let state = ReceiverState::default();
        let app = Router::new()
            .route("/webhook", routing::post(webhook))
            .route("/success", routing::get(landing))
            .route("/cancel", routing::get(landing))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, state, task }
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/webhook", self.base)
    }

    pub fn fail_next(&self, n: usize) {
        self.state.fail_first.store(n, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn types(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|r| r.event["type"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Waits for a webhook of `kind`.
    pub async fn wait_for(&self, kind: &str) -> Received {
        for _ in 0..1000 {
            if let Some(found) = self
                .received()
                .into_iter()
                .find(|r| r.event["type"] == kind)
            {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no {kind} webhook within 10 s; got {:?}", self.types());
    }
}
