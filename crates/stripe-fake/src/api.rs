//! The `/v1` API: authentication, faults, idempotency keys, then the endpoints.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{OriginalUri, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::Value;

use crate::error::{ApiError, Replayable};
use crate::form::{Node, Params};
use crate::objects::{list, ordered_list};
use crate::store::{IdempotencyEntry, RequestInfo, Store, StoredResponse, type_matches};
use crate::util::{base64_decode, ids};
use crate::{Fault, FaultMode, Shared};

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
        .route("/customers", post(create_customer).get(list_customers))
        .route("/customers/{id}", get(get_customer).post(update_customer))
        .route("/products", post(create_product).get(list_products))
        .route("/products/{id}", get(get_product))
        .route("/prices", post(create_price).get(list_prices))
        .route("/prices/{id}", get(get_price))
        .route(
            "/checkout/sessions",
            post(create_session).get(list_sessions),
        )
        .route("/checkout/sessions/{id}", get(get_session))
        .route(
            "/checkout/sessions/{id}/line_items",
            get(session_line_items),
        )
        .route("/checkout/sessions/{id}/expire", post(expire_session))
        .route("/payment_intents", get(list_payment_intents))
        .route("/payment_intents/{id}", get(get_payment_intent))
        .route("/charges", get(list_charges))
        .route("/charges/{id}", get(get_charge))
        .route("/refunds", post(create_refund).get(list_refunds))
        .route("/refunds/{id}", get(get_refund))
        .route("/events", get(list_events))
        .route("/events/{id}", get(get_event))
        .route("/billing_portal/sessions", post(create_portal_session))
        .route("/subscriptions", get(list_subscriptions))
        .route(
            "/subscriptions/{id}",
            get(get_subscription)
                .post(update_subscription)
                .delete(cancel_subscription),
        )
        .route("/invoices", get(list_invoices))
        .route("/invoices/{id}", get(get_invoice))
        .route("/invoices/{id}/lines", get(invoice_lines))
        .fallback(unrecognized)
        .method_not_allowed_fallback(unrecognized)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            api_middleware,
        ));
    Router::new()
        .nest("/v1", v1)
        .merge(crate::pages::router())
        .merge(crate::controls::router())
        .layer(middleware::from_fn_with_state(
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

// ----- middleware ---------------------------------------------------------------------------

async fn api_middleware(State(shared): AppState, req: Request, next: Next) -> Response {
    let request_id = ids::request();
    let mut response = handle(&shared, req, next, &request_id).await;
    let headers = response.headers_mut();
    if !headers.contains_key("request-id")
        && let Ok(value) = HeaderValue::from_str(&request_id)
    {
        headers.insert("request-id", value);
    }
    if let Ok(value) = HeaderValue::from_str(&shared.config.api_version) {
        headers.insert("stripe-version", value);
    }
    response
}

async fn handle(shared: &Arc<Shared>, req: Request, next: Next, request_id: &str) -> Response {
    if let Err(error) = authenticate(req.headers()) {
        return error.into_response();
    }
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|uri| uri.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let method = req.method().clone();
    let fault = shared.lock().take_fault(&path);
    if let Some(fault) = &fault
        && !fault.after_processing
    {
        tracing::info!(%path, mode = fault.mode.as_str(), "fault injected");
        return fail(shared, fault).await;
    }

    let (mut parts, body) = req.into_parts();
    let bytes = match to_bytes(body, 1 << 20).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::bad_request("The request body is too large or unreadable.")
                .into_response();
        }
    };
    let mut params = Params::parse(parts.uri.query().unwrap_or_default().as_bytes());
    let mut idempotency_key = None;
    // DELETE takes its parameters in the query (Stripe's libraries) or, like POST, in the body.
    if method == Method::POST || method == Method::DELETE {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if content_type.starts_with("application/json") {
            return ApiError::bad_request(
                "Invalid request (check that your POST content type is application/x-www-form-urlencoded). \
                 Stripe takes form-encoded parameters, not JSON.",
            )
            .into_response();
        }
        params = Params::parse(&bytes).merged(params);
    }
    if method == Method::POST {
        idempotency_key = parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .filter(|k| !k.is_empty());
    }

    let mut guard = None;
    if let Some(key) = &idempotency_key {
        if key.len() > 255 {
            return ApiError::idempotency("Idempotency-Key must be 255 characters or fewer.")
                .into_response();
        }
        let canonical = params.canonical();
        let mut store = shared.lock();
        match store.idempotency.get(key) {
            Some(entry) if entry.method != method.as_str() || entry.path != path => {
                return ApiError::idempotency(format!(
                    "Keys for idempotent requests can only be used for the same endpoint they were first used for \
                     ('{} {}' vs '{} {}'). Try using a key other than '{key}' if you meant to execute a different request.",
                    entry.method, entry.path, method, path
                ))
                .into_response();
            }
            Some(entry) if entry.canonical != canonical => {
                return ApiError::idempotency(format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. \
                     Try using a key other than '{key}' if you meant to execute a different request."
                ))
                .into_response();
            }
            Some(IdempotencyEntry { stored: None, .. }) => {
                return ApiError::idempotency_conflict().into_response();
            }
            Some(IdempotencyEntry {
                stored: Some(stored),
                ..
            }) => return replay(stored, key),
            None => {
                store.idempotency.insert(
                    key.clone(),
                    IdempotencyEntry {
                        method: method.as_str().to_string(),
                        path: path.clone(),
                        canonical,
                        stored: None,
                    },
                );
                guard = Some(InFlight {
                    shared: shared.clone(),
                    key: key.clone(),
                    done: false,
                });
            }
        }
    }

    parts.extensions.insert(Ctx {
        request: RequestInfo {
            id: Some(request_id.to_string()),
            idempotency_key: idempotency_key.clone(),
        },
        params: Arc::new(params),
    });
    let mut response = next.run(Request::from_parts(parts, Body::empty())).await;

    if let Some(mut guard) = guard {
        let storable =
            response.status().is_success() || response.extensions().get::<Replayable>().is_some();
        if storable {
            let (parts, body) = response.into_parts();
            let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
            guard.finish(StoredResponse {
                status: parts.status.as_u16(),
                body: bytes.to_vec(),
                request_id: request_id.to_string(),
            });
            response = Response::from_parts(parts, Body::from(bytes));
        }
    }
    if let Some(key) = &idempotency_key
        && let Ok(value) = HeaderValue::from_str(key)
    {
        response.headers_mut().insert("idempotency-key", value);
    }
    if let Some(fault) = &fault {
        tracing::info!(%path, mode = fault.mode.as_str(), "fault injected after processing");
        return fail(shared, fault).await;
    }
    response
}

/// Removes an in-flight idempotency key whose request did not produce a storable answer.
struct InFlight {
    shared: Arc<Shared>,
    key: String,
    done: bool,
}

impl InFlight {
    fn finish(&mut self, stored: StoredResponse) {
        if let Some(entry) = self.shared.lock().idempotency.get_mut(&self.key) {
            entry.stored = Some(stored);
        }
        self.done = true;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.done {
            self.shared.lock().idempotency.remove(&self.key);
        }
    }
}

fn replay(stored: &StoredResponse, key: &str) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    for (name, value) in [
        ("request-id", &stored.request_id),
        ("original-request", &stored.request_id),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    if let Ok(value) = HeaderValue::from_str(key) {
        headers.insert("idempotency-key", value);
    }
    response
}

async fn fail(shared: &Shared, fault: &Fault) -> Response {
    if fault.mode == FaultMode::Timeout {
        let hang = fault
            .hang_ms
            .map(std::time::Duration::from_millis)
            .unwrap_or(shared.config.fault_hang);
        tokio::time::sleep(hang).await;
    }
    ApiError::server(
        "Sorry, something went wrong. (This 500 was injected by the Stripe fake's test controls.)",
    )
    .into_response()
}

fn authenticate(headers: &HeaderMap) -> Result<(), ApiError> {
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

// ----- helpers ------------------------------------------------------------------------------

fn respond(store: &Store, mut value: Value, ctx: &Ctx) -> ApiResult {
    store.expand(&mut value, &ctx.node())?;
    Ok(Json(value))
}

fn check_bool_filter(node: &Node<'_>, key: &str, actual: bool) -> Result<bool, ApiError> {
    Ok(node.bool(key)?.is_none_or(|wanted| wanted == actual))
}

/// `created=N` or `created[gt|gte|lt|lte]=N`.
fn created_filter(node: &Node<'_>) -> Result<impl Fn(i64) -> bool, ApiError> {
    let mut bounds: Vec<(&'static str, i64)> = Vec::new();
    if let Some(exact) = node.int("created").ok().flatten() {
        bounds.push(("eq", exact));
    } else if let Some(range) = node.node("created")? {
        for op in ["gt", "gte", "lt", "lte"] {
            if let Some(value) = range.int(op)? {
                bounds.push((op, value));
            }
        }
    }
    Ok(move |created: i64| {
        bounds.iter().all(|(op, v)| match *op {
            "eq" => created == *v,
            "gt" => created > *v,
            "gte" => created >= *v,
            "lt" => created < *v,
            _ => created <= *v,
        })
    })
}

// ----- customers ----------------------------------------------------------------------------

async fn create_customer(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let mut store = s.lock();
    let value = store.create_customer(&ctx.node())?;
    respond(&store, value, &ctx)
}

async fn get_customer(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let customer = store
        .customers
        .get(&id)
        .ok_or_else(|| ApiError::not_found("customer", &id))?;
    let value = store.customer_json(customer);
    respond(&store, value, &ctx)
}

async fn update_customer(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut store = s.lock();
    let value = store.update_customer(&id, &ctx.node(), &ctx.request)?;
    respond(&store, value, &ctx)
}

async fn list_customers(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let email = node.str("email")?;
    let created = created_filter(&node)?;
    let items = store
        .customers
        .values()
        .filter(|c| email.is_none_or(|e| c.email.as_deref() == Some(e)) && created(c.created))
        .map(|c| (c.seq, store.customer_json(c)))
        .collect();
    let value = list(items, &node, "/v1/customers", "customer", |id| {
        store.customers.get(id).map(|c| c.seq)
    })?;
    respond(&store, value, &ctx)
}

// ----- products and prices ------------------------------------------------------------------

async fn create_product(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let mut store = s.lock();
    let value = store.create_product(&ctx.node())?;
    respond(&store, value, &ctx)
}

async fn get_product(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let product = store
        .products
        .get(&id)
        .ok_or_else(|| ApiError::not_found("product", &id))?;
    let value = store.product_json(product);
    respond(&store, value, &ctx)
}

async fn list_products(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let ids = node.strings("ids");
    let mut items = Vec::new();
    for product in store.products.values() {
        if check_bool_filter(&node, "active", product.active)?
            && (ids.is_empty() || ids.contains(&product.id))
        {
            items.push((product.seq, store.product_json(product)));
        }
    }
    let value = list(items, &node, "/v1/products", "product", |id| {
        store.products.get(id).map(|p| p.seq)
    })?;
    respond(&store, value, &ctx)
}

async fn create_price(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let mut store = s.lock();
    let value = store.create_price(&ctx.node())?;
    respond(&store, value, &ctx)
}

async fn get_price(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let price = store
        .prices
        .get(&id)
        .ok_or_else(|| ApiError::not_found("price", &id))?;
    let value = store.price_json(price);
    respond(&store, value, &ctx)
}

async fn list_prices(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let product = node.str("product")?;
    let currency = node.str("currency")?.map(str::to_lowercase);
    let lookup_keys = node.strings("lookup_keys");
    if let Some(kind) = node.str("type")?
        && kind != "one_time"
        && kind != "recurring"
    {
        return Err(ApiError::invalid(
            "type",
            "parameter_invalid_string",
            "Invalid type: must be one of one_time or recurring",
        ));
    }
    let kind = node.str("type")?;
    let mut items = Vec::new();
    for price in store.prices.values() {
        let price_kind = if price.recurring.is_some() {
            "recurring"
        } else {
            "one_time"
        };
        let keep = check_bool_filter(&node, "active", price.active)?
            && kind.is_none_or(|k| k == price_kind)
            && product.is_none_or(|p| price.product == p)
            && currency.as_deref().is_none_or(|c| price.currency == c)
            && (lookup_keys.is_empty()
                || price
                    .lookup_key
                    .as_ref()
                    .is_some_and(|k| lookup_keys.contains(k)));
        if keep {
            items.push((price.seq, store.price_json(price)));
        }
    }
    let value = list(items, &node, "/v1/prices", "price", |id| {
        store.prices.get(id).map(|p| p.seq)
    })?;
    respond(&store, value, &ctx)
}

// ----- checkout sessions --------------------------------------------------------------------

async fn create_session(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let mut store = s.lock();
    let value = store.create_session(&ctx.node())?;
    respond(&store, value, &ctx)
}

async fn get_session(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut store = s.lock();
    store.refresh_session(&id);
    let session = store
        .sessions
        .get(&id)
        .ok_or_else(|| ApiError::not_found("checkout.session", &id))?;
    let value = store.session_json(session);
    respond(&store, value, &ctx)
}

async fn session_line_items(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let session = store
        .sessions
        .get(&id)
        .ok_or_else(|| ApiError::not_found("checkout.session", &id))?;
    let url = format!("/v1/checkout/sessions/{id}/line_items");
    let value = ordered_list(
        store.line_items_json(session),
        &ctx.node(),
        &url,
        "line_item",
    )?;
    respond(&store, value, &ctx)
}

async fn expire_session(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut store = s.lock();
    store.refresh_session(&id);
    let value = store.expire_session(&id, &ctx.request)?;
    respond(&store, value, &ctx)
}

async fn list_sessions(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let mut store = s.lock();
    store.refresh_all_sessions();
    let node = ctx.node();
    let customer = node.str("customer")?;
    let payment_intent = node.str("payment_intent")?;
    let status = node.str("status")?;
    let created = created_filter(&node)?;
    let items = store
        .sessions
        .values()
        .filter(|s| {
            customer.is_none_or(|c| s.customer.as_deref() == Some(c))
                && payment_intent.is_none_or(|p| s.payment_intent.as_deref() == Some(p))
                && status.is_none_or(|st| s.status.as_str() == st)
                && created(s.created)
        })
        .map(|s| (s.seq, store.session_json(s)))
        .collect();
    let value = list(
        items,
        &node,
        "/v1/checkout/sessions",
        "checkout.session",
        |id| store.sessions.get(id).map(|s| s.seq),
    )?;
    respond(&store, value, &ctx)
}

// ----- payment intents, charges, refunds ----------------------------------------------------

async fn get_payment_intent(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let intent = store
        .payment_intents
        .get(&id)
        .ok_or_else(|| ApiError::not_found("payment_intent", &id))?;
    let value = store.payment_intent_json(intent);
    respond(&store, value, &ctx)
}

async fn list_payment_intents(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let customer = node.str("customer")?;
    let created = created_filter(&node)?;
    let items = store
        .payment_intents
        .values()
        .filter(|i| customer.is_none_or(|c| i.customer.as_deref() == Some(c)) && created(i.created))
        .map(|i| (i.seq, store.payment_intent_json(i)))
        .collect();
    let value = list(
        items,
        &node,
        "/v1/payment_intents",
        "payment_intent",
        |id| store.payment_intents.get(id).map(|i| i.seq),
    )?;
    respond(&store, value, &ctx)
}

async fn get_charge(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let charge = store
        .charges
        .get(&id)
        .ok_or_else(|| ApiError::not_found("charge", &id))?;
    let value = store.charge_json(charge);
    respond(&store, value, &ctx)
}

async fn list_charges(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let customer = node.str("customer")?;
    let payment_intent = node.str("payment_intent")?;
    let items = store
        .charges
        .values()
        .filter(|c| {
            customer.is_none_or(|cu| c.customer.as_deref() == Some(cu))
                && payment_intent.is_none_or(|p| c.payment_intent == p)
        })
        .map(|c| (c.seq, store.charge_json(c)))
        .collect();
    let value = list(items, &node, "/v1/charges", "charge", |id| {
        store.charges.get(id).map(|c| c.seq)
    })?;
    respond(&store, value, &ctx)
}

async fn create_refund(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let mut store = s.lock();
    let value = store.create_refund(&ctx.node(), &ctx.request)?;
    respond(&store, value, &ctx)
}

async fn get_refund(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let refund = store
        .refunds
        .get(&id)
        .ok_or_else(|| ApiError::not_found("refund", &id))?;
    let value = store.refund_json(refund);
    respond(&store, value, &ctx)
}

async fn list_refunds(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let charge = node.str("charge")?;
    let payment_intent = node.str("payment_intent")?;
    let items = store
        .refunds
        .values()
        .filter(|r| {
            charge.is_none_or(|c| r.charge == c)
                && payment_intent.is_none_or(|p| r.payment_intent == p)
        })
        .map(|r| (r.seq, store.refund_json(r)))
        .collect();
    let value = list(items, &node, "/v1/refunds", "refund", |id| {
        store.refunds.get(id).map(|r| r.seq)
    })?;
    respond(&store, value, &ctx)
}

// ----- events -------------------------------------------------------------------------------

async fn list_events(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let mut store = s.lock();
    store.refresh_all_sessions();
    let node = ctx.node();
    let kind = node.str("type")?;
    let kinds = node.strings("types");
    if kind.is_some() && !kinds.is_empty() {
        return Err(ApiError::bad_request(
            "You may only specify one of these parameters: type, types.",
        ));
    }
    let delivery_success = node.bool("delivery_success")?;
    let created = created_filter(&node)?;
    let items = store
        .events
        .iter()
        .filter(|e| {
            kind.is_none_or(|k| type_matches(k, &e.kind))
                && (kinds.is_empty() || kinds.iter().any(|k| type_matches(k, &e.kind)))
                && delivery_success.is_none_or(|wanted| {
                    wanted == (e.delivery == crate::store::DeliveryState::Delivered)
                })
                && created(e.created)
        })
        .map(|e| (e.seq, store.event_json(e)))
        .collect();
    let value = list(items, &node, "/v1/events", "event", |id| {
        store.event(id).map(|e| e.seq)
    })?;
    respond(&store, value, &ctx)
}

async fn get_event(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let event = store
        .event(&id)
        .ok_or_else(|| ApiError::not_found("event", &id))?;
    let value = store.event_json(event);
    respond(&store, value, &ctx)
}

// ----- subscriptions and invoices -----------------------------------------------------------

/// The statuses `GET /v1/subscriptions?status=` takes.
const SUBSCRIPTION_STATUSES: &[&str] = &[
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
];

/// Refuses a `status` filter outside `allowed`, with Stripe's wording.
fn status_filter<'a>(node: &Node<'a>, allowed: &[&str]) -> Result<Option<&'a str>, ApiError> {
    match node.str("status")? {
        Some(status) if !allowed.contains(&status) => Err(ApiError::invalid(
            "status",
            "parameter_invalid_string",
            format!("Invalid status: must be one of {}", allowed.join(", ")),
        )),
        other => Ok(other),
    }
}

async fn list_subscriptions(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let customer = node.str("customer")?;
    let price = node.str("price")?;
    let status = status_filter(&node, SUBSCRIPTION_STATUSES)?;
    let created = created_filter(&node)?;
    let items = store
        .subscriptions
        .values()
        .filter(|sub| {
            let actual = sub.status.as_str();
            let status_matches = match status {
                None => actual != "canceled",
                Some("all") => true,
                Some("ended") => actual == "canceled",
                Some(wanted) => actual == wanted,
            };
            status_matches
                && customer.is_none_or(|c| sub.customer == c)
                && price.is_none_or(|p| sub.items.iter().any(|i| i.price == p))
                && created(sub.created)
        })
        .map(|sub| (sub.seq, store.subscription_json(sub)))
        .collect();
    let value = list(items, &node, "/v1/subscriptions", "subscription", |id| {
        store.subscriptions.get(id).map(|sub| sub.seq)
    })?;
    respond(&store, value, &ctx)
}

async fn get_subscription(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let subscription = store
        .subscriptions
        .get(&id)
        .ok_or_else(|| ApiError::not_found("subscription", &id))?;
    let value = store.subscription_json(subscription);
    respond(&store, value, &ctx)
}

async fn update_subscription(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut store = s.lock();
    let value = store.update_subscription(&id, &ctx.node(), &ctx.request)?;
    respond(&store, value, &ctx)
}

async fn cancel_subscription(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut store = s.lock();
    let value = store.cancel_subscription(&id, &ctx.node(), &ctx.request)?;
    respond(&store, value, &ctx)
}

async fn list_invoices(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let customer = node.str("customer")?;
    let subscription = node.str("subscription")?;
    let status = status_filter(&node, &["draft", "open", "paid", "uncollectible", "void"])?;
    let created = created_filter(&node)?;
    let items = store
        .invoices
        .values()
        .filter(|i| {
            customer.is_none_or(|c| i.customer == c)
                && subscription.is_none_or(|sub| i.subscription == sub)
                && status.is_none_or(|st| i.status.as_str() == st)
                && created(i.created)
        })
        .map(|i| (i.seq, store.invoice_json(i)))
        .collect();
    let value = list(items, &node, "/v1/invoices", "invoice", |id| {
        store.invoices.get(id).map(|i| i.seq)
    })?;
    respond(&store, value, &ctx)
}

async fn get_invoice(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let value = store.invoice_json(invoice(&store, &id)?);
    respond(&store, value, &ctx)
}

/// The invoice an id in the URL names (404 otherwise).
fn invoice<'a>(store: &'a Store, id: &str) -> Result<&'a crate::billing::Invoice, ApiError> {
    store
        .invoices
        .get(id)
        .ok_or_else(|| ApiError::not_found("invoice", id))
}

/// `GET /v1/invoices/{id}/lines`: the lines in the invoice's order (prorations first).
async fn invoice_lines(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let value = ordered_list(
        store.invoice_lines_json(invoice(&store, &id)?),
        &ctx.node(),
        &Store::invoice_lines_url(&id),
        "line_item",
    )?;
    respond(&store, value, &ctx)
}

// ----- billing portal -----------------------------------------------------------------------

async fn create_portal_session(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let mut store = s.lock();
    let value = store.create_portal_session(&ctx.node())?;
    respond(&store, value, &ctx)
}

#[cfg(test)]
mod tests {
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
}
