//! Test controls under `/_test/...`, and the same operations for [`Running`](crate::Running).
//! They take no key, so they answer only requests from this machine
//! ([`from_this_machine`](crate::local::from_this_machine)): one of them hands out the webhook
//! signing secret.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::cards::{CARD_DECLINED, CARD_SUCCEEDS, CardInput};
use crate::error::ApiError;
use crate::faults::Fault;
use crate::model::{RequestInfo, type_matches};
use crate::server::Shared;
use crate::store::{PayOutcome, PayRefusal};
use crate::webhook::DeliveryAttempt;

type AppState = State<Arc<Shared>>;

/// Why a test control could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("the fake has stopped")]
    Stopped,
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/_test/checkout/sessions/{id}/complete",
            post(complete_handler),
        )
        .route("/_test/checkout/sessions/{id}/fail", post(fail_handler))
        .route("/_test/checkout/sessions/{id}/expire", post(expire_handler))
        .route("/_test/subscriptions/{id}/renew", post(renew_handler))
        .route("/_test/subscriptions/{id}/elapse", post(elapse_handler))
        .route("/_test/events", get(events_handler))
        .route("/_test/events/deliver", post(deliver_many_handler))
        .route("/_test/events/{id}/deliver", post(deliver_one_handler))
        .route(
            "/_test/withhold",
            get(get_withhold).post(set_withhold).delete(clear_withhold),
        )
        .route(
            "/_test/faults",
            get(get_fault).post(set_fault).delete(clear_fault),
        )
        .route(
            "/_test/deliveries",
            get(deliveries_handler).delete(clear_deliveries),
        )
        .route("/_test/webhook", get(get_webhook).post(set_webhook))
        .route("/_test/reset", post(reset_handler))
        .layer(axum::middleware::from_fn(
            crate::local::only_from_this_machine,
        ))
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::NotFound(_) => StatusCode::NOT_FOUND,
            ControlError::Refused(_) => StatusCode::CONFLICT,
            ControlError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

fn refusal(id: &str, refusal: PayRefusal) -> ControlError {
    match refusal {
        PayRefusal::NotFound => ControlError::NotFound(format!("checkout session {id}")),
        PayRefusal::Expired => ControlError::Refused(format!("checkout session {id} has expired")),
        PayRefusal::AlreadyPaid => {
            ControlError::Refused(format!("checkout session {id} is already paid"))
        }
        PayRefusal::UnknownCard => {
            ControlError::Refused("not one of the test cards the fake knows".to_string())
        }
    }
}

pub(crate) fn complete(
    shared: &Shared,
    id: &str,
    card: Option<&str>,
) -> Result<Value, ControlError> {
    let card = CardInput::test(card.unwrap_or(CARD_SUCCEEDS));
    match shared.lock().pay_session(id, &card) {
        Ok(PayOutcome::Paid { session }) => Ok(session),
        Ok(PayOutcome::Declined { message, .. }) => Err(ControlError::Refused(message)),
        Err(r) => Err(refusal(id, r)),
    }
}

pub(crate) fn fail(shared: &Shared, id: &str, card: Option<&str>) -> Result<Value, ControlError> {
    let card = CardInput::test(card.unwrap_or(CARD_DECLINED));
    match shared.lock().pay_session(id, &card) {
        Ok(PayOutcome::Declined { payment_intent, .. }) => Ok(payment_intent),
        Ok(PayOutcome::Paid { .. }) => Err(ControlError::Refused(
            "that card succeeds; the session was paid".into(),
        )),
        Err(r) => Err(refusal(id, r)),
    }
}

/// An API error as a control's: 404 is "not found", anything else a refusal.
fn control_error(what: &str, id: &str, error: ApiError) -> ControlError {
    if error.status == StatusCode::NOT_FOUND {
        ControlError::NotFound(format!("{what} {id}"))
    } else {
        ControlError::Refused(error.message)
    }
}

pub(crate) fn expire(shared: &Shared, id: &str) -> Result<Value, ControlError> {
    let mut store = shared.lock();
    store.refresh_session(id);
    store
        .expire_session(id, &RequestInfo::default())
        .map_err(|e| control_error("checkout session", id, e))
}

pub(crate) fn renew(shared: &Shared, id: &str, card: Option<&str>) -> Result<Value, ControlError> {
    let card = card.map(digits);
    shared
        .lock()
        .renew_subscription(id, card.as_deref())
        .map_err(|e| control_error("subscription", id, e))
}

pub(crate) fn elapse(shared: &Shared, id: &str, seconds: i64) -> Result<Value, ControlError> {
    shared
        .lock()
        .elapse_subscription(id, seconds)
        .map_err(|e| control_error("subscription", id, e))
}

/// Queues the events in order and waits for each first attempt's answer.
pub(crate) async fn deliver(
    shared: &Shared,
    ids: &[String],
) -> Result<Vec<DeliveryAttempt>, ControlError> {
    let mut waiting = Vec::new();
    {
        let mut store = shared.lock();
        if let Some(missing) = ids.iter().find(|id| store.event(id).is_none()) {
            return Err(ControlError::NotFound(format!("event {missing}")));
        }
        for id in ids {
            let (tx, rx) = oneshot::channel();
            store.queue_delivery(id, Some(tx));
            waiting.push(rx);
        }
    }
    let limit = shared.config.webhook_timeout + Duration::from_secs(5);
    let mut attempts = Vec::new();
    for rx in waiting {
        match tokio::time::timeout(limit * ids.len() as u32, rx).await {
            Ok(Ok(attempt)) => attempts.push(attempt),
            _ => return Err(ControlError::Stopped),
        }
    }
    Ok(attempts)
}

pub(crate) fn reset(shared: &Shared) {
    let catalog = shared.config.catalog.clone();
    shared.lock().reset(&catalog);
}

#[derive(Debug, Default, Deserialize)]
struct CardBody {
    card: Option<String>,
}

/// A card number without its spaces (`4242 4242 4242 4242`).
fn digits(card: &str) -> String {
    card.chars().filter(char::is_ascii_digit).collect()
}

fn card_of(body: Option<Json<CardBody>>) -> Option<String> {
    body.and_then(|Json(b)| b.card).as_deref().map(digits)
}

async fn complete_handler(
    State(s): AppState,
    Path(id): Path<String>,
    body: Option<Json<CardBody>>,
) -> Response {
    match complete(&s, &id, card_of(body).as_deref()) {
        Ok(session) => Json(session).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn fail_handler(
    State(s): AppState,
    Path(id): Path<String>,
    body: Option<Json<CardBody>>,
) -> Response {
    match fail(&s, &id, card_of(body).as_deref()) {
        Ok(intent) => Json(intent).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn expire_handler(State(s): AppState, Path(id): Path<String>) -> Response {
    match expire(&s, &id) {
        Ok(session) => Json(session).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `{"card": "4000 0000 0000 0002"}` (optional) replaces the card before the renewal.
async fn renew_handler(
    State(s): AppState,
    Path(id): Path<String>,
    body: Option<Json<CardBody>>,
) -> Response {
    match renew(&s, &id, card_of(body).as_deref()) {
        Ok(subscription) => Json(subscription).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct ElapseBody {
    seconds: i64,
}

/// `{"seconds": N}`: N seconds of the subscription's current period pass.
async fn elapse_handler(
    State(s): AppState,
    Path(id): Path<String>,
    Json(body): Json<ElapseBody>,
) -> Response {
    match elapse(&s, &id, body.seconds) {
        Ok(subscription) => Json(subscription).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Events oldest first with their delivery state.
async fn events_handler(State(s): AppState) -> Json<Value> {
    let store = s.lock();
    let events: Vec<Value> = store
        .events
        .iter()
        .map(
            |e| json!({ "id": e.id, "type": e.kind, "created": e.created, "delivery": e.delivery }),
        )
        .collect();
    Json(json!({ "data": events }))
}

async fn deliver_one_handler(State(s): AppState, Path(id): Path<String>) -> Response {
    match deliver(&s, std::slice::from_ref(&id)).await {
        Ok(mut attempts) => Json(attempts.pop()).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct DeliverMany {
    ids: Vec<String>,
}

async fn deliver_many_handler(State(s): AppState, Json(body): Json<DeliverMany>) -> Response {
    match deliver(&s, &body.ids).await {
        Ok(attempts) => Json(json!({ "data": attempts })).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct Withhold {
    types: Vec<String>,
}

async fn get_withhold(State(s): AppState) -> Json<Value> {
    Json(json!({ "types": s.lock().withheld }))
}

async fn set_withhold(State(s): AppState, Json(body): Json<Withhold>) -> Json<Value> {
    let mut store = s.lock();
    store.withheld = body.types;
    Json(json!({ "types": store.withheld }))
}

async fn clear_withhold(State(s): AppState) -> Json<Value> {
    s.lock().withheld.clear();
    Json(json!({ "types": [] }))
}

async fn get_fault(State(s): AppState) -> Json<Value> {
    Json(json!({ "fault": s.lock().fault }))
}

async fn set_fault(State(s): AppState, Json(fault): Json<Fault>) -> Json<Value> {
    let mut store = s.lock();
    store.fault = (fault.count > 0).then_some(fault);
    Json(json!({ "fault": store.fault }))
}

async fn clear_fault(State(s): AppState) -> Json<Value> {
    s.lock().fault = None;
    Json(json!({ "fault": null }))
}

#[derive(Debug, Deserialize)]
struct DeliveryFilter {
    event_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn deliveries_handler(
    State(s): AppState,
    Query(filter): Query<DeliveryFilter>,
) -> Json<Value> {
    let store = s.lock();
    let data: Vec<&DeliveryAttempt> = store
        .deliveries
        .iter()
        .filter(|d| {
            filter.event_id.as_ref().is_none_or(|id| &d.event_id == id)
                && filter
                    .kind
                    .as_ref()
                    .is_none_or(|k| type_matches(k, &d.event_type))
        })
        .collect();
    Json(json!({ "data": data }))
}

async fn clear_deliveries(State(s): AppState) -> Json<Value> {
    s.lock().deliveries.clear();
    Json(json!({ "data": [] }))
}

#[derive(Debug, Deserialize)]
struct WebhookBody {
    url: Option<String>,
}

async fn get_webhook(State(s): AppState) -> Json<Value> {
    Json(json!({ "url": s.lock().webhook_url, "secret": s.webhook_secret }))
}

async fn set_webhook(State(s): AppState, Json(body): Json<WebhookBody>) -> Json<Value> {
    let mut store = s.lock();
    store.webhook_url = body.url.filter(|u| !u.is_empty());
    Json(json!({ "url": store.webhook_url, "secret": s.webhook_secret }))
}

async fn reset_handler(State(s): AppState) -> Json<Value> {
    reset(&s);
    Json(json!({ "reset": true }))
}
