//! The plan and subscription store.

use async_trait::async_trait;
use quickscale_domain_billing::{Interval, Plan, PlanId, Subscription, SubscriptionRepository};
use quickscale_domain_kernel::StorageError;
use uuid::Uuid;

use super::billing::money;
use super::row::{cents, get, time_of};
use super::{Database, Db, Row};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, is_unique_violation, parse, storage_error};

const PLAN_COLUMNS: &str = "id, name, credits_cents, price_minor, currency, interval, \
                            interval_count, stripe_price_id, active, display_order, \
                            api_per_minute, api_monthly_credits_cents";
const SUBSCRIPTION_COLUMNS: &str = "id, user_id, plan_id, price_id, status, current_period_start, \
    current_period_end, cancel_at_period_end, period_price_id, updated_at";

fn plan_from_row(row: &Row) -> Result<Plan, StorageError> {
    let currency: String = get(row, "currency")?;
    let interval: String = get(row, "interval")?;
    Ok(Plan {
        id: PlanId(get(row, "id")?),
        name: get(row, "name")?,
        credits: cents("plan credits", get(row, "credits_cents")?)?,
        price: money(get(row, "price_minor")?, &currency)?,
        interval: Interval::parse(&interval)
            .ok_or_else(|| StorageError::corrupt(format!("plan interval {interval}")))?,
        interval_count: parse(
            "interval count",
            u32::try_from(get::<i64>(row, "interval_count")?),
        )?,
        stripe_price_id: get(row, "stripe_price_id")?,
        active: get(row, "active")?,
        display_order: get(row, "display_order")?,
        api_per_minute: get::<Option<i64>>(row, "api_per_minute")?
            .map(|n| parse("plan API rate", u32::try_from(n)))
            .transpose()?,
        api_monthly_credits: get::<Option<i64>>(row, "api_monthly_credits_cents")?
            .map(|c| cents("plan API credits", c))
            .transpose()?,
    })
}

fn subscription_from_row(row: &Row) -> Result<Subscription, StorageError> {
    Ok(Subscription {
        id: get(row, "id")?,
        user: get(row, "user_id")?,
        plan: get::<Option<Uuid>>(row, "plan_id")?.map(PlanId),
        price_id: get(row, "price_id")?,
        status: get(row, "status")?,
        current_period_start: time_of(row, "current_period_start")?,
        current_period_end: time_of(row, "current_period_end")?,
        cancel_at_period_end: get(row, "cancel_at_period_end")?,
        period_price_id: get(row, "period_price_id")?,
        updated_at: time_of(row, "updated_at")?,
    })
}

/// The plan and subscription store.
#[derive(Clone, Debug)]
pub struct SqlSubscriptionRepository {
    db: Database,
}

impl SqlSubscriptionRepository {
    pub fn new(db: Database) -> Self {
        SqlSubscriptionRepository { db }
    }

    async fn plan_by(
        &self,
        column: &str,
        value: impl sqlx::Encode<'_, Db> + sqlx::Type<Db> + Send,
    ) -> Result<Option<Plan>, StorageError> {
        let sql = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE {column} = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(plan_from_row)
            .transpose()
    }
}

crate::sql::traced_store! { "subscriptions",
#[async_trait]
impl SubscriptionRepository for SqlSubscriptionRepository {
    async fn plans(&self, active_only: bool) -> Result<Vec<Plan>, StorageError> {
        let sql = format!(
            "SELECT {PLAN_COLUMNS} FROM plans WHERE ($1 = FALSE OR active = TRUE) ORDER BY \
             display_order, name"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(active_only)
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?
            .iter()
            .map(plan_from_row)
            .collect()
    }

    async fn plan(&self, id: PlanId) -> Result<Option<Plan>, StorageError> {
        self.plan_by("id", id.0).await
    }

    async fn plan_by_price(&self, price_id: &str) -> Result<Option<Plan>, StorageError> {
        self.plan_by("stripe_price_id", price_id).await
    }

    async fn save_plan(&self, plan: &Plan) -> Result<(), StorageError> {
        let saved = sqlx::query(
            "INSERT INTO plans (id, name, credits_cents, price_minor, currency, interval, \
             interval_count, stripe_price_id, active, display_order, api_per_minute, \
             api_monthly_credits_cents) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             credits_cents = excluded.credits_cents, price_minor = excluded.price_minor, currency \
             = excluded.currency, interval = excluded.interval, interval_count = \
             excluded.interval_count, stripe_price_id = excluded.stripe_price_id, active = \
             excluded.active, display_order = excluded.display_order, api_per_minute = \
             excluded.api_per_minute, api_monthly_credits_cents = excluded.api_monthly_credits_cents",
        )
        .bind(plan.id.0)
        .bind(plan.name.as_str())
        .bind(plan.credits.cents())
        .bind(plan.price.minor())
        .bind(plan.price.currency().as_str())
        .bind(plan.interval.as_str())
        .bind(i64::from(plan.interval_count))
        .bind(plan.stripe_price_id.as_str())
        .bind(plan.active)
        .bind(plan.display_order)
        .bind(plan.api_per_minute.map(i64::from))
        .bind(plan.api_monthly_credits.map(|c| c.cents()))
        .execute(self.db.writer())
        .await;
        match saved {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StorageError::with_source(
                quickscale_domain_kernel::StorageFailure::Other,
                "a plan with this price id is stored already",
                e,
            )),
            Err(e) => Err(storage_error(e)),
        }
    }

    async fn save_subscription(
        &self,
        subscription: &Subscription,
    ) -> Result<Subscription, StorageError> {
        // One statement, so that two views racing cannot interleave: the row keeps the
        // newest (a subscription stays its first user's).
        sqlx::query(
            "INSERT INTO subscriptions (id, user_id, plan_id, price_id, status, \
             current_period_start, current_period_end, cancel_at_period_end, period_price_id, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO \
             UPDATE SET plan_id = excluded.plan_id, price_id = excluded.price_id, status = \
             excluded.status, current_period_start = excluded.current_period_start, \
             current_period_end = excluded.current_period_end, cancel_at_period_end = \
             excluded.cancel_at_period_end, period_price_id = excluded.period_price_id, updated_at \
             = excluded.updated_at WHERE subscriptions.updated_at <= excluded.updated_at",
        )
        .bind(subscription.id.as_str())
        .bind(subscription.user)
        .bind(subscription.plan.map(|p| p.0))
        .bind(subscription.price_id.as_str())
        .bind(subscription.status.as_str())
        .bind(DbTime(subscription.current_period_start))
        .bind(DbTime(subscription.current_period_end))
        .bind(subscription.cancel_at_period_end)
        .bind(subscription.period_price_id.as_deref())
        .bind(DbTime(subscription.updated_at))
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(subscription.id.as_str())
            .fetch_one(self.db.writer())
            .await
            .map_err(storage_error)?;
        subscription_from_row(&row)
    }

    async fn subscription(&self, id: &str) -> Result<Option<Subscription>, StorageError> {
        let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(subscription_from_row)
            .transpose()
    }

    async fn subscriptions_of(&self, user: Uuid) -> Result<Vec<Subscription>, StorageError> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE user_id = $1 \
             ORDER BY current_period_start DESC, id DESC"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?
            .iter()
            .map(subscription_from_row)
            .collect()
    }
}
}
