//! Subscription plans (`ENABLE_SUBSCRIPTIONS`, with billing on): the plans page, subscribing
//! through the processor's checkout, cancelling, resuming and changing plan; the admin's plan
//! list, synced from the processor's recurring prices.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_domain_billing::{BillingError, CancelAt, GatewayError, Plan, PlanId, Subscription};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::extract::{AdminUser, CurrentUser};
use crate::routes::billing::gateway_message;
use crate::session::{self, random_token};
use crate::state::AppState;
use crate::view::{Page, date};

#[derive(Serialize)]
struct PlanView {
    id: String,
    name: String,
    credits: String,
    price: String,
    period: String,
    active: bool,
    display_order: i32,
    stripe_price_id: String,
    /// Its API limits in words ("the defaults" where the plan sets none).
    api: String,
}

impl PlanView {
    fn of(plan: &Plan) -> Self {
        PlanView {
            id: plan.id.to_string(),
            name: plan.name.clone(),
            credits: plan.credits.to_string(),
            price: plan.price.to_string(),
            period: plan.period_label(),
            active: plan.active,
            display_order: plan.display_order,
            stripe_price_id: plan.stripe_price_id.clone(),
            api: format!(
                "{} a minute per key; {} a month",
                plan.api_per_minute
                    .map_or_else(|| "default".to_owned(), |n| n.to_string()),
                plan.api_monthly_credits
                    .map_or_else(|| "default".to_owned(), crate::view::credits_label)
            ),
        }
    }
}

#[derive(Serialize)]
struct SubscriptionView {
    /// The plan that applies now (the current period's, even when a change waits for the
    /// renewal).
    plan: Option<String>,
    plan_id: Option<String>,
    /// The plan's period: only plans of the same period can be switched to.
    period: Option<String>,
    /// The plan the next renewal moves to, when it is another.
    next_plan: Option<String>,
    next_plan_id: Option<String>,
    status: String,
    entitled: bool,
    period_end: String,
    cancel_at_period_end: bool,
}

impl SubscriptionView {
    fn of(subscription: &Subscription, plans: &[Plan]) -> Self {
        let by_price = |price: &str| plans.iter().find(|p| p.stripe_price_id == price);
        let plan = by_price(subscription.price_now());
        let next = subscription.price_at_renewal().and_then(by_price);
        SubscriptionView {
            plan: plan.map(|p| p.name.clone()),
            plan_id: plan.map(|p| p.id.to_string()),
            period: plan.map(Plan::period_label),
            next_plan: next.map(|p| p.name.clone()),
            next_plan_id: next.map(|p| p.id.to_string()),
            status: subscription.status.replace('_', " "),
            entitled: subscription.is_entitled(),
            period_end: date(subscription.current_period_end),
            cancel_at_period_end: subscription.cancel_at_period_end,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PlansQuery {
    /// Set by the checkout's return: the subscription is being set up.
    #[serde(default)]
    started: Option<String>,
}

pub async fn plans(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<PlansQuery>,
) -> Result<Response, AppError> {
    let billing = &state.billing().ok_or(AppError::NotFound)?.billing;
    let store = billing.subscription_store().map_err(billing_error)?;
    let plans = store.plans(false).await?;
    let subscription = billing
        .current_subscription(current.user.id.as_uuid())
        .await
        .map_err(billing_error)?;
    let offered: Vec<PlanView> = plans
        .iter()
        .filter(|p| p.active)
        .map(PlanView::of)
        .collect();
    Page::new("billing/plans.html")
        .with("plans", &offered)
        .with(
            "subscription",
            &subscription
                .as_ref()
                .map(|s| SubscriptionView::of(s, &plans)),
        )
        .with("started", &query.started.is_some())
        .with("form_key", &random_token())
        .with(
            "test_mode",
            &state.billing().ok_or(AppError::NotFound)?.test_mode,
        )
        .render(&state, &current.viewer())
        .await
}

fn billing_error(error: BillingError) -> AppError {
    match error {
        BillingError::Storage(e) => e.into(),
        BillingError::SubscriptionsOff => AppError::NotFound,
        other => AppError::Internal(anyhow::Error::new(other)),
    }
}

#[derive(Debug, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    plan: String,
    #[serde(default)]
    form_key: String,
}

/// What the user is told when a subscription action is refused. `subscribing` is true for a
/// new subscription (a payment about to start), false for a change to an existing one.
fn refusal(error: &BillingError, subscribing: bool) -> String {
    match error {
        BillingError::UnknownPlan => "That plan is no longer offered: choose one of the plans below.".into(),
        BillingError::AlreadySubscribed => {
            "You already have a subscription: change its plan below instead.".into()
        }
        BillingError::NoSubscription => {
            "You have no subscription to change: choose a plan below to subscribe.".into()
        }
        BillingError::OtherPeriod => {
            "That plan bills over another period: cancel this one, then subscribe to it.".into()
        }
        other if subscribing => gateway_message(other),
        BillingError::Gateway(GatewayError::Unavailable(_)) => {
            "The payment processor is unavailable right now; nothing was changed. Please try again in a few minutes.".into()
        }
        other => format!(
            "That did not work ({other}); nothing was changed. Try again, or write to us from the contact page if it keeps failing."
        ),
    }
}

/// Runs a subscription action and comes back to the plans page with what happened.
async fn act(
    current: &CurrentUser,
    result: Result<Response, BillingError>,
    done: &str,
) -> Result<Response, AppError> {
    let subscribing = done.is_empty();
    match result {
        Ok(response) => {
            if !done.is_empty() {
                session::flash(&current.session, "success", done).await?;
            }
            Ok(response)
        }
        Err(BillingError::Storage(e)) => Err(e.into()),
        Err(BillingError::SubscriptionsOff) => Err(AppError::NotFound),
        Err(error) => {
            tracing::warn!(%error, user = %current.user.id, "subscription action refused");
            session::flash(&current.session, "danger", refusal(&error, subscribing)).await?;
            Ok(Redirect::to("/billing/plans").into_response())
        }
    }
}

fn back() -> Response {
    Redirect::to("/billing/plans").into_response()
}

/// Starts a subscription: the browser goes to the processor's checkout.
pub async fn subscribe(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<PlanForm>,
) -> Result<Response, AppError> {
    let plan = PlanId::parse(&form.plan).ok_or(AppError::NotFound)?;
    let base = &state.config().base_url;
    let key: String = if form.form_key.is_empty() {
        random_token()
    } else {
        form.form_key.chars().take(64).collect()
    };
    let started = state
        .billing()
        .ok_or(AppError::NotFound)?
        .billing
        .start_subscription(
            current.user.id.as_uuid(),
            current.user.email.as_str(),
            plan,
            &format!("{base}/billing/plans?started=1"),
            &format!("{base}/billing/plans"),
            &key,
        )
        .await
        .map(|url| Redirect::to(&url).into_response());
    act(&current, started, "").await
}

#[derive(Debug, Default, Deserialize)]
pub struct CancelForm {
    /// `now`, or anything else for the end of the period.
    #[serde(default)]
    when: String,
}

pub async fn cancel(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<CancelForm>,
) -> Result<Response, AppError> {
    let (when, done) = if form.when == "now" {
        (CancelAt::Now, "Your subscription has ended.")
    } else {
        (
            CancelAt::PeriodEnd,
            "Your subscription will end with the paid period; until then nothing changes.",
        )
    };
    let result = state
        .billing()
        .ok_or(AppError::NotFound)?
        .billing
        .cancel_subscription(current.user.id.as_uuid(), when)
        .await
        .map(|_| back());
    act(&current, result, done).await
}

pub async fn resume(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    let result = state
        .billing()
        .ok_or(AppError::NotFound)?
        .billing
        .resume_subscription(current.user.id.as_uuid())
        .await
        .map(|_| back());
    act(&current, result, "Your subscription will renew as before.").await
}

pub async fn change(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<PlanForm>,
) -> Result<Response, AppError> {
    let plan = PlanId::parse(&form.plan).ok_or(AppError::NotFound)?;
    let result = state
        .billing()
        .ok_or(AppError::NotFound)?
        .billing
        .change_plan(current.user.id.as_uuid(), plan)
        .await
        .map(|_| back());
    act(
        &current,
        result,
        "Your plan changes at the next renewal: from then on you pay its price and get its credits.",
    )
    .await
}

// ----- admin ---------------------------------------------------------------------------------

pub async fn admin_plans(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<Response, AppError> {
    let store = state
        .billing()
        .ok_or(AppError::NotFound)?
        .billing
        .subscription_store()
        .map_err(billing_error)?;
    let plans: Vec<PlanView> = store.plans(false).await?.iter().map(PlanView::of).collect();
    Page::new("admin/plans.html")
        .with("plans", &plans)
        .render(&state, &admin.viewer())
        .await
}

/// Creates or updates plans from the processor's recurring prices.
pub async fn sync_plans(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<Response, AppError> {
    let (level, message) = match state
        .billing()
        .ok_or(AppError::NotFound)?
        .billing
        .sync_plans()
        .await
    {
        Ok(count) => (
            "success",
            format!("{count} plan(s) synced from the payment processor."),
        ),
        Err(BillingError::Storage(e)) => return Err(e.into()),
        Err(error) => ("danger", format!("Could not read the prices: {error}.")),
    };
    session::flash(&admin.session, level, message).await?;
    Ok(Redirect::to("/admin/plans").into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct PlanSwitch {
    #[serde(default)]
    active: Option<String>,
}

/// Offers a plan to new subscribers, or stops offering it (subscribers keep it).
pub async fn switch_plan(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Form(form): Form<PlanSwitch>,
) -> Result<Response, AppError> {
    let store = state
        .billing()
        .ok_or(AppError::NotFound)?
        .billing
        .subscription_store()
        .map_err(billing_error)?
        .clone();
    let id = PlanId::parse(&id).ok_or(AppError::NotFound)?;
    let mut plan = store.plan(id).await?.ok_or(AppError::NotFound)?;
    let before = serde_json::json!({"active": plan.active});
    plan.active = form.active.as_deref() == Some("on");
    store.save_plan(&plan).await?;
    crate::audit::record(
        &state,
        &admin.user,
        crate::audit::AuditAction::PlanUpdated,
        None,
        before,
        serde_json::json!({"plan": plan.id, "name": plan.name, "active": plan.active}),
    )
    .await;
    Ok(Redirect::to("/admin/plans").into_response())
}
