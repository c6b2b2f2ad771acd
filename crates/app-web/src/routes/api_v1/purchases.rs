//! Buying credits through the API: the packs on sale, a checkout URL for one, and the payments
//! made. Each answers `404 billing_disabled` when the app takes no payments.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use quickscale_domain_billing::{
    BillingError, CreditPack, GatewayError, PackId, Payment, PaymentQuery,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::cursor::{self, CursorQuery, List};
use super::{ApiResult, idempotency_header, rfc3339};
use crate::api::{ApiKeyAuth, ApiProblem};
use crate::paging::Paging;
use crate::state::{AppState, BillingState};

fn billing(state: &AppState) -> Result<&BillingState, ApiProblem> {
    state.billing().ok_or_else(|| {
        ApiProblem::new(
            StatusCode::NOT_FOUND,
            "billing_disabled",
            "This app takes no payments (billing is off).",
        )
    })
}

/// A credit pack on sale.
#[derive(Serialize, ToSchema)]
struct PackView {
    id: Uuid,
    name: String,
    /// The credits it grants, as a decimal string.
    credits: String,
    /// Its price in the currency's smallest unit (cents).
    price_minor: i64,
    /// ISO 4217, lower case (`usd`).
    currency: String,
    /// Its price for people (`$10.00`).
    price: String,
}

impl PackView {
    fn of(pack: &CreditPack) -> Self {
        PackView {
            id: pack.id.0,
            name: pack.name.clone(),
            credits: pack.credits.to_string(),
            price_minor: pack.price.minor(),
            currency: pack.price.currency().as_str().to_owned(),
            price: pack.price.to_string(),
        }
    }
}

/// The credit packs on sale, in the pricing page's order.
#[derive(Serialize, ToSchema)]
struct PackList {
    data: Vec<PackView>,
}

#[utoipa::path(get, path = "/api/v1/packs", tag = "billing",
    responses((status = 200, body = PackList),
        (status = 404, description = "Billing is off (`billing_disabled`)", body = ApiProblem)),
    security(("api_key" = [])))]
pub(super) async fn packs(State(state): State<AppState>, _auth: ApiKeyAuth) -> ApiResult {
    let billing = billing(&state)?;
    let data = billing
        .billing
        .repository()
        .packs(true)
        .await?
        .iter()
        .map(PackView::of)
        .collect();
    Ok(Json(PackList { data }).into_response())
}

/// Which pack to buy.
#[derive(Deserialize, ToSchema)]
struct CheckoutBody {
    /// A pack's `id`, from `GET /api/v1/packs`.
    pack: Uuid,
}

/// Where to send the buyer: the processor's hosted checkout page. Credits are granted when
/// the processor confirms the payment, never by this answer.
#[derive(Serialize, ToSchema)]
struct CheckoutView {
    url: String,
}

#[utoipa::path(post, path = "/api/v1/checkout", tag = "billing",
    request_body = CheckoutBody,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "The same key gives the same checkout, however often it is sent")),
    responses((status = 201, body = CheckoutView),
        (status = 404, description = "Billing is off (`billing_disabled`), or no such pack on sale (`not_found`)", body = ApiProblem),
        (status = 422, description = "The body is not `{\"pack\": \"<uuid>\"}` (`invalid_input`)", body = ApiProblem),
        (status = 502, description = "The payment processor failed or refused; nothing was charged (`payments_unavailable`)", body = ApiProblem)),
    security(("api_key" = [])))]
pub(super) async fn checkout(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let billing = billing(&state)?;
    let CheckoutBody { pack } = serde_json::from_slice(&body).map_err(|e| {
        ApiProblem::invalid(format!(
            "Send a JSON body like {{\"pack\": \"<id>\"}}: {e}."
        ))
    })?;
    // The processor's own idempotency key has a length limit: a digest of ours fits it.
    let key = match idempotency_header(&headers)? {
        Some(key) => format!("api-{}", &hex::encode(Sha256::digest(key.as_bytes()))[..32]),
        None => format!("api-{}", Uuid::now_v7().simple()),
    };
    let base = &state.config().base_url;
    let started = billing
        .billing
        .start_checkout(
            auth.user.id.as_uuid(),
            auth.user.email.as_str(),
            PackId(pack),
            &format!("{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}"),
            &format!("{base}/billing/cancel"),
            &key,
        )
        .await;
    match started {
        Ok(url) => Ok((StatusCode::CREATED, Json(CheckoutView { url })).into_response()),
        Err(BillingError::UnknownPack) => Err(ApiProblem::not_found("credit pack on sale")),
        Err(BillingError::Storage(e)) => Err(e.into()),
        Err(error @ BillingError::Gateway(_)) => {
            let detail = crate::routes::billing::gateway_message(&error);
            if !matches!(error, BillingError::Gateway(GatewayError::Unavailable(_))) {
                tracing::warn!(%error, user = %auth.user.id, "checkout could not start");
            }
            Err(ApiProblem::new(
                StatusCode::BAD_GATEWAY,
                "payments_unavailable",
                detail,
            ))
        }
        Err(error) => {
            tracing::error!(%error, "checkout failed");
            Err(ApiProblem::internal())
        }
    }
}

/// A payment for credits.
#[derive(Serialize, ToSchema)]
struct PaymentView {
    id: Uuid,
    /// What was bought (the pack's name at the time).
    description: String,
    /// The credits it granted.
    credits: String,
    /// What was paid, in the currency's smallest unit.
    amount_minor: i64,
    /// What was refunded, in the currency's smallest unit.
    refunded_minor: i64,
    currency: String,
    /// `succeeded`, `partially_refunded` or `refunded`.
    status: &'static str,
    receipt_number: String,
    /// RFC 3339.
    created_at: String,
}

impl PaymentView {
    fn of(payment: &Payment) -> Self {
        PaymentView {
            id: payment.id.0,
            description: payment.description.clone(),
            credits: payment.credits.to_string(),
            amount_minor: payment.amount.minor(),
            refunded_minor: payment.refunded.minor(),
            currency: payment.amount.currency().as_str().to_owned(),
            status: payment.status.as_str(),
            receipt_number: payment.receipt_number.clone(),
            created_at: rfc3339(payment.created_at),
        }
    }
}

/// A page of the user's payments, newest first.
#[derive(Serialize, ToSchema)]
struct PaymentList {
    data: Vec<PaymentView>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/payments", tag = "billing",
    responses((status = 200, body = PaymentList),
        (status = 404, description = "Billing is off (`billing_disabled`)", body = ApiProblem),
        (status = 422, body = ApiProblem)),
    security(("api_key" = [])))]
pub(super) async fn payments(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    query: Result<Query<CursorQuery>, QueryRejection>,
    paging: Paging,
) -> ApiResult {
    let billing = billing(&state)?;
    let Query(query) = query.map_err(|e| ApiProblem::invalid(e.body_text()))?;
    let start = cursor::start(List::Payments, query.cursor.as_deref(), &paging)?;
    let (found, total) = billing
        .billing
        .repository()
        .payments(&PaymentQuery {
            user: Some(auth.user.id.as_uuid()),
            offset: start,
            limit: paging.limit(),
            ..PaymentQuery::default()
        })
        .await?;
    let more = total > start + u64::from(paging.limit());
    Ok(Json(PaymentList {
        data: found.iter().map(PaymentView::of).collect(),
        next_cursor: cursor::next(List::Payments, start, paging.limit(), more),
    })
    .into_response())
}
