//! The stores wrapped so that what they record is counted: business metrics come from the
//! composition root's side of the ports, never from the domain crates. Each wrapper passes every
//! call through and counts only what the store actually did (a replayed credit operation, an
//! event stored twice, a payment recorded again count nothing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ::metrics::{counter, histogram};
use async_trait::async_trait;
use quickscale_adapters::Stores;
use quickscale_domain_billing::{
    BillingRepository, BillingReview, CheckoutRecord, CreditPack, EventQuery, InboxEvent, Money,
    PackId, Payment, PaymentId, PaymentQuery, Refund, ReserveError, ReviewKind, WebhookEvent,
};
use quickscale_domain_credits::{
    AccountId, AccountSnapshot, Balance, CreditCommand, CreditError, CreditStore, Credits, Grant,
    GrantId, HistoryPage, HistoryQuery, Operation, Receipt,
};
use quickscale_domain_identity::UserId;
use quickscale_domain_kernel::{
    EmailMessage, OutboxCounts, OutboxMessage, OutboxQuery, OutboxStore, StorageError,
};
use quickscale_service_sdk::caps::{MonthSpend, SpendCaps};
use quickscale_service_sdk::paid::{ChargedClaim, PaidRunStore, over_cap_end, refused_end};
use quickscale_service_sdk::{
    Claim, RunCharge, RunEnd, RunQuery, RunSample, ServiceRun, ServiceUsageRepository,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// The stores with service runs logged, and with `metrics` also counted (the credit ledger,
/// runs, billing and the outbox). Each call of a SQL store is a span of the adapters' own
/// (`db.<store>.<method>`), so nothing here is traced.
pub(crate) fn observe_stores(mut stores: Stores, metrics: bool) -> Stores {
    let running = Running::default();
    stores.usage = Arc::new(ObservedUsage {
        inner: stores.usage,
        running: Arc::clone(&running),
    });
    // The paid run's claim and charge go through this port instead of the two above (one
    // transaction), so it is observed the same way.
    stores.paid_runs = Arc::new(ObservedPaidRuns {
        inner: stores.paid_runs,
        running,
    });
    if !metrics {
        return stores;
    }
    stores.credits = Arc::new(MeteredCredits {
        inner: stores.credits,
    });
    stores.billing = Arc::new(MeteredBilling {
        inner: stores.billing,
    });
    stores.outbox = Arc::new(MeteredOutbox {
        inner: stores.outbox,
    });
    stores
}

/// Credits as a counter's whole number: hundredths of a credit.
fn cents(amount: Credits) -> u64 {
    u64::try_from(amount.cents()).unwrap_or(0)
}

/// Money as a counter's whole number: minor units (cents) of its currency.
fn minor(amount: Money) -> u64 {
    u64::try_from(amount.minor()).unwrap_or(0)
}

/// Counts what a credit operation moved (a replay moved nothing).
fn count_credits(command: &CreditCommand, receipt: &Receipt) {
    if receipt.replayed {
        return;
    }
    let moved = cents(receipt.amount);
    match command {
        CreditCommand::Grant { kind, .. } => {
            counter!("quickscale_credits_granted_cents_total", "kind" => kind.as_str())
                .increment(moved);
        }
        CreditCommand::Consume { .. } => {
            counter!("quickscale_credits_consumed_cents_total").increment(moved);
        }
        CreditCommand::Reverse { .. } => {
            counter!("quickscale_credits_reversed_cents_total").increment(moved);
        }
        CreditCommand::ClawBack { .. } => {
            counter!("quickscale_credits_clawed_back_cents_total").increment(moved);
        }
        CreditCommand::AdminRemove { .. } => {
            counter!("quickscale_credits_removed_cents_total").increment(moved);
        }
        CreditCommand::Hold { .. } => {
            counter!("quickscale_credits_held_cents_total").increment(moved);
        }
        // A settle charges part of the hold (consumed) and gives the rest back (released).
        CreditCommand::Settle { charge, .. } => {
            counter!("quickscale_credits_settled_cents_total").increment(cents(*charge));
            counter!("quickscale_credits_released_cents_total").increment(moved);
        }
        CreditCommand::Release { .. } => {
            counter!("quickscale_credits_released_cents_total").increment(moved);
        }
        _ => {}
    }
}

struct MeteredCredits {
    inner: Arc<dyn CreditStore>,
}

#[async_trait]
impl CreditStore for MeteredCredits {
    async fn execute(
        &self,
        account: AccountId,
        op: Operation,
        now: OffsetDateTime,
    ) -> Result<Receipt, CreditError> {
        let command = op.command.clone();
        let receipt = self.inner.execute(account, op, now).await?;
        count_credits(&command, &receipt);
        Ok(receipt)
    }

    async fn balance(
        &self,
        account: AccountId,
        now: OffsetDateTime,
    ) -> Result<Balance, CreditError> {
        self.inner.balance(account, now).await
    }

    async fn open_account(
        &self,
        account: AccountId,
        now: OffsetDateTime,
    ) -> Result<(), CreditError> {
        self.inner.open_account(account, now).await
    }

    async fn open_grants(&self, account: AccountId) -> Result<Vec<Grant>, CreditError> {
        self.inner.open_grants(account).await
    }

    async fn history(
        &self,
        account: AccountId,
        query: HistoryQuery,
    ) -> Result<HistoryPage, CreditError> {
        self.inner.history(account, query).await
    }

    async fn grants(&self, account: AccountId, ids: &[GrantId]) -> Result<Vec<Grant>, CreditError> {
        self.inner.grants(account, ids).await
    }

    async fn history_with_kinds(
        &self,
        account: AccountId,
        query: HistoryQuery,
    ) -> Result<
        (
            HistoryPage,
            Vec<Option<quickscale_domain_credits::GrantKind>>,
        ),
        CreditError,
    > {
        self.inner.history_with_kinds(account, query).await
    }

    async fn snapshot(&self, account: AccountId) -> Result<AccountSnapshot, CreditError> {
        self.inner.snapshot(account).await
    }

    async fn open_holds(
        &self,
        account: AccountId,
    ) -> Result<Vec<quickscale_domain_credits::OpenHold>, CreditError> {
        self.inner.open_holds(account).await
    }

    async fn balance_and_held(
        &self,
        account: AccountId,
        now: time::OffsetDateTime,
    ) -> Result<
        (
            quickscale_domain_credits::Balance,
            quickscale_domain_credits::Credits,
        ),
        CreditError,
    > {
        self.inner.balance_and_held(account, now).await
    }
}

/// Service runs: the run's id goes into the log context when it is claimed (the `run` span
/// of `routes::services::run_detached`); its end is logged, and counted with its service and
/// outcome. The slug is known from the claim (a run finished by another process, or after a
/// restart, counts as `unknown`).
struct ObservedUsage {
    inner: Arc<dyn ServiceUsageRepository>,
    running: Running,
}

/// The services of the runs this process claimed and has not yet seen end, by run id.
type Running = Arc<Mutex<HashMap<Uuid, String>>>;

/// A run claimed: its id goes into the log context and its service is remembered for its end.
fn run_started(running: &Running, run: &ServiceRun) {
    tracing::Span::current().record("run_id", tracing::field::display(run.id));
    running
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(run.id, run.service.clone());
}

/// A run ended: logged, and counted with its service and outcome.
fn run_ended(service: String, id: Uuid, end: &RunEnd) {
    let outcome = end.status.as_str();
    tracing::info!(run_id = %id, service, outcome, duration_ms = end.duration_ms, "service run ended");
    counter!("quickscale_service_runs_total", "service" => service.clone(), "outcome" => outcome)
        .increment(1);
    #[allow(clippy::cast_precision_loss)] // milliseconds far below 2^52
    histogram!("quickscale_service_run_duration_seconds", "service" => service, "outcome" => outcome)
        .record(end.duration_ms as f64 / 1000.0);
}

/// The paid run's claim and charge in one call: a charged run is started like a claimed one and
/// its charge counted; a refused one ends there (the store records it), so it is ended here.
struct ObservedPaidRuns {
    inner: Arc<dyn PaidRunStore>,
    running: Running,
}

#[async_trait]
impl PaidRunStore for ObservedPaidRuns {
    async fn claim_and_charge(
        &self,
        run: &ServiceRun,
        charge: &Operation,
        caps: &SpendCaps,
    ) -> Result<ChargedClaim, StorageError> {
        let claim = self.inner.claim_and_charge(run, charge, caps).await?;
        match &claim {
            ChargedClaim::Charged(receipt) => {
                run_started(&self.running, run);
                count_credits(&charge.command, receipt);
            }
            ChargedClaim::Refused(error) => {
                run_ended(run.service.clone(), run.id, &refused_end(run, error));
            }
            ChargedClaim::OverCap(over) => {
                run_ended(run.service.clone(), run.id, &over_cap_end(run, over));
            }
            _ => {}
        }
        Ok(claim)
    }
}

#[async_trait]
impl ServiceUsageRepository for ObservedUsage {
    async fn claim(&self, run: &ServiceRun) -> Result<Claim, StorageError> {
        let claim = self.inner.claim(run).await?;
        if matches!(claim, Claim::Started) {
            run_started(&self.running, run);
        }
        Ok(claim)
    }

    async fn finish(&self, id: Uuid, end: &RunEnd) -> Result<(), StorageError> {
        self.inner.finish(id, end).await?;
        let service = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id)
            .unwrap_or_else(|| "unknown".to_owned());
        run_ended(service, id, end);
        Ok(())
    }

    async fn start(&self, id: Uuid) -> Result<Option<ServiceRun>, StorageError> {
        self.inner.start(id).await
    }

    async fn progress(
        &self,
        id: Uuid,
        progress: &quickscale_service_sdk::Progress,
    ) -> Result<bool, StorageError> {
        self.inner.progress(id, progress).await
    }

    async fn get(&self, user: UserId, id: Uuid) -> Result<Option<ServiceRun>, StorageError> {
        self.inner.get(user, id).await
    }

    async fn list(&self, user: UserId, query: &RunQuery) -> Result<Vec<ServiceRun>, StorageError> {
        self.inner.list(user, query).await
    }

    async fn samples_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<RunSample>, StorageError> {
        self.inner.samples_since(since, limit).await
    }

    async fn unfinished(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ServiceRun>, StorageError> {
        self.inner.unfinished(before, limit).await
    }

    async fn charges(
        &self,
        user: UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<RunCharge>, StorageError> {
        self.inner.charges(user, after, limit).await
    }

    async fn month_spend(
        &self,
        user: UserId,
        key: quickscale_domain_identity::ApiKeyId,
        since: OffsetDateTime,
    ) -> Result<MonthSpend, StorageError> {
        self.inner.month_spend(user, key, since).await
    }
}

/// Payments, refunds and the webhook inbox.
struct MeteredBilling {
    inner: Arc<dyn BillingRepository>,
}

#[async_trait]
impl BillingRepository for MeteredBilling {
    async fn record_payment(&self, payment: &Payment) -> Result<(Payment, bool), StorageError> {
        let (stored, created) = self.inner.record_payment(payment).await?;
        if created {
            let currency = stored.amount.currency().as_str().to_owned();
            counter!("quickscale_payments_total", "currency" => currency.clone()).increment(1);
            counter!("quickscale_payments_amount_minor_total", "currency" => currency)
                .increment(minor(stored.amount));
        }
        Ok((stored, created))
    }

    async fn complete_refund(
        &self,
        refund: Uuid,
        gateway_refund: &str,
    ) -> Result<Refund, StorageError> {
        let before = self.inner.refund(refund).await?;
        let done = self.inner.complete_refund(refund, gateway_refund).await?;
        if before.is_none_or(|r| r.status != done.status) {
            count_refund(&done, "app");
        }
        Ok(done)
    }

    async fn record_external_refund(
        &self,
        payment: PaymentId,
        gateway_refund: &str,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Refund, StorageError> {
        let known = self
            .inner
            .refunds_of(payment)
            .await?
            .iter()
            .any(|r| r.gateway_refund.as_deref() == Some(gateway_refund));
        let refund = self
            .inner
            .record_external_refund(payment, gateway_refund, amount, now)
            .await?;
        if !known {
            count_refund(&refund, "processor");
        }
        Ok(refund)
    }

    async fn store_event(
        &self,
        event: &WebhookEvent,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let stored = self.inner.store_event(event, now).await?;
        let outcome = if stored { "stored" } else { "duplicate" };
        counter!("quickscale_webhook_events_received_total", "outcome" => outcome).increment(1);
        Ok(stored)
    }

    async fn mark_processed(&self, id: &str, now: OffsetDateTime) -> Result<(), StorageError> {
        let event = self.inner.event(id).await?;
        self.inner.mark_processed(id, now).await?;
        if let Some(event) = event.filter(|e| e.processed_at.is_none()) {
            counter!("quickscale_webhook_events_processed_total", "type" => event.event.kind.clone())
                .increment(1);
            histogram!("quickscale_webhook_processing_lag_seconds")
                .record((now - event.received_at).as_seconds_f64().max(0.0));
        }
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        self.inner.mark_failed(id, error, next_attempt_at).await?;
        counter!("quickscale_webhook_events_failed_total").increment(1);
        Ok(())
    }

    async fn packs(&self, active_only: bool) -> Result<Vec<CreditPack>, StorageError> {
        self.inner.packs(active_only).await
    }

    async fn pack(&self, id: PackId) -> Result<Option<CreditPack>, StorageError> {
        self.inner.pack(id).await
    }

    async fn save_pack(&self, pack: &CreditPack) -> Result<(), StorageError> {
        self.inner.save_pack(pack).await
    }

    async fn customer_of(&self, user: Uuid) -> Result<Option<String>, StorageError> {
        self.inner.customer_of(user).await
    }

    async fn user_of_customer(&self, customer: &str) -> Result<Option<Uuid>, StorageError> {
        self.inner.user_of_customer(customer).await
    }

    async fn save_customer(&self, user: Uuid, customer: &str) -> Result<String, StorageError> {
        self.inner.save_customer(user, customer).await
    }

    async fn save_checkout(&self, checkout: &CheckoutRecord) -> Result<(), StorageError> {
        self.inner.save_checkout(checkout).await
    }

    async fn checkout(&self, session_id: &str) -> Result<Option<CheckoutRecord>, StorageError> {
        self.inner.checkout(session_id).await
    }

    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StorageError> {
        self.inner.payment(id).await
    }

    async fn payment_by_session(&self, session_id: &str) -> Result<Option<Payment>, StorageError> {
        self.inner.payment_by_session(session_id).await
    }

    async fn payment_by_intent(&self, intent: &str) -> Result<Option<Payment>, StorageError> {
        self.inner.payment_by_intent(intent).await
    }

    async fn payments(&self, query: &PaymentQuery) -> Result<(Vec<Payment>, u64), StorageError> {
        self.inner.payments(query).await
    }

    async fn reserve_refund(
        &self,
        payment: PaymentId,
        amount: Money,
        reason: &str,
        requested_by: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Refund, ReserveError> {
        self.inner
            .reserve_refund(payment, amount, reason, requested_by, now)
            .await
    }

    async fn set_refund_credits(
        &self,
        refund: Uuid,
        clawed: Credits,
        shortfall: Credits,
    ) -> Result<(), StorageError> {
        self.inner
            .set_refund_credits(refund, clawed, shortfall)
            .await
    }

    async fn fail_refund(&self, refund: Uuid, error: &str) -> Result<(), StorageError> {
        self.inner.fail_refund(refund, error).await
    }

    async fn refund(&self, id: Uuid) -> Result<Option<Refund>, StorageError> {
        self.inner.refund(id).await
    }

    async fn refunds_of(&self, payment: PaymentId) -> Result<Vec<Refund>, StorageError> {
        self.inner.refunds_of(payment).await
    }

    async fn event(&self, id: &str) -> Result<Option<InboxEvent>, StorageError> {
        self.inner.event(id).await
    }

    async fn due_events(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<InboxEvent>, StorageError> {
        self.inner.due_events(now, limit).await
    }

    async fn events(&self, query: &EventQuery) -> Result<Vec<InboxEvent>, StorageError> {
        self.inner.events(query).await
    }

    async fn record_review(
        &self,
        review: &BillingReview,
    ) -> Result<(BillingReview, bool), StorageError> {
        self.inner.record_review(review).await
    }

    async fn review(
        &self,
        kind: ReviewKind,
        reference: &str,
    ) -> Result<Option<BillingReview>, StorageError> {
        self.inner.review(kind, reference).await
    }

    async fn settle_review(&self, id: Uuid, now: OffsetDateTime) -> Result<bool, StorageError> {
        self.inner.settle_review(id, now).await
    }

    async fn reviews(
        &self,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<BillingReview>, StorageError> {
        self.inner.reviews(open_only, limit).await
    }

    async fn resolve_review(
        &self,
        id: Uuid,
        admin: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<BillingReview>, StorageError> {
        self.inner.resolve_review(id, admin, now).await
    }
}

fn count_refund(refund: &Refund, origin: &'static str) {
    let currency = refund.amount.currency().as_str().to_owned();
    counter!("quickscale_refunds_total", "currency" => currency.clone(), "origin" => origin)
        .increment(1);
    counter!("quickscale_refunds_amount_minor_total", "currency" => currency, "origin" => origin)
        .increment(minor(refund.amount));
}

/// Email deliveries (the outbox's worker marks each attempt).
struct MeteredOutbox {
    inner: Arc<dyn OutboxStore>,
}

#[async_trait]
impl OutboxStore for MeteredOutbox {
    async fn mark_sent(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StorageError> {
        self.inner.mark_sent(id, now).await?;
        counter!("quickscale_emails_sent_total").increment(1);
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: Uuid,
        error: &str,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> Result<(), StorageError> {
        self.inner.mark_failed(id, error, next_attempt_at).await?;
        let outcome = if next_attempt_at.is_some() {
            "retrying"
        } else {
            "given_up"
        };
        counter!("quickscale_email_attempts_failed_total", "outcome" => outcome).increment(1);
        Ok(())
    }

    async fn enqueue(
        &self,
        message: &EmailMessage,
        now: OffsetDateTime,
    ) -> Result<Uuid, StorageError> {
        self.inner.enqueue(message, now).await
    }

    async fn due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StorageError> {
        self.inner.due(now, limit).await
    }

    async fn get(&self, id: Uuid) -> Result<Option<OutboxMessage>, StorageError> {
        self.inner.get(id).await
    }

    async fn list(&self, query: &OutboxQuery) -> Result<Vec<OutboxMessage>, StorageError> {
        self.inner.list(query).await
    }

    async fn counts(&self) -> Result<OutboxCounts, StorageError> {
        self.inner.counts().await
    }
}
