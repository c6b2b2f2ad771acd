//! The subscription use cases: plans from the processor's recurring prices, subscribing through
//! a checkout, each paid period's credits granted once (expiring at the period's end), the
//! subscription's state kept in line with the processor, cancelling, resuming and changing plan.
//!
//! As with packs, the processor is the truth for money and for the subscription's state: every
//! event makes us fetch the subscription or invoice it names, so duplicates and the order of
//! events do not matter, and a stored subscription is only replaced by a newer view of it.

use std::sync::Arc;

use quickscale_domain_credits::{Credits, GrantKind, Reason, SourceRef};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    Billing, BillingError, BillingReview, CancelAt, CheckoutSession, Currency, EventOutcome,
    GatewayError, GatewayInvoice, GatewayPrice, GatewaySubscription, Money, Plan, PlanId,
    Proration, ReviewKind, Subscription, SubscriptionCheckoutRequest, SubscriptionRepository,
    amount_label,
};

fn at(unix: i64) -> Result<OffsetDateTime, GatewayError> {
    OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|_| GatewayError::Malformed(format!("not a time: {unix}")))
}

impl Billing {
    /// The plans and subscriptions store, when subscriptions are on.
    pub fn subscription_store(&self) -> Result<&Arc<dyn SubscriptionRepository>, BillingError> {
        self.subscriptions
            .as_ref()
            .ok_or(BillingError::SubscriptionsOff)
    }

    /// Creates or updates plans from the processor's active recurring prices whose product (or
    /// price) has a `credits` value; returns how many. Plans whose price is no longer active are
    /// no longer offered (their subscribers keep them).
    pub async fn sync_plans(&self) -> Result<usize, BillingError> {
        let store = self.subscription_store()?;
        let mut synced = 0;
        let existing = store.plans(false).await?;
        let prices = self.gateway.prices().await?;
        // A plan whose price is no longer active cannot be bought: stop offering it.
        for gone in existing
            .iter()
            .filter(|p| p.active && !prices.iter().any(|price| price.id == p.stripe_price_id))
        {
            store
                .save_plan(&Plan {
                    active: false,
                    ..gone.clone()
                })
                .await?;
        }
        for price in prices {
            let Some(plan) = plan_of(&price, 10 + i32::try_from(synced).unwrap_or(0)) else {
                continue;
            };
            let plan = match existing.iter().find(|p| p.stripe_price_id == price.id) {
                // Keep our id, order and on/off switch; take the processor's terms.
                Some(same) => Plan {
                    id: same.id,
                    display_order: same.display_order,
                    active: same.active,
                    ..plan
                },
                None => plan,
            };
            store.save_plan(&plan).await?;
            synced += 1;
        }
        Ok(synced)
    }

    /// The user's subscription that has not ended, if any.
    pub async fn current_subscription(
        &self,
        user: Uuid,
    ) -> Result<Option<Subscription>, BillingError> {
        Ok(self
            .subscription_store()?
            .subscriptions_of(user)
            .await?
            .into_iter()
            .find(Subscription::is_current))
    }

    /// The plan whose benefits the user has now: the plan of the period paid for (or on trial),
    /// `None` without one (no subscription, or one past due or ended).
    pub async fn entitled_plan(&self, user: Uuid) -> Result<Option<Plan>, BillingError> {
        let Some(subscription) = self
            .current_subscription(user)
            .await?
            .filter(Subscription::is_entitled)
        else {
            return Ok(None);
        };
        Ok(self
            .subscription_store()?
            .plan_by_price(subscription.price_now())
            .await?)
    }

    /// Starts a subscription checkout for a plan and returns the processor's payment page. A
    /// user with a current subscription changes its plan instead.
    pub async fn start_subscription(
        &self,
        user: Uuid,
        email: &str,
        plan: PlanId,
        success_url: &str,
        cancel_url: &str,
        form_key: &str,
    ) -> Result<String, BillingError> {
        let store = self.subscription_store()?;
        let plan = store
            .plan(plan)
            .await?
            .filter(|p| p.active)
            .ok_or(BillingError::UnknownPlan)?;
        if self.current_subscription(user).await?.is_some() {
            return Err(BillingError::AlreadySubscribed);
        }
        let customer = self.customer(user, email).await?;
        // Our records lag the webhooks (a checkout paid in another tab a moment ago): ask the
        // processor too, and record what it knows.
        let existing = self.gateway.customer_subscriptions(&customer).await?;
        if !existing.is_empty() {
            for remote in existing {
                self.store_remote(remote, Some(user)).await?;
            }
            return Err(BillingError::AlreadySubscribed);
        }
        let request = SubscriptionCheckoutRequest {
            customer,
            user_reference: user.to_string(),
            plan_reference: plan.id.to_string(),
            price_id: plan.stripe_price_id.clone(),
            success_url: success_url.to_owned(),
            cancel_url: cancel_url.to_owned(),
        };
        let form = format!("subscribe:{user}:{}:{form_key}", plan.id);
        let mut key = form.clone();
        for _ in 0..4 {
            let session = self
                .gateway
                .create_subscription_checkout(&request, &key)
                .await?;
            match self
                .close_older_checkouts(&request.customer, &session)
                .await
            {
                // This form's checkout was closed since (a newer one from another tab closed
                // it): a resubmitted form starts a new one, which closes the other in turn.
                Some(false) => key = format!("{form}:after:{}", session.id),
                Some(true) | None => {
                    return session.url.ok_or_else(|| {
                        GatewayError::Malformed("the checkout session has no URL".into()).into()
                    });
                }
            }
        }
        Err(
            GatewayError::Malformed("every checkout session started was closed at once".into())
                .into(),
        )
    }

    /// One subscription checkout open per customer, the newest: two tabs of the plans page must
    /// not lead to two subscriptions. Expires the customer's subscription checkouts older than
    /// `session` (in the processor's order, newest first). `Some(false)` when `session` itself
    /// can no longer be paid; `None` when the processor could not say (its answer is logged and
    /// the session used: a second subscription is still caught when it starts, see
    /// [`Self::end_second_subscription`]).
    async fn close_older_checkouts(
        &self,
        customer: &str,
        session: &CheckoutSession,
    ) -> Option<bool> {
        let open = match self.gateway.open_checkout_sessions(customer).await {
            Ok(open) => open,
            Err(error) => {
                tracing::warn!(%error, customer, "could not list the customer's open checkouts");
                return None;
            }
        };
        let Some(at) = open.iter().position(|s| s.id == session.id) else {
            return Some(false);
        };
        for older in open[at + 1..].iter().filter(|s| !s.is_one_time_payment()) {
            match self
                .gateway
                .expire_checkout_session(&older.id, &format!("expire:{}", older.id))
                .await
            {
                Ok(_) => {
                    tracing::info!(session = %older.id, newer = %session.id, "an older subscription checkout was closed")
                }
                Err(error) => {
                    tracing::warn!(%error, session = %older.id, "could not close an older subscription checkout")
                }
            }
        }
        Some(true)
    }

    /// Fetches a subscription from the processor and stores what it says. A second running
    /// subscription of a user who has one is ended at once: refunded
    /// in full and held for an admin's review.
    pub async fn sync_subscription(
        &self,
        id: &str,
        user_hint: Option<Uuid>,
    ) -> Result<Synced, BillingError> {
        let remote = self.gateway.subscription(id).await?;
        let stored = self.subscription_store()?.subscription(&remote.id).await?;
        let Some(user) = owner(&remote, stored.as_ref(), user_hint) else {
            tracing::warn!(subscription = %remote.id, "a subscription names no user of ours; ignored");
            return Ok(Synced::Foreign);
        };
        if let Some((ended, outcome)) = self.end_second_subscription(&remote, user).await? {
            self.store_remote(ended, Some(user)).await?;
            return Ok(Synced::Second(outcome));
        }
        Ok(self
            .store_remote(remote, Some(user))
            .await?
            .map_or(Synced::Foreign, Synced::Current))
    }

    /// One subscription per user: a running subscription whose customer has an older running
    /// one (two checkouts paid from two tabs, or one made outside the app) is cancelled at once
    /// and its paid invoice refunded in full, and nothing is granted for it. It is recorded for
    /// the admins' review first, so that a retry after a failure finishes the job (the
    /// cancellation and the refund are idempotent); `new` in the outcome is true only for the
    /// call that finished it. `None` when `remote` is not such a subscription.
    async fn end_second_subscription(
        &self,
        remote: &GatewaySubscription,
        user: Uuid,
    ) -> Result<Option<(GatewaySubscription, EventOutcome)>, BillingError> {
        let kind = ReviewKind::DuplicateSubscription;
        let outcome = |new| EventOutcome::Review {
            kind,
            reference: remote.id.clone(),
            new,
        };
        let existing = self.repo.review(kind, &remote.id).await?;
        if existing.as_ref().is_some_and(|r| r.settled_at.is_some()) {
            return Ok(Some((remote.clone(), outcome(false))));
        }
        let kept = match &existing {
            Some(_) => None,
            None => {
                if !remote.is_running() {
                    return Ok(None);
                }
                let running = self
                    .gateway
                    .customer_subscriptions(&remote.customer)
                    .await?;
                let Some(at) = running.iter().position(|s| s.id == remote.id) else {
                    return Ok(None);
                };
                let Some(kept) = running[at + 1..].iter().find(|s| s.is_running()) else {
                    return Ok(None);
                };
                Some(kept.id.clone())
            }
        };
        let paid = match &remote.latest_invoice {
            Some(invoice) => Some(self.gateway.invoice(invoice).await?)
                .filter(|i| i.is_paid() && i.amount_paid > 0),
            None => None,
        };
        let review = match (existing, kept) {
            (Some(review), _) => review,
            (None, None) => return Ok(None),
            (None, Some(kept)) => {
                let (amount, currency) = paid
                    .as_ref()
                    .map_or((0, "usd"), |i| (i.amount_paid, i.currency.as_str()));
                let review = BillingReview {
                    user: Some(user),
                    customer: Some(remote.customer.clone()),
                    ..BillingReview::new(
                        kind,
                        &remote.id,
                        (amount, currency),
                        format!(
                            "A second subscription while {kept} runs: cancelled at once and its {} refunded in full; no credits were granted for it.",
                            amount_label(amount, currency)
                        ),
                        self.clock.now(),
                    )
                };
                tracing::warn!(subscription = %remote.id, %kept, %user, "a second subscription is being cancelled and refunded");
                self.repo.record_review(&review).await?.0
            }
        };
        let ended = if remote.status == "canceled" {
            remote.clone()
        } else {
            self.gateway
                .cancel_subscription(&remote.id, CancelAt::Now, &format!("second:{}", remote.id))
                .await?
        };
        if let Some(invoice) = paid {
            self.refund_invoice(&invoice, &review.id.to_string())
                .await?;
        }
        let first = self.repo.settle_review(review.id, self.clock.now()).await?;
        Ok(Some((ended, outcome(first))))
    }

    /// Refunds what an invoice was paid, in full (once: the key is the invoice's).
    async fn refund_invoice(
        &self,
        invoice: &GatewayInvoice,
        reference: &str,
    ) -> Result<(), BillingError> {
        let Some(intent) = &invoice.payment_intent else {
            return Err(GatewayError::Malformed(format!(
                "the paid invoice {} names no payment to refund",
                invoice.id
            ))
            .into());
        };
        let currency = Currency::parse(&invoice.currency)
            .map_err(|e| GatewayError::Malformed(e.to_string()))?;
        let amount = Money::new(invoice.amount_paid, currency)
            .map_err(|e| GatewayError::Malformed(e.to_string()))?;
        match self
            .gateway
            .create_refund(
                intent,
                amount,
                reference,
                &format!("refund-invoice:{}", invoice.id),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Refunded already (from the dashboard, or by an earlier attempt whose answer was
            // lost): nothing left to give back.
            Err(GatewayError::Rejected {
                code: Some(code), ..
            }) if code == "charge_already_refunded" => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Stores the processor's view of a subscription, stamped with when it arrived (after the
    /// answer, so that a slow fetch cannot pass for a newer one).
    async fn store_remote(
        &self,
        remote: GatewaySubscription,
        user_hint: Option<Uuid>,
    ) -> Result<Option<Subscription>, BillingError> {
        self.store_view(remote, user_hint, None).await
    }

    /// Stores a view of a subscription; `changed_from` is the price it had before a plan
    /// change at renewal that this view is the answer to.
    async fn store_view(
        &self,
        remote: GatewaySubscription,
        user_hint: Option<Uuid>,
        changed_from: Option<String>,
    ) -> Result<Option<Subscription>, BillingError> {
        let store = self.subscription_store()?;
        let fetched_at = self.clock.now();
        let stored = store.subscription(&remote.id).await?;
        let Some(user) = owner(&remote, stored.as_ref(), user_hint) else {
            tracing::warn!(subscription = %remote.id, "a subscription names no user of ours; ignored");
            return Ok(None);
        };
        let plan = store.plan_by_price(&remote.price_id).await?.map(|p| p.id);
        // The plan of the period under way, kept until the period ends (a renewal moves the
        // period start to where it ended), then the price itself applies.
        let same_period =
            |s: &Subscription| remote.current_period_start < s.current_period_end.unix_timestamp();
        let period_price_id = stored
            .as_ref()
            .filter(|s| same_period(s))
            .and_then(|s| s.period_price_id.clone())
            .or(changed_from)
            .filter(|paid| *paid != remote.price_id);
        let record = Subscription {
            id: remote.id,
            user,
            plan,
            price_id: remote.price_id,
            status: remote.status,
            current_period_start: at(remote.current_period_start)?,
            current_period_end: at(remote.current_period_end)?,
            cancel_at_period_end: remote.cancel_at_period_end,
            period_price_id,
            updated_at: fetched_at,
        };
        Ok(Some(store.save_subscription(&record).await?))
    }

    /// An invoice of a subscription, paid or not: the subscription is synced (a failed payment
    /// makes it past due), and a paid new period (the first or a renewal) grants the plan's
    /// credits once, expiring when the period ends.
    pub(crate) async fn subscription_invoice(
        &self,
        id: &str,
    ) -> Result<EventOutcome, BillingError> {
        let invoice = self.gateway.invoice(id).await?;
        let Some(subscription) = invoice.subscription.as_deref() else {
            return Ok(EventOutcome::Ignored);
        };
        let synced = match self.sync_subscription(subscription, None).await? {
            Synced::Current(synced) => synced,
            // A second subscription's invoice was refunded: nothing is granted for it.
            other => return Ok(other.outcome()),
        };
        if !invoice.is_paid() {
            return Ok(EventOutcome::Subscription { id: synced.id });
        }
        let new_period = matches!(
            invoice.billing_reason.as_deref(),
            Some("subscription_create" | "subscription_cycle")
        );
        let plan = match &invoice.price_id {
            Some(price) => self.subscription_store()?.plan_by_price(price).await?,
            None => None,
        };
        let (true, Some(plan)) = (new_period, plan) else {
            return Ok(EventOutcome::Subscription { id: synced.id });
        };
        let expires_at = at(invoice.period_end)?;
        if expires_at <= self.clock.now() {
            // Paid after the period it pays for was over: nothing left to spend.
            tracing::warn!(invoice = %invoice.id, user = %synced.user, "a period was paid after it ended; no credits granted");
            return Ok(EventOutcome::Subscription { id: synced.id });
        }
        let reason = Reason::parse(format!(
            "Subscription: {} ({})",
            plan.name,
            plan.credits.with_unit()
        ))
        .unwrap_or_else(|_| Reason::parse("Subscription").expect("static reason"));
        let source = SourceRef::parse(format!("invoice:{}", invoice.id))
            .map_err(|e| GatewayError::Malformed(e.to_string()))?;
        let new = self
            .grant_once(
                synced.user,
                &format!("invoice:{}", invoice.id),
                source,
                reason,
                (GrantKind::Subscription, plan.credits, Some(expires_at)),
            )
            .await?;
        Ok(EventOutcome::PeriodCredits {
            invoice: invoice.id,
            new,
        })
    }

    /// The user's current subscription, or `NoSubscription`.
    async fn own_subscription(&self, user: Uuid) -> Result<Subscription, BillingError> {
        self.current_subscription(user)
            .await?
            .ok_or(BillingError::NoSubscription)
    }

    /// A key for one change of one subscription: a repeat of the same request (the same stored
    /// state) reuses it; the next change gets a new one.
    fn change_key(action: &str, subscription: &Subscription) -> String {
        format!(
            "{action}:{}:{}",
            subscription.id,
            subscription.updated_at.unix_timestamp_nanos()
        )
    }

    /// Cancels the user's subscription at the end of the paid period (undo with
    /// [`Self::resume_subscription`]) or now (no refund for the rest of the period).
    pub async fn cancel_subscription(
        &self,
        user: Uuid,
        when: CancelAt,
    ) -> Result<Subscription, BillingError> {
        let current = self.own_subscription(user).await?;
        let action = match when {
            CancelAt::PeriodEnd => "cancel-at-end",
            CancelAt::Now => "cancel-now",
        };
        let changed = self
            .gateway
            .cancel_subscription(&current.id, when, &Self::change_key(action, &current))
            .await?;
        self.stored_change(changed, user).await
    }

    /// Stores what the processor answered to a change (no second fetch that could fail after
    /// the change was made).
    async fn stored_change(
        &self,
        changed: GatewaySubscription,
        user: Uuid,
    ) -> Result<Subscription, BillingError> {
        self.store_remote(changed, Some(user))
            .await?
            .ok_or(BillingError::NoSubscription)
    }

    /// Keeps a subscription that was set to end with its period.
    pub async fn resume_subscription(&self, user: Uuid) -> Result<Subscription, BillingError> {
        let current = self.own_subscription(user).await?;
        let changed = self
            .gateway
            .resume_subscription(&current.id, &Self::change_key("resume", &current))
            .await?;
        self.stored_change(changed, user).await
    }

    /// Moves the subscription to another plan from the next renewal: nothing is charged or
    /// granted now; the next period costs the new price and grants the new plan's credits.
    pub async fn change_plan(
        &self,
        user: Uuid,
        plan: PlanId,
    ) -> Result<Subscription, BillingError> {
        let plan = self
            .subscription_store()?
            .plan(plan)
            .await?
            .filter(|p| p.active)
            .ok_or(BillingError::UnknownPlan)?;
        let current = self.own_subscription(user).await?;
        if current.price_id == plan.stripe_price_id {
            return Ok(current);
        }
        // Across periods (monthly to yearly) Stripe restarts the cycle and bills the new price
        // at once: that is a new subscription, not a change at renewal.
        let same_period = match current.plan {
            Some(id) => store_plan(self, id).await?.is_some_and(|old| {
                (old.interval, old.interval_count) == (plan.interval, plan.interval_count)
            }),
            None => false,
        };
        if !same_period {
            return Err(BillingError::OtherPeriod);
        }
        let changed = self
            .gateway
            .change_subscription_price(
                &current.id,
                &plan.stripe_price_id,
                Proration::None,
                &Self::change_key(&format!("plan-{}", plan.id), &current),
            )
            .await?;
        // The period under way stays the plan it was bought at; the page says what follows.
        let paid = current.price_now().to_owned();
        self.store_view(changed, Some(user), Some(paid))
            .await?
            .ok_or(BillingError::NoSubscription)
    }
}

/// What syncing a subscription found.
#[derive(Debug)]
#[non_exhaustive]
pub enum Synced {
    /// Stored as the processor has it.
    Current(Subscription),
    /// A second subscription of a user who has one: ended (cancelled, refunded) and stored so.
    Second(EventOutcome),
    /// A subscription of no user of ours (made outside this app): ignored.
    Foreign,
}

impl Synced {
    /// What processing the event did.
    pub fn outcome(self) -> EventOutcome {
        match self {
            Synced::Current(subscription) => EventOutcome::Subscription {
                id: subscription.id,
            },
            Synced::Second(outcome) => outcome,
            Synced::Foreign => EventOutcome::Ignored,
        }
    }
}

/// Whose subscription it is: the user its metadata names (set by our checkout), the one we
/// stored it for, or the one the caller knows from elsewhere (the checkout session).
fn owner(
    remote: &GatewaySubscription,
    stored: Option<&Subscription>,
    hint: Option<Uuid>,
) -> Option<Uuid> {
    remote
        .metadata
        .get("user_id")
        .and_then(|u| Uuid::parse_str(u).ok())
        .or(stored.map(|s| s.user))
        .or(hint)
}

async fn store_plan(billing: &Billing, id: PlanId) -> Result<Option<Plan>, BillingError> {
    Ok(billing.subscription_store()?.plan(id).await?)
}

/// The plan a recurring price describes, if it names its credits.
fn plan_of(price: &GatewayPrice, display_order: i32) -> Option<Plan> {
    let recurring = price.recurring.filter(|_| price.active)?;
    let credits = price
        .credits
        .as_deref()
        .and_then(|c| Credits::parse(c).ok())
        .filter(|c| !c.is_zero())?;
    let currency = Currency::parse(&price.currency).ok()?;
    // Tiered and metered prices have no unit amount: not a plan we can show a price for.
    let money = Money::new(price.unit_amount, currency)
        .ok()
        .filter(|_| price.unit_amount > 0)?;
    let name = if price.product_name.is_empty() {
        format!(
            "{} per {}",
            credits.with_unit(),
            recurring.interval.as_str()
        )
    } else {
        price.product_name.clone()
    };
    Some(Plan {
        id: PlanId(Uuid::now_v7()),
        name,
        credits,
        price: money,
        interval: recurring.interval,
        interval_count: recurring.count,
        stripe_price_id: price.id.clone(),
        active: true,
        display_order,
        api_per_minute: api_limit(
            price,
            "api_requests_per_minute",
            &price.api_requests_per_minute,
            |t| t.parse::<u32>().ok().filter(|n| *n > 0),
        ),
        api_monthly_credits: api_limit(
            price,
            "api_monthly_credits",
            &price.api_monthly_credits,
            |t| Credits::parse(t).ok(),
        ),
    })
}

/// A plan's API limit as its metadata states it; one that does not read as a limit is logged
/// and left out (the app's default applies), never taken as "no limit".
fn api_limit<T>(
    price: &GatewayPrice,
    name: &str,
    value: &Option<String>,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let text = value.as_deref()?.trim();
    let limit = parse(text);
    if limit.is_none() {
        tracing::warn!(price = %price.id, name, value = text, "ignoring a plan's API limit that is not a valid number; the app's default applies");
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Interval, Recurring};

    fn price(recurring: Option<Recurring>, credits: Option<&str>) -> GatewayPrice {
        GatewayPrice {
            id: "price_1".into(),
            product_id: "prod_1".into(),
            product_name: "Pro".into(),
            unit_amount: 2000,
            currency: "usd".into(),
            active: true,
            credits: credits.map(str::to_owned),
            recurring,
            api_requests_per_minute: None,
            api_monthly_credits: None,
        }
    }

    #[test]
    fn a_plans_api_limits_come_from_its_metadata() {
        let monthly = Some(Recurring {
            interval: Interval::Month,
            count: 1,
        });
        let plain = plan_of(&price(monthly, Some("1000")), 0).unwrap();
        assert_eq!(
            (plain.api_per_minute, plain.api_monthly_credits),
            (None, None)
        );
        let pro = GatewayPrice {
            api_requests_per_minute: Some("300".into()),
            api_monthly_credits: Some(" 2500.50 ".into()),
            ..price(monthly, Some("1000"))
        };
        let plan = plan_of(&pro, 0).unwrap();
        assert_eq!(plan.api_per_minute, Some(300));
        assert_eq!(
            plan.api_monthly_credits,
            Some(Credits::parse("2500.50").unwrap())
        );
        // Values that are not limits fall back to the defaults, never to "unlimited".
        for (rate, credits) in [("0", "-5"), ("fast", "lots"), ("-1", "1.234")] {
            let odd = GatewayPrice {
                api_requests_per_minute: Some(rate.into()),
                api_monthly_credits: Some(credits.into()),
                ..price(monthly, Some("1000"))
            };
            let plan = plan_of(&odd, 0).unwrap();
            assert_eq!(
                (plan.api_per_minute, plan.api_monthly_credits),
                (None, None),
                "{rate} {credits}"
            );
        }
    }

    #[test]
    fn only_recurring_prices_with_credits_are_plans() {
        let monthly = Some(Recurring {
            interval: Interval::Month,
            count: 1,
        });
        let plan = plan_of(&price(monthly, Some("1000")), 3).unwrap();
        assert_eq!(
            (plan.credits, plan.price.minor(), plan.period_label()),
            (Credits::whole(1000), 2000, "month".to_owned())
        );
        assert!(plan_of(&price(None, Some("1000")), 0).is_none(), "a pack");
        assert!(plan_of(&price(monthly, None), 0).is_none(), "no credits");
        assert!(plan_of(&price(monthly, Some("0")), 0).is_none());
        assert!(plan_of(&price(monthly, Some("lots")), 0).is_none());
        let tiered = GatewayPrice {
            unit_amount: 0,
            ..price(monthly, Some("1000"))
        };
        assert!(plan_of(&tiered, 0).is_none(), "no unit amount");
        let quarterly = Recurring {
            interval: Interval::Month,
            count: 3,
        };
        assert_eq!(
            plan_of(&price(Some(quarterly), Some("1")), 0)
                .unwrap()
                .period_label(),
            "3 months"
        );
    }
}
