//! Subscription plans and subscriptions: a plan is a recurring price in Stripe with a number of
//! credits per period; a subscription is our record of a customer's Stripe subscription, kept in
//! line with the processor (which is the truth for its status and period). Each paid period
//! grants the plan's credits once, expiring at the end of the period (so they are spent before
//! pay-as-you-go credits).

use async_trait::async_trait;
use quickscale_domain_credits::Credits;
use quickscale_domain_kernel::StorageError;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Interval, Money};

/// A plan's id, sent to the processor as `metadata[plan_id]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct PlanId(pub Uuid);

impl PlanId {
    /// The id written in `text` (a form's field); `None` if it is not a UUID.
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok().map(Self)
    }
}

impl std::fmt::Display for PlanId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A plan: what a recurring price in the processor buys each period.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Plan {
    /// Its id.
    pub id: PlanId,
    /// What subscribers see on the pricing page (the processor's product name).
    pub name: String,
    /// Credits granted for each paid period.
    pub credits: Credits,
    /// The price of one period.
    pub price: Money,
    /// The unit of the billing period.
    pub interval: Interval,
    /// How many units one period lasts (3 months bills quarterly).
    pub interval_count: u32,
    /// The processor's recurring price (unique): plans come from the processor.
    pub stripe_price_id: String,
    /// Offered to new subscribers; existing subscriptions keep running either way.
    pub active: bool,
    /// Where it appears on the pricing page, lowest first.
    pub display_order: i32,
    /// API requests a minute per key (`metadata[api_requests_per_minute]`); `None`: the app's
    /// default (`API_RATE_PER_MINUTE`).
    pub api_per_minute: Option<u32>,
    /// Credits a calendar month (UTC) spent through the API, all keys together
    /// (`metadata[api_monthly_credits]`); `None`: the app's default (`API_MONTHLY_CREDITS`).
    pub api_monthly_credits: Option<Credits>,
}

impl Plan {
    /// "month", "3 months", "year".
    pub fn period_label(&self) -> String {
        match self.interval_count {
            1 => self.interval.as_str().to_owned(),
            n => format!("{n} {}s", self.interval.as_str()),
        }
    }
}

/// Our record of a processor subscription.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Subscription {
    /// The processor's id (`sub_...`).
    pub id: String,
    /// The subscriber.
    pub user: Uuid,
    /// The plan of its price, when the price is one of our plans.
    pub plan: Option<PlanId>,
    /// The processor's price the subscription bills (at its next renewal).
    pub price_id: String,
    /// The processor's status: `active`, `past_due`, `canceled`, `incomplete`, ...
    pub status: String,
    /// The start of the period paid for.
    #[serde(with = "time::serde::rfc3339")]
    pub current_period_start: OffsetDateTime,
    /// The end of the period paid for: the period's credits expire then.
    #[serde(with = "time::serde::rfc3339")]
    pub current_period_end: OffsetDateTime,
    /// Set when the subscriber asked to stop at the end of the period (undoable until then).
    pub cancel_at_period_end: bool,
    /// The price the current period was bought at, while the next renewal bills another (a
    /// plan changed at renewal): the plan that applies until then. `None` otherwise.
    pub period_price_id: Option<String>,
    /// When the processor last changed it; an older view arriving late changes nothing.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Subscription {
    /// Paid up (or trialing): the plan's benefits apply.
    pub fn is_entitled(&self) -> bool {
        matches!(self.status.as_str(), "active" | "trialing")
    }

    /// Still the user's subscription: not ended (past due and incomplete ones can recover).
    pub fn is_current(&self) -> bool {
        !matches!(self.status.as_str(), "canceled" | "incomplete_expired")
    }

    /// The price of the plan that applies now: the current period's, even when the next
    /// renewal bills another.
    pub fn price_now(&self) -> &str {
        self.period_price_id.as_deref().unwrap_or(&self.price_id)
    }

    /// The price the next renewal moves to, when it differs from the one that applies now.
    pub fn price_at_renewal(&self) -> Option<&str> {
        self.period_price_id
            .as_ref()
            .filter(|paid| **paid != self.price_id)
            .map(|_| self.price_id.as_str())
    }
}

/// Plans and subscriptions.
#[async_trait]
pub trait SubscriptionRepository: Send + Sync {
    /// Plans by display order (then name); only active ones when `active_only`.
    async fn plans(&self, active_only: bool) -> Result<Vec<Plan>, StorageError>;
    /// One plan, active or not.
    async fn plan(&self, id: PlanId) -> Result<Option<Plan>, StorageError>;
    /// The plan of a processor price (an invoice names the price it bills).
    async fn plan_by_price(&self, price_id: &str) -> Result<Option<Plan>, StorageError>;
    /// Creates or updates a plan (by id; the price id is unique).
    async fn save_plan(&self, plan: &Plan) -> Result<(), StorageError>;
    /// Creates or updates a subscription (by its processor id), unless the stored one was
    /// updated after `subscription.updated_at` (an older view of it arriving late changes
    /// nothing). Returns the stored subscription.
    async fn save_subscription(
        &self,
        subscription: &Subscription,
    ) -> Result<Subscription, StorageError>;
    /// Our record of a processor subscription.
    async fn subscription(&self, id: &str) -> Result<Option<Subscription>, StorageError>;
    /// The user's subscriptions, the most recently started period first.
    async fn subscriptions_of(&self, user: Uuid) -> Result<Vec<Subscription>, StorageError>;
}
