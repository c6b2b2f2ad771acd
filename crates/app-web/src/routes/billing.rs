//! Buying credits: packs, checkout, the success page that waits for the webhook, payment
//! history, receipts, the billing portal, and the Stripe webhook endpoint.

use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_billing::{
    BillingError, CreditPack, DEFAULT_TOLERANCE_SECONDS, GatewayError, PackId, PaymentId,
    PaymentQuery, ReceiveError, Refund, RefundStatus,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;
use crate::extract::{CurrentUser, Htmx};
use crate::paging::Paging;
use crate::session::{self, random_token};
use crate::state::AppState;
use crate::view::{Page, PaymentView, credits_label};

/// A credit pack as templates see it.
#[derive(Debug, Serialize)]
pub struct PackView {
    pub id: String,
    pub name: String,
    pub credits: String,
    pub price: String,
    pub active: bool,
    pub display_order: i32,
    pub synced: bool,
    pub price_minor: i64,
    /// The price as the admin's form takes it back: "10.00" (or "500" in a currency without
    /// decimals).
    pub price_input: String,
    pub currency: String,
}

impl PackView {
    pub fn of(pack: &CreditPack) -> Self {
        PackView {
            id: pack.id.0.to_string(),
            name: pack.name.clone(),
            credits: pack.credits.to_string(),
            price: pack.price.to_string(),
            active: pack.active,
            display_order: pack.display_order,
            synced: pack.stripe_price_id.is_some(),
            price_minor: pack.price.minor(),
            price_input: if pack.price.currency().decimals() == 0 {
                pack.price.minor().to_string()
            } else {
                format!(
                    "{}.{:02}",
                    pack.price.minor() / 100,
                    pack.price.minor() % 100
                )
            },
            currency: pack.price.currency().as_str().to_owned(),
        }
    }
}

pub async fn packs(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let packs: Vec<PackView> = billing
        .billing
        .repository()
        .packs(true)
        .await?
        .iter()
        .map(PackView::of)
        .collect();
    let has_customer = billing
        .billing
        .repository()
        .customer_of(current.user.id.as_uuid())
        .await?
        .is_some();
    Page::new("billing/packs.html")
        .with("packs", &packs)
        .with("form_key", &random_token())
        .with("test_mode", &billing.test_mode)
        .with("has_customer", &has_customer)
        .render(&state, &current.viewer())
        .await
}

#[derive(Debug, Deserialize)]
pub struct CheckoutForm {
    pack: String,
    #[serde(default)]
    form_key: String,
}

pub(crate) fn gateway_message(error: &BillingError) -> String {
    match error {
        BillingError::Gateway(GatewayError::Unavailable(_)) => {
            "Payments are unavailable right now. Nothing was charged; please try again in a few minutes.".into()
        }
        BillingError::Gateway(GatewayError::Unauthorized) => {
            "Payments are not configured correctly. Nothing was charged; the team has been told. Please try again later.".into()
        }
        BillingError::UnknownPack => {
            "That credit pack is no longer for sale: choose one of the packs below.".into()
        }
        other => format!(
            "The payment could not start ({other}). Nothing was charged; please try again, or write to us from the contact page."
        ),
    }
}

/// Starts a checkout and sends the browser to the payment page.
pub async fn checkout(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<CheckoutForm>,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let pack = Uuid::parse_str(&form.pack)
        .map(PackId)
        .map_err(|_| AppError::NotFound)?;
    let base = &state.config().base_url;
    let success = format!("{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}");
    let cancel = format!("{base}/billing/cancel");
    let key = if form.form_key.is_empty() {
        random_token()
    } else {
        form.form_key.chars().take(64).collect()
    };
    match billing
        .billing
        .start_checkout(
            current.user.id.as_uuid(),
            current.user.email.as_str(),
            pack,
            &success,
            &cancel,
            &key,
        )
        .await
    {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(BillingError::Storage(e)) => Err(e.into()),
        Err(error) => {
            tracing::warn!(%error, user = %current.user.id, "checkout could not start");
            session::flash(&current.session, "danger", gateway_message(&error)).await?;
            Ok(Redirect::to("/billing").into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SessionQuery {
    #[serde(default)]
    session_id: String,
}

/// The page the processor sends the user back to. It never grants anything: it shows the
/// purchase as pending until the webhook has recorded the payment (polling with HTMX).
pub async fn success(
    State(state): State<AppState>,
    current: CurrentUser,
    Htmx(htmx): Htmx,
    Query(query): Query<SessionQuery>,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let repo = billing.billing.repository();
    let checkout = repo
        .checkout(&query.session_id)
        .await?
        .filter(|c| c.user == current.user.id.as_uuid());
    let Some(checkout) = checkout else {
        return Err(AppError::NotFound);
    };
    let payment = repo.payment_by_session(&checkout.session_id).await?;
    let page = Page::new(if htmx {
        "billing/_status.html"
    } else {
        "billing/success.html"
    })
    .with("session_id", &checkout.session_id)
    .with("description", &checkout.description)
    .with("credits", &credits_label(checkout.credits))
    .with(
        "payment",
        &payment.as_ref().map(|p| PaymentView::of(p, &[])),
    );
    if htmx {
        page.fragment(&state, &current.viewer()).await
    } else {
        page.render(&state, &current.viewer()).await
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    state.billing().ok_or(AppError::NotFound)?;
    Page::new("billing/cancel.html")
        .render(&state, &current.viewer())
        .await
}

pub async fn payments(
    State(state): State<AppState>,
    current: CurrentUser,
    paging: Paging,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let query = PaymentQuery {
        user: Some(current.user.id.as_uuid()),
        offset: paging.page_offset(PAYMENTS_PAGE_SIZE),
        limit: PAYMENTS_PAGE_SIZE,
        ..PaymentQuery::default()
    };
    let (payments, total) = billing.billing.repository().payments(&query).await?;
    let payments: Vec<PaymentView> = payments.iter().map(|p| PaymentView::of(p, &[])).collect();
    let pages = total.div_ceil(u64::from(PAYMENTS_PAGE_SIZE)).max(1);
    let pager = paging
        .pager("/billing/payments", &(), u64::from(paging.page()) < pages)
        .of_pages(pages);
    Page::new("billing/payments.html")
        .with("payments", &payments)
        .with("total", &total)
        .with("pager", &pager)
        .render(&state, &current.viewer())
        .await
}

/// How many payments a page of the user's payments shows.
const PAYMENTS_PAGE_SIZE: u32 = 50;

/// A printable receipt. Another user's payment is a 404, not a 403 (no probing).
pub async fn receipt(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let id = Uuid::parse_str(&id)
        .map(PaymentId)
        .map_err(|_| AppError::NotFound)?;
    let repo = billing.billing.repository();
    let payment = repo
        .payment(id)
        .await?
        .filter(|p| p.user == current.user.id.as_uuid())
        .ok_or(AppError::NotFound)?;
    let refunds: Vec<Refund> = repo
        .refunds_of(id)
        .await?
        .into_iter()
        .filter(|r| r.status == RefundStatus::Succeeded)
        .collect();
    Page::new("billing/receipt.html")
        .with("payment", &PaymentView::of(&payment, &refunds))
        .with("customer", &current.user.email.to_string())
        .render(&state, &current.viewer())
        .await
}

/// Sends the user to the processor's billing portal (payment methods, invoices).
pub async fn portal(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let Some(customer) = billing
        .billing
        .repository()
        .customer_of(current.user.id.as_uuid())
        .await?
    else {
        session::flash(
            &current.session,
            "info",
            "Your billing details appear here after your first purchase.",
        )
        .await?;
        return Ok(Redirect::to("/billing").into_response());
    };
    let back = format!("{}/billing", state.config().base_url);
    match billing.billing.gateway().portal_url(&customer, &back).await {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(error) => {
            tracing::warn!(%error, "billing portal unavailable");
            session::flash(
                &current.session,
                "danger",
                "The billing portal is unavailable right now; please try again later.",
            )
            .await?;
            Ok(Redirect::to("/billing").into_response())
        }
    }
}

/// The Stripe webhook endpoint: verify the signature on the raw body, store the event by its
/// id, answer 200, then process it. A bad signature is 400 and stores nothing; a storage
/// failure is 503 so the processor retries.
pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(billing) = state.billing() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let secrets: Vec<&str> = billing.webhook_secrets.iter().map(String::as_str).collect();
    match billing
        .billing
        .receive(&body, signature, &secrets, DEFAULT_TOLERANCE_SECONDS)
        .await
    {
        Ok(event) => {
            tracing::info!(event = %event.id, kind = %event.kind, "webhook received");
            let state = state.clone();
            let billing = billing.clone();
            tokio::spawn(async move {
                if let Err(error) = crate::payments::process(&state, &billing, &event.id).await {
                    tracing::warn!(event = %event.id, %error, "webhook processing failed; will retry");
                }
            });
            (
                StatusCode::OK,
                axum::Json(serde_json::json!({"received": true})),
            )
                .into_response()
        }
        Err(ReceiveError::Signature(error)) => {
            tracing::warn!(%error, "webhook refused: bad signature");
            (StatusCode::BAD_REQUEST, "invalid signature").into_response()
        }
        Err(ReceiveError::Malformed(error)) => {
            tracing::warn!(%error, "webhook refused: unreadable event");
            (StatusCode::BAD_REQUEST, "unreadable event").into_response()
        }
        Err(ReceiveError::Storage(error)) => {
            tracing::error!(%error, "webhook could not be stored");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
        // A refusal this handler does not know yet: a 5xx, so the processor delivers it again.
        Err(error) => {
            tracing::error!(%error, "webhook not accepted");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}
