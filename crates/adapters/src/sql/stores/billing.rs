//! The billing store: credit packs, customers, checkouts, payments, refunds, the webhook inbox
//! and billing reviews.

use async_trait::async_trait;
use quickscale_domain_billing::{
    BillingRepository, BillingReview, CheckoutRecord, CreditPack, Currency, EventQuery,
    EventStatus, InboxEvent, Money, PackId, Payment, PaymentId, PaymentQuery, PaymentStatus,
    Refund, RefundStatus, ReserveError, ReviewKind, WebhookEvent,
};
use quickscale_domain_credits::Credits;
use quickscale_domain_kernel::StorageError;
use time::OffsetDateTime;
use uuid::Uuid;

use super::row::{cents, get, optional_time, time_of};
use super::{Database, Db, Row};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, parse, storage_error};

/// An amount of money read back from its minor units and currency.
pub(super) fn money(minor: i64, currency: &str) -> Result<Money, StorageError> {
    let currency = parse("currency", Currency::parse(currency))?;
    parse("amount", Money::new(minor, currency))
}

const PACK_COLUMNS: &str =
    "id, name, credits_cents, price_minor, currency, active, display_order, stripe_price_id";
const PAYMENT_COLUMNS: &str = "id, user_id, pack_id, description, credits_cents, amount_minor, \
                               refunded_minor, currency, status, receipt_number, checkout_session, \
                               payment_intent, created_at";
const REFUND_COLUMNS: &str = "id, payment_id, amount_minor, currency, status, reason, \
                              gateway_refund_id, credits_clawed_cents, credits_shortfall_cents, \
                              requested_by, error, created_at";
const REVIEW_COLUMNS: &str = "id, kind, reference, user_id, customer_id, amount_minor, currency, \
                              detail, created_at, settled_at, resolved_at, resolved_by";
const EVENT_COLUMNS: &str = "id, kind, created, object_id, payload, status, attempts, last_error, \
    next_attempt_at, received_at, processed_at";

fn pack_from_row(row: &Row) -> Result<CreditPack, StorageError> {
    let currency: String = get(row, "currency")?;
    Ok(CreditPack {
        id: PackId(get(row, "id")?),
        name: get(row, "name")?,
        credits: cents("pack credits", get(row, "credits_cents")?)?,
        price: money(get(row, "price_minor")?, &currency)?,
        active: get(row, "active")?,
        display_order: get(row, "display_order")?,
        stripe_price_id: get(row, "stripe_price_id")?,
    })
}

fn payment_from_row(row: &Row) -> Result<Payment, StorageError> {
    let currency: String = get(row, "currency")?;
    let status: String = get(row, "status")?;
    Ok(Payment {
        id: PaymentId(get(row, "id")?),
        user: get(row, "user_id")?,
        pack: get::<Option<Uuid>>(row, "pack_id")?.map(PackId),
        description: get(row, "description")?,
        credits: cents("payment credits", get(row, "credits_cents")?)?,
        amount: money(get(row, "amount_minor")?, &currency)?,
        refunded: money(get(row, "refunded_minor")?, &currency)?,
        status: PaymentStatus::parse(&status)
            .ok_or_else(|| StorageError::corrupt(format!("payment status {status}")))?,
        receipt_number: get(row, "receipt_number")?,
        checkout_session: get(row, "checkout_session")?,
        payment_intent: get(row, "payment_intent")?,
        created_at: time_of(row, "created_at")?,
    })
}

fn refund_from_row(row: &Row) -> Result<Refund, StorageError> {
    let currency: String = get(row, "currency")?;
    let status: String = get(row, "status")?;
    Ok(Refund {
        id: get(row, "id")?,
        payment: PaymentId(get(row, "payment_id")?),
        amount: money(get(row, "amount_minor")?, &currency)?,
        status: RefundStatus::parse(&status)
            .ok_or_else(|| StorageError::corrupt(format!("refund status {status}")))?,
        reason: get(row, "reason")?,
        gateway_refund: get(row, "gateway_refund_id")?,
        credits_clawed: cents("clawed", get(row, "credits_clawed_cents")?)?,
        credits_shortfall: cents("shortfall", get(row, "credits_shortfall_cents")?)?,
        requested_by: get(row, "requested_by")?,
        error: get(row, "error")?,
        created_at: time_of(row, "created_at")?,
    })
}

fn review_from_row(row: &Row) -> Result<BillingReview, StorageError> {
    let kind: String = get(row, "kind")?;
    Ok(BillingReview {
        id: get(row, "id")?,
        kind: ReviewKind::parse(&kind)
            .ok_or_else(|| StorageError::corrupt(format!("review kind {kind}")))?,
        reference: get(row, "reference")?,
        user: get(row, "user_id")?,
        customer: get(row, "customer_id")?,
        amount_minor: get(row, "amount_minor")?,
        currency: get(row, "currency")?,
        detail: get(row, "detail")?,
        created_at: time_of(row, "created_at")?,
        settled_at: optional_time(row, "settled_at")?,
        resolved_at: optional_time(row, "resolved_at")?,
        resolved_by: get(row, "resolved_by")?,
    })
}

fn event_from_row(row: &Row) -> Result<InboxEvent, StorageError> {
    let status: String = get(row, "status")?;
    Ok(InboxEvent {
        event: WebhookEvent {
            id: get(row, "id")?,
            kind: get(row, "kind")?,
            created: get(row, "created")?,
            object_id: get(row, "object_id")?,
            payload: get(row, "payload")?,
        },
        status: EventStatus::parse(&status)
            .ok_or_else(|| StorageError::corrupt(format!("event status {status}")))?,
        attempts: parse("attempts", u32::try_from(get::<i32>(row, "attempts")?))?,
        last_error: get(row, "last_error")?,
        next_attempt_at: optional_time(row, "next_attempt_at")?,
        received_at: time_of(row, "received_at")?,
        processed_at: optional_time(row, "processed_at")?,
    })
}

/// The billing store.
#[derive(Clone, Debug)]
pub struct SqlBillingRepository {
    db: Database,
}

impl SqlBillingRepository {
    pub fn new(db: Database) -> Self {
        SqlBillingRepository { db }
    }
}

/// Sets a payment's refunded total and status from its succeeded refunds.
async fn settle(
    tx: &mut sqlx::Transaction<'static, Db>,
    payment: Uuid,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE payments SET refunded_minor = (SELECT COALESCE(SUM(amount_minor), 0) FROM refunds \
         WHERE payment_id = $1 AND status = 'succeeded') WHERE id = $1",
    )
    .bind(payment)
    .execute(&mut **tx)
    .await
    .map_err(storage_error)?;
    sqlx::query(
        "UPDATE payments SET status = CASE WHEN refunded_minor = 0 THEN 'succeeded' WHEN \
         refunded_minor >= amount_minor THEN 'refunded' ELSE 'partially_refunded' END WHERE id = \
         $1",
    )
    .bind(payment)
    .execute(&mut **tx)
    .await
    .map_err(storage_error)?;
    Ok(())
}

impl SqlBillingRepository {
    async fn refund_by(&self, column: &str, value: &str) -> Result<Option<Refund>, StorageError> {
        let sql = format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE {column} = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(self.db.writer())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(refund_from_row)
            .transpose()
    }

    async fn payment_by(&self, column: &str, value: &str) -> Result<Option<Payment>, StorageError> {
        let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE {column} = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(payment_from_row)
            .transpose()
    }
}

crate::sql::traced_store! { "billing",
#[async_trait]
impl BillingRepository for SqlBillingRepository {
    async fn packs(&self, active_only: bool) -> Result<Vec<CreditPack>, StorageError> {
        let sql = format!(
            "SELECT {PACK_COLUMNS} FROM credit_packs WHERE ($1 = FALSE OR active = TRUE) ORDER BY \
             display_order, name"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(active_only)
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?
            .iter()
            .map(pack_from_row)
            .collect()
    }

    async fn pack(&self, id: PackId) -> Result<Option<CreditPack>, StorageError> {
        let sql = format!("SELECT {PACK_COLUMNS} FROM credit_packs WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(pack_from_row)
            .transpose()
    }

    async fn save_pack(&self, pack: &CreditPack) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO credit_packs (id, name, credits_cents, price_minor, currency, active, \
             display_order, stripe_price_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT \
             (id) DO UPDATE SET name = excluded.name, credits_cents = excluded.credits_cents, \
             price_minor = excluded.price_minor, currency = excluded.currency, active = \
             excluded.active, display_order = excluded.display_order, stripe_price_id = \
             excluded.stripe_price_id",
        )
        .bind(pack.id.0)
        .bind(pack.name.as_str())
        .bind(pack.credits.cents())
        .bind(pack.price.minor())
        .bind(pack.price.currency().as_str())
        .bind(pack.active)
        .bind(pack.display_order)
        .bind(pack.stripe_price_id.as_deref())
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn customer_of(&self, user: Uuid) -> Result<Option<String>, StorageError> {
        sqlx::query_scalar("SELECT customer_id FROM billing_customers WHERE user_id = $1")
            .bind(user)
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)
    }

    async fn user_of_customer(&self, customer: &str) -> Result<Option<Uuid>, StorageError> {
        sqlx::query_scalar("SELECT user_id FROM billing_customers WHERE customer_id = $1")
            .bind(customer)
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)
    }

    async fn save_customer(&self, user: Uuid, customer: &str) -> Result<String, StorageError> {
        sqlx::query(
            "INSERT INTO billing_customers (user_id, customer_id) VALUES ($1, $2) ON CONFLICT \
             (user_id) DO NOTHING",
        )
        .bind(user)
        .bind(customer)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        sqlx::query_scalar("SELECT customer_id FROM billing_customers WHERE user_id = $1")
            .bind(user)
            .fetch_one(self.db.writer())
            .await
            .map_err(storage_error)
    }

    async fn save_checkout(&self, c: &CheckoutRecord) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO checkouts (session_id, user_id, pack_id, description, credits_cents, \
             amount_minor, currency, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON \
             CONFLICT (session_id) DO NOTHING",
        )
        .bind(c.session_id.as_str())
        .bind(c.user)
        .bind(c.pack.0)
        .bind(c.description.as_str())
        .bind(c.credits.cents())
        .bind(c.amount.minor())
        .bind(c.amount.currency().as_str())
        .bind(DbTime(c.created_at))
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn checkout(&self, session_id: &str) -> Result<Option<CheckoutRecord>, StorageError> {
        let row = sqlx::query(
            "SELECT session_id, user_id, pack_id, description, credits_cents, amount_minor, \
             currency, created_at FROM checkouts WHERE session_id = $1",
        )
        .bind(session_id)
        .fetch_optional(self.db.reader())
        .await
        .map_err(storage_error)?;
        let Some(row) = row else { return Ok(None) };
        let currency: String = get(&row, "currency")?;
        Ok(Some(CheckoutRecord {
            session_id: get(&row, "session_id")?,
            user: get(&row, "user_id")?,
            pack: PackId(get(&row, "pack_id")?),
            description: get(&row, "description")?,
            credits: cents("credits", get(&row, "credits_cents")?)?,
            amount: money(get(&row, "amount_minor")?, &currency)?,
            created_at: time_of(&row, "created_at")?,
        }))
    }

    async fn record_payment(&self, p: &Payment) -> Result<(Payment, bool), StorageError> {
        let inserted = sqlx::query(
            "INSERT INTO payments (id, user_id, pack_id, description, credits_cents, amount_minor, \
             refunded_minor, currency, status, receipt_number, checkout_session, payment_intent, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON \
             CONFLICT DO NOTHING",
        )
        .bind(p.id.0)
        .bind(p.user)
        .bind(p.pack.map(|id| id.0))
        .bind(p.description.as_str())
        .bind(p.credits.cents())
        .bind(p.amount.minor())
        .bind(p.refunded.minor())
        .bind(p.amount.currency().as_str())
        .bind(p.status.as_str())
        .bind(p.receipt_number.as_str())
        .bind(p.checkout_session.as_str())
        .bind(p.payment_intent.as_deref())
        .bind(DbTime(p.created_at))
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        // No conflict target: PostgreSQL only absorbs conflicts on the target's index,
        // and a concurrent copy of this payment also collides on payment_intent.
        let stored = self
            .payment_by("checkout_session", &p.checkout_session)
            .await?
            .ok_or_else(|| {
                StorageError::new(
                    quickscale_domain_kernel::StorageFailure::Other,
                    "another checkout session already recorded this payment intent",
                )
            })?;
        Ok((stored, inserted.rows_affected() == 1))
    }

    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StorageError> {
        let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(payment_from_row)
            .transpose()
    }

    async fn payment_by_session(&self, session_id: &str) -> Result<Option<Payment>, StorageError> {
        self.payment_by("checkout_session", session_id).await
    }

    async fn payment_by_intent(&self, intent: &str) -> Result<Option<Payment>, StorageError> {
        self.payment_by("payment_intent", intent).await
    }

    async fn payments(&self, q: &PaymentQuery) -> Result<(Vec<Payment>, u64), StorageError> {
        let filter = "($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR receipt_number = $2 OR \
                      checkout_session = $2 OR payment_intent = $2) AND ($3 IS NULL OR status = \
                      $3) AND ($4 IS NULL OR amount_minor >= $4) AND ($5 IS NULL OR amount_minor \
                      <= $5) AND ($6 IS NULL OR created_at >= $6) AND ($7 IS NULL OR created_at < \
                      $7)";
        macro_rules! bind_filter {
            ($query:expr) => {
                $query
                    .bind(q.user)
                    .bind(q.reference.as_deref())
                    .bind(q.status.map(|s| s.as_str()))
                    .bind(q.min_amount)
                    .bind(q.max_amount)
                    .bind(q.from.map(DbTime))
                    .bind(q.until.map(DbTime))
            };
        }
        let total: i64 = bind_filter!(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM payments WHERE {filter}"
        ))))
        .fetch_one(self.db.reader())
        .await
        .map_err(storage_error)?;
        let rows = bind_filter!(sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE {filter} ORDER BY created_at DESC, id \
             DESC LIMIT $8 OFFSET $9"
        ))))
        .bind(i64::from(q.limit.clamp(1, 500)))
        .bind(i64::try_from(q.offset).unwrap_or(i64::MAX))
        .fetch_all(self.db.reader())
        .await
        .map_err(storage_error)?;
        Ok((
            rows.iter()
                .map(payment_from_row)
                .collect::<Result<_, _>>()?,
            u64::try_from(total).unwrap_or_default(),
        ))
    }

    async fn reserve_refund(
        &self,
        payment: PaymentId,
        amount: Money,
        reason: &str,
        requested_by: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Refund, ReserveError> {
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT amount_minor, currency FROM payments WHERE id = $1{}",
            Database::FOR_UPDATE
        )))
        .bind(payment.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage_error)?
        .ok_or(ReserveError::UnknownPayment)?;
        let paid = money(
            get(&row, "amount_minor")?,
            &get::<String>(&row, "currency")?,
        )?;
        let held: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM refunds WHERE payment_id = \
             $1 AND status <> 'failed'",
        )
        .bind(payment.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(storage_error)?;
        let already = money(held.min(paid.minor()), paid.currency().as_str())?;
        if quickscale_domain_billing::check_refund(paid, already, amount).is_err() {
            let refundable = paid
                .checked_sub(already)
                .unwrap_or(Money::zero(paid.currency()));
            return Err(ReserveError::TooMuch { refundable });
        }
        let refund = Refund {
            id: Uuid::now_v7(),
            payment,
            amount,
            status: RefundStatus::Pending,
            reason: reason.to_owned(),
            gateway_refund: None,
            credits_clawed: Credits::ZERO,
            credits_shortfall: Credits::ZERO,
            requested_by,
            error: None,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO refunds (id, payment_id, amount_minor, currency, status, reason, \
             requested_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(refund.id)
        .bind(payment.0)
        .bind(amount.minor())
        .bind(amount.currency().as_str())
        .bind(RefundStatus::Pending.as_str())
        .bind(reason)
        .bind(requested_by)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        Ok(refund)
    }

    async fn complete_refund(
        &self,
        refund: Uuid,
        gateway_refund: &str,
    ) -> Result<Refund, StorageError> {
        if let Some(existing) = self.refund_by("gateway_refund_id", gateway_refund).await? {
            if existing.id != refund {
                // The processor's event recorded it first as an external refund.
                self.fail_refund(refund, &format!("recorded as {}", existing.id))
                    .await?;
            }
            return Ok(existing);
        }
        let mut tx = self.db.begin_write().await?;
        let payment: Option<Uuid> = sqlx::query_scalar(
            "UPDATE refunds SET status = 'succeeded', gateway_refund_id = $1, error = NULL WHERE \
             id = $2 RETURNING payment_id",
        )
        .bind(gateway_refund)
        .bind(refund)
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage_error)?;
        let payment =
            payment.ok_or_else(|| StorageError::corrupt(format!("no refund {refund}")))?;
        settle(&mut tx, payment).await?;
        tx.commit().await.map_err(storage_error)?;
        self.refund(refund)
            .await?
            .ok_or_else(|| StorageError::corrupt("the refund vanished"))
    }

    async fn set_refund_credits(
        &self,
        refund: Uuid,
        clawed: Credits,
        shortfall: Credits,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE refunds SET credits_clawed_cents = $1, credits_shortfall_cents = $2 WHERE id = \
             $3",
        )
        .bind(clawed.cents())
        .bind(shortfall.cents())
        .bind(refund)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn fail_refund(&self, refund: Uuid, error: &str) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE refunds SET status = 'failed', error = $1 WHERE id = $2 AND status = 'pending'",
        )
        .bind(error)
        .bind(refund)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn record_external_refund(
        &self,
        payment: PaymentId,
        gateway_refund: &str,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Refund, StorageError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO refunds (id, payment_id, amount_minor, currency, status, reason, \
             gateway_refund_id, created_at) VALUES ($1, $2, $3, $4, 'succeeded', 'Refunded at the \
             payment processor', $5, $6) ON CONFLICT (gateway_refund_id) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(payment.0)
        .bind(amount.minor())
        .bind(amount.currency().as_str())
        .bind(gateway_refund)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        settle(&mut tx, payment.0).await?;
        tx.commit().await.map_err(storage_error)?;
        self.refund_by("gateway_refund_id", gateway_refund)
            .await?
            .ok_or_else(|| StorageError::corrupt("the refund vanished"))
    }

    async fn refund(&self, id: Uuid) -> Result<Option<Refund>, StorageError> {
        let sql = format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.writer())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(refund_from_row)
            .transpose()
    }

    async fn refunds_of(&self, payment: PaymentId) -> Result<Vec<Refund>, StorageError> {
        let sql = format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 ORDER BY created_at, id"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(payment.0)
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?
            .iter()
            .map(refund_from_row)
            .collect()
    }

    async fn store_event(
        &self,
        event: &WebhookEvent,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let inserted = sqlx::query(
            "INSERT INTO webhook_events (id, kind, created, object_id, payload, status, \
             received_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(event.id.as_str())
        .bind(event.kind.as_str())
        .bind(event.created)
        .bind(event.object_id.as_deref())
        .bind(event.payload.as_str())
        .bind(DbTime(now))
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn event(&self, id: &str) -> Result<Option<InboxEvent>, StorageError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM webhook_events WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(event_from_row)
            .transpose()
    }

    async fn mark_processed(&self, id: &str, now: OffsetDateTime) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE webhook_events SET status = 'processed', attempts = attempts + 1, last_error = \
             NULL, next_attempt_at = NULL, processed_at = $1 WHERE id = $2",
        )
        .bind(DbTime(now))
        .bind(id)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE webhook_events SET status = 'failed', attempts = attempts + 1, last_error = \
             $1, next_attempt_at = $2 WHERE id = $3",
        )
        .bind(error)
        .bind(DbTime(next_attempt_at))
        .bind(id)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn due_events(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<InboxEvent>, StorageError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM webhook_events WHERE status = 'pending' \
             OR (status = 'failed' AND next_attempt_at <= $1) ORDER BY received_at, id LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(DbTime(now))
            .bind(i64::from(limit))
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?
            .iter()
            .map(event_from_row)
            .collect()
    }

    async fn events(&self, q: &EventQuery) -> Result<Vec<InboxEvent>, StorageError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM webhook_events WHERE ($1 IS NULL OR status = $1) \
             AND ($2 IS NULL OR kind = $2) ORDER BY received_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        // Events of given objects are picked out below, so those are skipped there.
        let (limit, sql_offset, skipped) = if q.object_ids.is_empty() {
            (q.limit.clamp(1, 500), q.offset, 0)
        } else {
            (5_000, 0, q.offset)
        };
        let events: Vec<InboxEvent> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(q.status.map(|s| s.as_str()))
            .bind(q.kind.as_deref())
            .bind(i64::from(limit))
            .bind(i64::try_from(sql_offset).unwrap_or(i64::MAX))
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?
            .iter()
            .map(event_from_row)
            .collect::<Result<_, _>>()?;
        Ok(events
            .into_iter()
            .filter(|e| {
                q.object_ids.is_empty()
                    || e.event
                        .object_id
                        .as_ref()
                        .is_some_and(|o| q.object_ids.contains(o))
            })
            .skip(usize::try_from(skipped).unwrap_or(usize::MAX))
            .take(q.limit.clamp(1, 500) as usize)
            .collect())
    }

    async fn record_review(
        &self,
        r: &BillingReview,
    ) -> Result<(BillingReview, bool), StorageError> {
        let inserted = sqlx::query(
            "INSERT INTO billing_reviews (id, kind, reference, user_id, customer_id, amount_minor, \
             currency, detail, created_at, settled_at, resolved_at, resolved_by) VALUES ($1, $2, \
             $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (kind, reference) DO NOTHING",
        )
        .bind(r.id)
        .bind(r.kind.as_str())
        .bind(r.reference.as_str())
        .bind(r.user)
        .bind(r.customer.as_deref())
        .bind(r.amount_minor)
        .bind(r.currency.as_str())
        .bind(r.detail.as_str())
        .bind(DbTime(r.created_at))
        .bind(r.settled_at.map(DbTime))
        .bind(r.resolved_at.map(DbTime))
        .bind(r.resolved_by)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        let stored = self
            .review(r.kind, &r.reference)
            .await?
            .ok_or_else(|| StorageError::corrupt("a review vanished after it was recorded"))?;
        Ok((stored, inserted.rows_affected() == 1))
    }

    async fn review(
        &self,
        kind: ReviewKind,
        reference: &str,
    ) -> Result<Option<BillingReview>, StorageError> {
        let sql = format!(
            "SELECT {REVIEW_COLUMNS} FROM billing_reviews WHERE kind = $1 AND reference = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(kind.as_str())
            .bind(reference)
            .fetch_optional(self.db.writer())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(review_from_row)
            .transpose()
    }

    async fn settle_review(&self, id: Uuid, now: OffsetDateTime) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "UPDATE billing_reviews SET settled_at = $1 WHERE id = $2 AND settled_at IS NULL",
        )
        .bind(DbTime(now))
        .bind(id)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn reviews(
        &self,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<BillingReview>, StorageError> {
        let filter = if open_only {
            "WHERE resolved_at IS NULL "
        } else {
            ""
        };
        let sql = format!(
            "SELECT {REVIEW_COLUMNS} FROM billing_reviews {filter}ORDER BY created_at DESC, id \
             DESC LIMIT $1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit.clamp(1, 500)))
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?
            .iter()
            .map(review_from_row)
            .collect()
    }

    async fn resolve_review(
        &self,
        id: Uuid,
        admin: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<BillingReview>, StorageError> {
        sqlx::query(
            "UPDATE billing_reviews SET resolved_at = $1, resolved_by = $2 WHERE id = $3 AND \
             resolved_at IS NULL",
        )
        .bind(DbTime(now))
        .bind(admin)
        .bind(id)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        let sql = format!("SELECT {REVIEW_COLUMNS} FROM billing_reviews WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.writer())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(review_from_row)
            .transpose()
    }
}
}
