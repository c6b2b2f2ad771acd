//! The hosted pages: checkout, billing portal, invoices and receipts. Plain HTML, no external
//! assets.

mod card_form;
mod checkout;
mod documents;
mod layout;
mod portal;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use crate::server::Shared;

type AppState = State<Arc<Shared>>;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(index))
        .route("/checkout/{id}", get(checkout::checkout_page))
        .route("/checkout/{id}/pay", post(checkout::pay))
        .route(
            "/checkout/{id}/cancel",
            post(checkout::cancel).get(checkout::cancel),
        )
        .route("/billing_portal/{id}", get(portal::portal_page))
        .route(
            "/billing_portal/{id}/subscriptions/{subscription}",
            post(portal::portal_update),
        )
        .route(
            "/billing_portal/{id}/payment_method",
            post(portal::portal_payment_method),
        )
        .route("/receipts/{id}", get(documents::receipt_page))
        .route("/invoices/{id}", get(documents::invoice_page))
}

async fn index(State(s): AppState) -> Response {
    let base = s.lock().public_url.clone();
    layout::message_page(
        StatusCode::OK,
        "QuickScale Stripe fake",
        &format!(
            "An offline stand-in for the Stripe API. API base: {base}/v1 (any sk_test_... key). \
             Checkout sessions are paid on their hosted page, with Stripe's test cards."
        ),
        None,
    )
}
