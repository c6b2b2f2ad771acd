//! Admin billing: credit packs, payment search and detail with refunds, the webhook inbox.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_billing::{
    BillingError, CreditPack, Currency, EventQuery, EventStatus, InboxEvent, Money, PackId,
    PaymentId, PaymentQuery, PaymentStatus,
};
use quickscale_domain_credits::Credits;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::AuditAction;
use crate::error::AppError;
use crate::extract::AdminUser;
use crate::paging::Paging;
use crate::routes::admin::LOG_PAGE_SIZE;
use crate::routes::billing::PackView;
use crate::session;
use crate::state::AppState;
use crate::view::{Page, PaymentView, date_time};

#[derive(Debug, Serialize)]
struct EventView {
    id: String,
    kind: String,
    object_id: String,
    status: &'static str,
    attempts: u32,
    last_error: String,
    received_at: String,
    processed_at: String,
}

impl EventView {
    fn of(event: &InboxEvent) -> Self {
        EventView {
            id: event.event.id.clone(),
            kind: event.event.kind.clone(),
            object_id: event.event.object_id.clone().unwrap_or_default(),
            status: event.status.as_str(),
            attempts: event.attempts,
            last_error: event.last_error.clone().unwrap_or_default(),
            received_at: date_time(event.received_at),
            processed_at: event.processed_at.map(date_time).unwrap_or_default(),
        }
    }
}

pub async fn packs(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let packs: Vec<PackView> = billing
        .billing
        .repository()
        .packs(false)
        .await?
        .iter()
        .map(PackView::of)
        .collect();
    Page::new("admin/packs.html")
        .with("packs", &packs)
        .render(&state, &admin.viewer())
        .await
}

#[derive(Debug, Deserialize)]
pub struct PackForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    credits: String,
    /// In major units: "10.00".
    #[serde(default)]
    price: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    display_order: String,
    #[serde(default)]
    active: Option<String>,
}

fn parse_pack(form: &PackForm, existing: Option<&CreditPack>) -> Result<CreditPack, String> {
    let credits = Credits::parse(&form.credits).map_err(|e| format!("Credits: {e}."))?;
    let currency = Currency::parse(if form.currency.trim().is_empty() {
        "usd"
    } else {
        &form.currency
    })
    .map_err(crate::wording::sentence)?;
    let price = Credits::parse(&form.price).map_err(|e| format!("Price: {e}."))?;
    let minor = if currency.decimals() == 0 {
        price.cents() / 100
    } else {
        price.cents()
    };
    let money = Money::new(minor, currency).map_err(|e| format!("Price: {e}."))?;
    let order = form.display_order.trim().parse::<i32>().unwrap_or(0);
    let mut pack =
        CreditPack::new(&form.name, credits, money, order).map_err(crate::wording::sentence)?;
    if let Some(existing) = existing {
        pack.id = existing.id;
        pack.stripe_price_id = existing
            .stripe_price_id
            .clone()
            .filter(|_| existing.price == money);
    }
    pack.active = form.active.is_some() || existing.is_none();
    Ok(pack)
}

pub async fn create_pack(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Form(form): Form<PackForm>,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    match parse_pack(&form, None) {
        Ok(pack) => {
            billing.billing.repository().save_pack(&pack).await?;
            crate::audit::record(
                &state,
                &admin.user,
                AuditAction::PackCreated,
                None,
                serde_json::Value::Null,
                serde_json::to_value(&pack).unwrap_or_default(),
            )
            .await;
            session::flash(
                &admin.session,
                "success",
                format!("Created the pack {}.", pack.name),
            )
            .await?;
        }
        Err(message) => session::flash(&admin.session, "danger", message).await?,
    }
    Ok(Redirect::to("/admin/packs").into_response())
}

pub async fn update_pack(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Form(form): Form<PackForm>,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let id = Uuid::parse_str(&id)
        .map(PackId)
        .map_err(|_| AppError::NotFound)?;
    let existing = billing
        .billing
        .repository()
        .pack(id)
        .await?
        .ok_or(AppError::NotFound)?;
    match parse_pack(&form, Some(&existing)) {
        Ok(pack) => {
            billing.billing.repository().save_pack(&pack).await?;
            crate::audit::record(
                &state,
                &admin.user,
                AuditAction::PackChanged,
                None,
                serde_json::to_value(&existing).unwrap_or_default(),
                serde_json::to_value(&pack).unwrap_or_default(),
            )
            .await;
            session::flash(
                &admin.session,
                "success",
                format!("Saved the pack {}.", pack.name),
            )
            .await?;
        }
        Err(message) => session::flash(&admin.session, "danger", message).await?,
    }
    Ok(Redirect::to("/admin/packs").into_response())
}

/// Creates or updates packs from the processor's active one-time prices whose product has a
/// `credits` metadata value (recurring prices are plans and are left alone).
pub async fn sync_packs(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let repo = billing.billing.repository();
    let prices = match billing.billing.gateway().prices().await {
        Ok(prices) => prices,
        Err(error) => {
            session::flash(
                &admin.session,
                "danger",
                format!("Could not read the prices: {error}."),
            )
            .await?;
            return Ok(Redirect::to("/admin/packs").into_response());
        }
    };
    let existing = repo.packs(false).await?;
    let mut synced = 0;
    // A recurring price is a plan, not a pack: a pack is bought once, in `payment` mode.
    for price in prices.iter().filter(|p| p.active && p.recurring.is_none()) {
        let (Some(credits), Ok(currency)) = (
            price
                .credits
                .as_deref()
                .and_then(|c| Credits::parse(c).ok()),
            Currency::parse(&price.currency),
        ) else {
            continue;
        };
        let Ok(money) = Money::new(price.unit_amount, currency) else {
            continue;
        };
        let name = if price.product_name.is_empty() {
            credits.with_unit()
        } else {
            price.product_name.clone()
        };
        let Ok(mut pack) = CreditPack::new(&name, credits, money, 10 + synced) else {
            continue;
        };
        if let Some(same) = existing
            .iter()
            .find(|p| p.stripe_price_id.as_deref() == Some(price.id.as_str()))
        {
            pack.id = same.id;
            pack.display_order = same.display_order;
        }
        pack.stripe_price_id = Some(price.id.clone());
        repo.save_pack(&pack).await?;
        synced += 1;
    }
    session::flash(
        &admin.session,
        "success",
        format!("Synced {synced} pack(s) from the payment processor."),
    )
    .await?;
    Ok(Redirect::to("/admin/packs").into_response())
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct PaymentFilter {
    #[serde(default)]
    email: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    min: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

fn date(text: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

fn minor(text: &str) -> Option<i64> {
    Credits::parse(text).ok().map(|c| c.cents())
}

pub async fn payments(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(filter): Query<PaymentFilter>,
    paging: Paging,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let mut query = PaymentQuery {
        reference: Some(filter.reference.trim().to_owned()).filter(|r| !r.is_empty()),
        status: PaymentStatus::parse(&filter.status),
        min_amount: minor(&filter.min),
        max_amount: minor(&filter.max),
        from: date(&filter.from),
        until: date(&filter.until).map(|d| d + time::Duration::days(1)),
        offset: paging.page_offset(LOG_PAGE_SIZE),
        limit: LOG_PAGE_SIZE,
        ..PaymentQuery::default()
    };
    let mut unknown_email = false;
    if !filter.email.trim().is_empty() {
        match quickscale_domain_identity::Email::parse(&filter.email) {
            Ok(email) => match state.users().by_email(&email).await? {
                Some(user) => query.user = Some(user.id.as_uuid()),
                None => unknown_email = true,
            },
            Err(_) => unknown_email = true,
        }
    }
    let (payments, total) = if unknown_email {
        (Vec::new(), 0)
    } else {
        billing.billing.repository().payments(&query).await?
    };
    let views: Vec<PaymentView> = payments.iter().map(|p| PaymentView::of(p, &[])).collect();
    let statuses: Vec<&str> = PaymentStatus::ALL.iter().map(|s| s.as_str()).collect();
    let pages = total.div_ceil(u64::from(LOG_PAGE_SIZE)).max(1);
    let more = u64::from(paging.page()) < pages;
    Page::new("admin/payments.html")
        .with("reviews", &open_reviews(&state).await?)
        .with("payments", &views)
        .with("total", &total)
        .with(
            "pager",
            &paging
                .pager("/admin/payments", &filter, more)
                .of_pages(pages),
        )
        .with("filter", &filter)
        .with("statuses", &statuses)
        .render(&state, &admin.viewer())
        .await
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

async fn payment_page(
    state: &AppState,
    admin: &crate::extract::CurrentUser,
    id: PaymentId,
    form: RefundForm,
    error: Option<String>,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let repo = billing.billing.repository();
    let payment = repo.payment(id).await?.ok_or(AppError::NotFound)?;
    let refunds = repo.refunds_of(id).await?;
    let mut objects = vec![payment.checkout_session.clone()];
    if let Some(intent) = &payment.payment_intent {
        objects.push(intent.clone());
        objects.push(format!("ch_{}", intent.trim_start_matches("pi_")));
    }
    let events: Vec<EventView> = repo
        .events(&EventQuery {
            object_ids: objects,
            limit: 100,
            ..EventQuery::default()
        })
        .await?
        .iter()
        .map(EventView::of)
        .collect();
    let customer = state
        .users()
        .by_id(quickscale_domain_identity::UserId::from_uuid(payment.user))
        .await?
        .map(|u| u.email.to_string())
        .unwrap_or_else(|| "(deleted user)".into());
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Page::new("admin/payment.html")
        .with("payment", &PaymentView::of(&payment, &refunds))
        .with("customer", &customer)
        .with("events", &events)
        .with("form", &form)
        .with("error", &error)
        .with(
            "refundable",
            &payment
                .amount
                .checked_sub(payment.refunded)
                .map(|m| m.to_string())
                .unwrap_or_default(),
        )
        .status(status)
        .render(state, &admin.viewer())
        .await
}

pub async fn payment(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id)
        .map(PaymentId)
        .map_err(|_| AppError::NotFound)?;
    payment_page(&state, &admin, id, RefundForm::default(), None).await
}

/// Refunds part or all of a payment; the matching credits are clawed back from what remains of
/// the purchase's grant, and any shortfall is shown.
pub async fn refund(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Form(form): Form<RefundForm>,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let id = Uuid::parse_str(&id)
        .map(PaymentId)
        .map_err(|_| AppError::NotFound)?;
    let payment = billing
        .billing
        .repository()
        .payment(id)
        .await?
        .ok_or(AppError::NotFound)?;
    let reason = form.reason.trim();
    let amount = Credits::parse(&form.amount).ok().and_then(|c| {
        Money::new(
            if payment.amount.currency().decimals() == 0 {
                c.cents() / 100
            } else {
                c.cents()
            },
            payment.amount.currency(),
        )
        .ok()
    });
    let (Some(amount), false) = (amount, reason.is_empty()) else {
        let error = if reason.is_empty() {
            "Give a reason for the refund."
        } else {
            "Enter the amount to refund, e.g. 5.00."
        };
        return payment_page(&state, &admin, id, form, Some(error.into())).await;
    };
    match billing
        .billing
        .refund(id, amount, reason, admin.user.id.as_uuid())
        .await
    {
        Ok(refund) => {
            tracing::info!(admin = %admin.user.id, payment = %id, amount = %refund.amount, "refund issued");
            crate::audit::record(
                &state,
                &admin.user,
                AuditAction::PaymentRefunded,
                Some((payment.user, payment.receipt_number.clone())),
                serde_json::json!({ "refunded": payment.refunded.to_string() }),
                serde_json::json!({ "refund": refund.amount.to_string(), "reason": reason, "credits_clawed": refund.credits_clawed.to_string(), "credits_shortfall": refund.credits_shortfall.to_string() }),
            )
            .await;
            // "1 credit was", "3 credits were".
            let were = |amount: Credits| {
                let verb = if amount == Credits::whole(1) {
                    "was"
                } else {
                    "were"
                };
                format!("{} {verb}", amount.with_unit())
            };
            let mut text = format!(
                "Refunded {}. {} taken back.",
                refund.amount,
                were(refund.credits_clawed)
            );
            if !refund.credits_shortfall.is_zero() {
                text.push_str(&format!(
                    " {} already spent and could not be taken back.",
                    were(refund.credits_shortfall)
                ));
            }
            session::flash(&admin.session, "success", text).await?;
            Ok(Redirect::to(&format!("/admin/payments/{id}")).into_response())
        }
        Err(BillingError::Storage(e)) => Err(e.into()),
        Err(error) => {
            let message = format!("The refund was not made: {error}.");
            payment_page(&state, &admin, id, form, Some(message)).await
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct EventFilter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
}

pub async fn webhooks(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(filter): Query<EventFilter>,
    paging: Paging,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?;
    let mut events: Vec<EventView> = billing
        .billing
        .repository()
        .events(&EventQuery {
            status: EventStatus::parse(&filter.status),
            kind: Some(filter.kind.trim().to_owned()).filter(|k| !k.is_empty()),
            object_ids: Vec::new(),
            offset: paging.page_offset(LOG_PAGE_SIZE),
            limit: LOG_PAGE_SIZE + 1,
        })
        .await?
        .iter()
        .map(EventView::of)
        .collect();
    let more = events.len() > LOG_PAGE_SIZE as usize;
    events.truncate(LOG_PAGE_SIZE as usize);
    Page::new("admin/webhooks.html")
        .with("events", &events)
        .with("filter", &filter)
        .with("pager", &paging.pager("/admin/webhooks", &filter, more))
        .render(&state, &admin.viewer())
        .await
}

/// Processes a stored event again now.
pub async fn replay(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let billing = state.billing().ok_or(AppError::NotFound)?.clone();
    if billing.billing.repository().event(&id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    match crate::payments::process(&state, &billing, &id).await {
        Ok(outcome) => {
            session::flash(
                &admin.session,
                "success",
                format!("Replayed {id}: {outcome:?}."),
            )
            .await?
        }
        Err(error) => {
            session::flash(
                &admin.session,
                "danger",
                format!("Replaying {id} failed: {error}."),
            )
            .await?
        }
    }
    Ok(Redirect::to("/admin/webhooks").into_response())
}

/// A payment held for review, as the payments page shows it.
#[derive(Debug, Serialize)]
struct ReviewView {
    id: String,
    kind: &'static str,
    reference: String,
    customer: String,
    amount: String,
    detail: String,
    at: String,
}

/// The reviews no admin has resolved yet, newest first, each with its user's email when known.
async fn open_reviews(state: &AppState) -> Result<Vec<ReviewView>, AppError> {
    let reviews = state
        .billing()
        .ok_or(AppError::NotFound)?
        .billing
        .repository()
        .reviews(true, 100)
        .await?;
    let mut views = Vec::with_capacity(reviews.len());
    for review in reviews {
        let email = match review.user {
            Some(user) => state
                .users()
                .by_id(quickscale_domain_identity::UserId::from_uuid(user))
                .await?
                .map(|u| u.email.to_string()),
            None => None,
        };
        let customer = match (email, &review.customer) {
            (Some(email), Some(customer)) => format!("{email} ({customer})"),
            (Some(email), None) => email,
            (None, Some(customer)) => customer.clone(),
            (None, None) => "no customer".into(),
        };
        views.push(ReviewView {
            id: review.id.to_string(),
            kind: review.kind.label(),
            amount: review.amount_label(),
            reference: review.reference,
            customer,
            detail: review.detail,
            at: date_time(review.created_at),
        });
    }
    Ok(views)
}

/// An admin has looked at a held payment (and done what it needed: an admin grant, a refund
/// from the processor's dashboard); it leaves the list. Audited.
pub async fn resolve_review(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let review = state
        .billing()
        .ok_or(AppError::NotFound)?
        .billing
        .repository()
        .resolve_review(id, admin.user.id.as_uuid(), state.clock().now())
        .await?
        .ok_or(AppError::NotFound)?;
    crate::audit::record(
        &state,
        &admin.user,
        AuditAction::BillingReviewResolved,
        review.user.map(|user| (user, review.reference.clone())),
        serde_json::Value::Null,
        serde_json::json!({
            "kind": review.kind.as_str(),
            "reference": review.reference,
            "amount": review.amount_label(),
        }),
    )
    .await;
    session::flash(
        &admin.session,
        "success",
        format!("Marked {} as reviewed.", review.reference),
    )
    .await?;
    Ok(Redirect::to("/admin/payments").into_response())
}
