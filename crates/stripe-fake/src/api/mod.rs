//! The `/v1` API. The middleware authenticates, injects faults, parses the parameters and
//! keeps idempotency keys; each area's endpoints parse their request into a typed value
//! (`requests`), call the store, and answer its JSON with `expand[]` applied.

mod auth;
mod catalog;
mod checkout;
mod customers;
mod events;
mod filters;
mod idempotency;
mod invoices;
mod list;
mod middleware;
mod payments;
mod portal;
mod refunds;
mod subscriptions;

use std::sync::Arc;

use axum::extract::{OriginalUri, Request, State};
use axum::http::Method;
use axum::middleware::{self as axum_middleware, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use crate::error::ApiError;
use crate::expand::Expansions;
use crate::form::{Node, Params};
use crate::model::RequestInfo;
use crate::server::Shared;
use crate::store::Store;

type AppState = State<Arc<Shared>>;
type ApiResult = Result<Json<Value>, ApiError>;

/// What the middleware hands the endpoints.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub request: RequestInfo,
    pub params: Arc<Params>,
}

impl Ctx {
    fn node(&self) -> Node<'_> {
        self.params.node()
    }
}

/// The whole app: the API, the hosted pages and the test controls.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let v1 = Router::new()
        .route(
            "/customers",
            post(customers::create).get(customers::list_all),
        )
        .route(
            "/customers/{id}",
            get(customers::get_one).post(customers::update),
        )
        .route(
            "/products",
            post(catalog::create_product).get(catalog::list_products),
        )
        .route("/products/{id}", get(catalog::get_product))
        .route(
            "/prices",
            post(catalog::create_price).get(catalog::list_prices),
        )
        .route("/prices/{id}", get(catalog::get_price))
        .route(
            "/checkout/sessions",
            post(checkout::create).get(checkout::list_all),
        )
        .route("/checkout/sessions/{id}", get(checkout::get_one))
        .route(
            "/checkout/sessions/{id}/line_items",
            get(checkout::line_items),
        )
        .route("/checkout/sessions/{id}/expire", post(checkout::expire))
        .route("/payment_intents", get(payments::list_intents))
        .route("/payment_intents/{id}", get(payments::get_intent))
        .route("/charges", get(payments::list_charges))
        .route("/charges/{id}", get(payments::get_charge))
        .route("/refunds", post(refunds::create).get(refunds::list_all))
        .route("/refunds/{id}", get(refunds::get_one))
        .route("/events", get(events::list_all))
        .route("/events/{id}", get(events::get_one))
        .route("/billing_portal/sessions", post(portal::create_session))
        .route("/subscriptions", get(subscriptions::list_all))
        .route(
            "/subscriptions/{id}",
            get(subscriptions::get_one)
                .post(subscriptions::update)
                .delete(subscriptions::cancel),
        )
        .route("/invoices", get(invoices::list_all))
        .route("/invoices/{id}", get(invoices::get_one))
        .route("/invoices/{id}/lines", get(invoices::lines))
        .fallback(unrecognized)
        .method_not_allowed_fallback(unrecognized)
        .layer(axum_middleware::from_fn_with_state(
            shared.clone(),
            middleware::api,
        ));
    Router::new()
        .nest("/v1", v1)
        .merge(crate::pages::router())
        .merge(crate::controls::router())
        .layer(axum_middleware::from_fn_with_state(
            shared.clone(),
            persist_changes,
        ))
        .with_state(shared)
}

/// Writes the state file after every request that may change the state (any but a read).
async fn persist_changes(State(shared): AppState, req: Request, next: Next) -> Response {
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = next.run(req).await;
    if changes {
        shared.persist();
    }
    response
}

async fn unrecognized(method: Method, uri: OriginalUri) -> ApiError {
    ApiError::unrecognized_url(method.as_str(), uri.path())
}

/// An endpoint's answer: `value` with the request's `expand[]` applied.
fn respond(store: &Store, mut value: Value, ctx: &Ctx) -> ApiResult {
    store.expand(&mut value, &Expansions::parse(&ctx.node())?)?;
    Ok(Json(value))
}
