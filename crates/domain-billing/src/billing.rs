//! The billing use cases: checkout, webhook processing, refunds, reconciliation.
//!
//! Our database is the truth for credits, the processor for money. Credits are granted only
//! from the processor's own account of a checkout session (fetched, not taken from the event, so
//! the order events arrive in does not matter), once per session (a unique index on the
//! payment's session, and the credit grant's source and key).

use std::sync::Arc;

use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, CreditError, CreditStore, Credits, GrantKind, IdempotencyKey,
    Operation, Reason, SourceRef,
};
use quickscale_domain_kernel::{Clock, StorageError};
use serde::Serialize;
use time::Duration;
use uuid::Uuid;

use crate::refund::{check_refund, credits_for_refund};
use crate::{
    BillingRepository, BillingReview, CheckoutRecord, CheckoutRequest, CheckoutSession, CreditPack,
    Currency, GatewayError, Money, PackId, Payment, PaymentGateway, PaymentId, PaymentStatus,
    Refund, RefundError, ReserveError, ReviewKind, SignatureError, WebhookEvent, amount_label,
    verify_signature,
};

/// Why a billing use case did not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BillingError {
    /// The pack does not exist or is no longer for sale.
    #[error("that credit pack is not for sale")]
    UnknownPack,
    /// The payment does not exist.
    #[error("no such payment")]
    UnknownPayment,
    /// The plan does not exist or is no longer offered.
    #[error("that plan is not offered")]
    UnknownPlan,
    /// A subscription use case was called on a [`Billing`] built without
    /// [`Billing::with_subscriptions`].
    #[error("subscriptions are not enabled")]
    SubscriptionsOff,
    /// The user already has a running subscription: one per user, so that period credits are
    /// never granted twice.
    #[error("you already have a subscription; change its plan instead")]
    AlreadySubscribed,
    /// The user has no running subscription to change or cancel.
    #[error("you have no subscription")]
    NoSubscription,
    /// A plan change across billing periods (monthly to yearly): the processor would restart
    /// the cycle and bill at once, which is a new subscription, not a change at renewal.
    #[error("that plan bills over another period; cancel and subscribe to it instead")]
    OtherPeriod,
    /// The processor failed or refused; whether to retry is [`GatewayError`]'s to say.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The refund breaks a refund rule.
    #[error(transparent)]
    Refund(#[from] RefundError),
    /// The payment has no processor payment id, so the processor cannot refund it.
    #[error("the payment has no processor reference to refund")]
    NotRefundable,
    /// The credit ledger refused (a grant or clawback).
    #[error("credits: {0}")]
    Credits(#[from] CreditError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<ReserveError> for BillingError {
    fn from(error: ReserveError) -> Self {
        match error {
            ReserveError::UnknownPayment => BillingError::UnknownPayment,
            ReserveError::TooMuch { refundable } => {
                BillingError::Refund(RefundError::TooMuch { refundable })
            }
            ReserveError::Storage(e) => BillingError::Storage(e),
        }
    }
}

/// Why a webhook request was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// Not signed by the processor (or too old): refused before anything is stored.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Signed, but not an event we can read.
    #[error(transparent)]
    Malformed(#[from] crate::EventError),
    /// The inbox could not store it; the processor will deliver it again.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What processing an event did.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[non_exhaustive]
pub enum EventOutcome {
    /// A payment was recorded and its credits granted (`new` is false when it already was).
    Paid {
        /// The payment recorded for the session.
        payment: PaymentId,
        /// False when an earlier delivery already recorded it.
        new: bool,
    },
    /// The session is not paid (yet): nothing to do.
    Unpaid,
    /// Refunds were brought in line with the processor.
    Refunds {
        /// How many refunds made outside the app were recorded now.
        recorded: usize,
    },
    /// A subscription was brought in line with the processor.
    Subscription {
        /// The processor's subscription id.
        id: String,
    },
    /// A subscription's paid period granted its plan's credits (`new` is false when it already
    /// had).
    PeriodCredits {
        /// The processor's invoice id that paid the period.
        invoice: String,
        /// False when an earlier delivery already granted them.
        new: bool,
    },
    /// Money was taken that the app does not turn into credits on its own: held for an admin's
    /// review (`new` is false when it already was). Nothing was granted.
    Review {
        /// Why it was held.
        kind: ReviewKind,
        /// The processor's id of what is reviewed.
        reference: String,
        /// False when an earlier delivery already recorded it.
        new: bool,
    },
    /// An event type we do not act on.
    Ignored,
}

/// What a paid checkout session buys, once matched to what we sell.
struct Purchase {
    user: Uuid,
    pack: Option<PackId>,
    description: String,
    credits: Credits,
    /// The price, equal to what was paid.
    amount: Money,
}

/// What the session's payment came to, when its currency is one we read.
fn paid_amount(session: &CheckoutSession) -> Option<Money> {
    Currency::parse(&session.currency)
        .ok()
        .and_then(|currency| Money::new(session.amount_total, currency).ok())
}

/// What a session says about itself that we never take on trust, for the admin reading a
/// review: " It asked for 1000000 credits for user ...".
fn claims(session: &CheckoutSession) -> String {
    let credits = session.metadata.get("credits").map(String::as_str);
    let user = session.client_reference_id.as_deref();
    let said = |text: &str| text.chars().take(80).collect::<String>();
    match (credits, user) {
        (Some(c), Some(u)) => format!(" It asked for {} credits for user {}.", said(c), said(u)),
        (Some(c), None) => format!(" It asked for {} credits.", said(c)),
        (None, Some(u)) => format!(" It named user {}.", said(u)),
        (None, None) => String::new(),
    }
}

/// The id of the object an event is about.
fn object_id(event: &WebhookEvent) -> Result<&str, GatewayError> {
    event
        .object_id
        .as_deref()
        .ok_or_else(|| GatewayError::Malformed(format!("{} names no object", event.kind)))
}

/// What a reconciliation did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
pub struct ReconcileReport {
    /// Events the processor listed.
    pub fetched: usize,
    /// Of those, events the inbox did not have (their webhook was lost).
    pub missing: usize,
    /// Due events processed successfully.
    pub processed: usize,
    /// Due events that failed again; each is retried later with backoff.
    pub failed: usize,
}

/// The billing use cases over their ports.
#[derive(Clone)]
pub struct Billing {
    pub(crate) repo: Arc<dyn BillingRepository>,
    pub(crate) gateway: Arc<dyn PaymentGateway>,
    pub(crate) credits: Arc<dyn CreditStore>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Set when subscriptions are on (see `with_subscriptions`).
    pub(crate) subscriptions: Option<Arc<dyn crate::SubscriptionRepository>>,
}

impl std::fmt::Debug for Billing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Billing")
    }
}

pub(crate) fn key(text: String) -> IdempotencyKey {
    IdempotencyKey::parse(
        text.chars()
            .filter(|c| c.is_ascii_graphic())
            .take(IdempotencyKey::MAX_LEN)
            .collect::<String>(),
    )
    .unwrap_or_else(|_| IdempotencyKey::parse("billing").expect("static key"))
}

#[cfg(test)]
mod retries;

/// How long to wait before retrying an event that failed `attempts` times.
pub fn retry_delay(attempts: u32) -> Duration {
    Duration::seconds(10i64.saturating_mul(1i64 << attempts.min(9))).min(Duration::hours(1))
}

impl Billing {
    /// The use cases for credit packs; add [`Billing::with_subscriptions`] for plans.
    pub fn new(
        repo: Arc<dyn BillingRepository>,
        gateway: Arc<dyn PaymentGateway>,
        credits: Arc<dyn CreditStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Billing {
            repo,
            gateway,
            credits,
            clock,
            subscriptions: None,
        }
    }

    /// Turns subscriptions on: plans, subscription checkouts and the subscription events.
    pub fn with_subscriptions(mut self, repo: Arc<dyn crate::SubscriptionRepository>) -> Self {
        self.subscriptions = Some(repo);
        self
    }

    /// The billing store, for reads that need no rule of their own (admin lists).
    pub fn repository(&self) -> &Arc<dyn BillingRepository> {
        &self.repo
    }

    /// The payment processor, for calls that need no rule of their own (the billing portal,
    /// the admin's list of prices).
    pub fn gateway(&self) -> &Arc<dyn PaymentGateway> {
        &self.gateway
    }

    /// Makes sure a pack is for sale when none exists yet (the default: 100 credits for $10).
    pub async fn ensure_default_pack(&self) -> Result<(), StorageError> {
        if self.repo.packs(false).await?.is_empty() {
            self.repo.save_pack(&CreditPack::starter()).await?;
        }
        Ok(())
    }

    /// Starts a checkout for a pack and returns the processor's payment page. Nothing is
    /// recorded unless the processor created the session; repeating with the same `form_key`
    /// returns the same session.
    pub async fn start_checkout(
        &self,
        user: Uuid,
        email: &str,
        pack: PackId,
        success_url: &str,
        cancel_url: &str,
        form_key: &str,
    ) -> Result<String, BillingError> {
        let pack = self
            .repo
            .pack(pack)
            .await?
            .filter(|p| p.active)
            .ok_or(BillingError::UnknownPack)?;
        let customer = self.customer(user, email).await?;
        let request = CheckoutRequest {
            customer,
            user_reference: user.to_string(),
            pack_id: pack.id.0.to_string(),
            pack_name: pack.name.clone(),
            credits: pack.credits.to_string(),
            price: pack.price,
            price_id: pack.stripe_price_id.clone(),
            success_url: success_url.to_owned(),
            cancel_url: cancel_url.to_owned(),
        };
        let session = self
            .gateway
            .create_checkout(
                &request,
                &format!("checkout:{user}:{}:{form_key}", pack.id.0),
            )
            .await?;
        self.repo
            .save_checkout(&CheckoutRecord {
                session_id: session.id.clone(),
                user,
                pack: pack.id,
                description: pack.name.clone(),
                credits: pack.credits,
                amount: pack.price,
                created_at: self.clock.now(),
            })
            .await?;
        session
            .url
            .ok_or_else(|| GatewayError::Malformed("the checkout session has no URL".into()).into())
    }

    /// The user's customer at the processor, created on first use.
    pub(crate) async fn customer(&self, user: Uuid, email: &str) -> Result<String, BillingError> {
        Ok(match self.repo.customer_of(user).await? {
            Some(customer) => customer,
            None => {
                let created = self
                    .gateway
                    .create_customer(email, &user.to_string(), &format!("customer:{user}"))
                    .await?;
                self.repo.save_customer(user, &created).await?
            }
        })
    }

    /// Records the payment of a checkout session and grants its credits, once, if the
    /// processor says it is paid.
    pub async fn confirm_checkout(&self, session_id: &str) -> Result<EventOutcome, BillingError> {
        let session = self.gateway.checkout_session(session_id).await?;
        if !session.is_one_time_payment() {
            // A subscription's credits come with its paid invoices, never with its session; the
            // session only tells whose subscription it is.
            return match (&self.subscriptions, &session.subscription) {
                (Some(_), Some(id)) if session.is_paid() => {
                    let user = session
                        .client_reference_id
                        .as_deref()
                        .and_then(|id| Uuid::parse_str(id).ok());
                    Ok(self.sync_subscription(id, user).await?.outcome())
                }
                _ => Ok(EventOutcome::Ignored),
            };
        }
        if !session.is_paid() {
            return Ok(EventOutcome::Unpaid);
        }
        let paid = paid_amount(&session);
        let purchase = match self.repo.checkout(session_id).await? {
            Some(record) if paid == Some(record.amount) => Purchase {
                user: record.user,
                pack: Some(record.pack),
                description: record.description,
                credits: record.credits,
                amount: record.amount,
            },
            Some(record) => {
                let detail = format!(
                    "The checkout was started in the app for {} at {}, but {} was paid. Nothing was granted.",
                    record.description,
                    record.amount,
                    amount_label(session.amount_total, &session.currency)
                );
                return self
                    .hold_checkout(&session, Some(record.user), detail)
                    .await;
            }
            None => match self.outside_purchase(&session, paid).await? {
                (_, Ok(purchase)) => purchase,
                (owner, Err(why)) => {
                    let detail = format!(
                        "A checkout session the app did not start: {why}. Nothing was granted.{}",
                        claims(&session)
                    );
                    return self.hold_checkout(&session, owner, detail).await;
                }
            },
        };
        let Purchase {
            user,
            pack,
            description,
            credits,
            amount,
        } = purchase;
        let currency = amount.currency();
        let id = PaymentId(Uuid::now_v7());
        let candidate = Payment {
            id,
            user,
            pack,
            description,
            credits,
            amount,
            refunded: Money::zero(currency),
            status: PaymentStatus::Succeeded,
            receipt_number: Payment::receipt_number_for(id),
            checkout_session: session.id.clone(),
            payment_intent: session.payment_intent.clone(),
            created_at: self.clock.now(),
        };
        let (payment, new) = self.repo.record_payment(&candidate).await?;
        self.grant(&payment).await?;
        Ok(EventOutcome::Paid {
            payment: payment.id,
            new,
        })
    }

    /// A paid session the app did not start is honoured only as the purchase of one of our packs
    /// at its price by one of our customers: the active pack its `metadata[pack_id]` names,
    /// whose price and currency are exactly what was paid, granted to the user whose customer
    /// paid. What the session says about credits or its user (`metadata[credits]`,
    /// `client_reference_id`) is never believed. Returns the paying user when the customer is
    /// ours, and the purchase or why there is none.
    async fn outside_purchase(
        &self,
        session: &CheckoutSession,
        paid: Option<Money>,
    ) -> Result<(Option<Uuid>, Result<Purchase, String>), BillingError> {
        let owner = match &session.customer {
            Some(customer) => self.repo.user_of_customer(customer).await?,
            None => None,
        };
        let pack = match session
            .metadata
            .get("pack_id")
            .and_then(|p| Uuid::parse_str(p).ok())
        {
            Some(id) => self.repo.pack(PackId(id)).await?.filter(|p| p.active),
            None => None,
        };
        let paid_label = amount_label(session.amount_total, &session.currency);
        let outcome = match (owner, pack) {
            (None, _) => Err(match &session.customer {
                Some(customer) => format!(
                    "{paid_label} was paid by {customer}, who is not a customer of any user"
                ),
                None => format!("{paid_label} was paid without a customer of ours"),
            }),
            (Some(_), None) => Err(format!("{paid_label} was paid for no pack we sell")),
            (Some(_), Some(pack)) if paid != Some(pack.price) => Err(format!(
                "{paid_label} was paid for the pack {}, which costs {}",
                pack.name, pack.price
            )),
            (Some(user), Some(pack)) => Ok(Purchase {
                user,
                pack: Some(pack.id),
                description: pack.name,
                credits: pack.credits,
                amount: pack.price,
            }),
        };
        Ok((owner, outcome))
    }

    /// Records a paid session for an admin's review (once per session) and grants nothing.
    async fn hold_checkout(
        &self,
        session: &CheckoutSession,
        user: Option<Uuid>,
        detail: String,
    ) -> Result<EventOutcome, BillingError> {
        let now = self.clock.now();
        let review = BillingReview {
            user,
            customer: session.customer.clone(),
            settled_at: Some(now),
            ..BillingReview::new(
                ReviewKind::UnmatchedCheckout,
                &session.id,
                (session.amount_total, &session.currency),
                detail,
                now,
            )
        };
        let (review, new) = self.repo.record_review(&review).await?;
        if new {
            tracing::warn!(session = %session.id, detail = %review.detail, "a paid checkout session is held for review");
        }
        Ok(EventOutcome::Review {
            kind: review.kind,
            reference: review.reference,
            new,
        })
    }

    /// Grants a payment's credits (idempotent: the grant's key and source are the payment's).
    async fn grant(&self, payment: &Payment) -> Result<(), BillingError> {
        let reason = Reason::parse(format!(
            "Purchase: {} (receipt {})",
            payment.description, payment.receipt_number
        ))
        .unwrap_or_else(|_| Reason::parse("Purchase").expect("static reason"));
        let source = SourceRef::parse(payment.grant_source()).expect("a uuid source is valid");
        self.grant_once(
            payment.user,
            &format!("payment:{}", payment.id),
            source,
            reason,
            (GrantKind::Purchase, payment.credits, None),
        )
        .await
        .map(|_| ())
    }

    /// Grants credits once per `key` and `source`; `Ok(false)` when they were granted already
    /// (also when the amount has changed since, for example a plan's credits re-synced: what was
    /// granted stands).
    pub(crate) async fn grant_once(
        &self,
        user: Uuid,
        key_text: &str,
        source: SourceRef,
        reason: Reason,
        (kind, amount, expires_at): (GrantKind, Credits, Option<time::OffsetDateTime>),
    ) -> Result<bool, BillingError> {
        let account = AccountId::new(user);
        let now = self.clock.now();
        self.credits.open_account(account, now).await?;
        let op = Operation {
            key: key(key_text.to_owned()),
            actor: Actor::PaymentProcessor,
            reason,
            command: CreditCommand::Grant {
                kind,
                amount,
                expires_at,
                source,
            },
        };
        match self.credits.execute(account, op, now).await {
            Ok(receipt) => Ok(!receipt.replayed),
            Err(CreditError::DuplicateSource(_) | CreditError::IdempotencyConflict(_)) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Verifies and stores a webhook request. `Ok(true)` for a new event, `Ok(false)` for a
    /// repeat; errors store nothing.
    pub async fn receive(
        &self,
        payload: &[u8],
        signature: &str,
        secrets: &[&str],
        tolerance_seconds: i64,
    ) -> Result<WebhookEvent, ReceiveError> {
        let now = self.clock.now();
        verify_signature(
            payload,
            signature,
            secrets,
            now.unix_timestamp(),
            tolerance_seconds,
        )?;
        let text = std::str::from_utf8(payload).map_err(|e| crate::EventError(e.to_string()))?;
        let event = WebhookEvent::parse(text)?;
        self.repo.store_event(&event, now).await?;
        Ok(event)
    }

    /// Applies one event's business effect (each effect happens once, however often the event
    /// comes).
    pub async fn process_event(&self, event: &WebhookEvent) -> Result<EventOutcome, BillingError> {
        match event.kind.as_str() {
            "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
                self.confirm_checkout(object_id(event)?).await
            }
            "charge.refunded" => self.sync_refunds(&event.object()).await,
            "invoice.paid" | "invoice.payment_failed" if self.subscriptions.is_some() => {
                self.subscription_invoice(object_id(event)?).await
            }
            "customer.subscription.created"
            | "customer.subscription.updated"
            | "customer.subscription.deleted"
                if self.subscriptions.is_some() =>
            {
                Ok(self
                    .sync_subscription(object_id(event)?, None)
                    .await?
                    .outcome())
            }
            _ => Ok(EventOutcome::Ignored),
        }
    }

    /// Processes the inbox's due events; failures are kept with their error and retried later.
    pub async fn process_due(&self, limit: u32) -> Result<ReconcileReport, StorageError> {
        let mut report = ReconcileReport::default();
        for inbox in self.repo.due_events(self.clock.now(), limit).await? {
            match self.process_event(&inbox.event).await {
                Ok(_) => {
                    self.repo
                        .mark_processed(&inbox.event.id, self.clock.now())
                        .await?;
                    report.processed += 1;
                }
                Err(error) => {
                    let next = self.clock.now() + retry_delay(inbox.attempts);
                    self.repo
                        .mark_failed(&inbox.event.id, &error.to_string(), next)
                        .await?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Processes one stored event now (an admin's replay, or right after receiving it).
    pub async fn process_stored(&self, id: &str) -> Result<EventOutcome, BillingError> {
        let inbox = self
            .repo
            .event(id)
            .await?
            .ok_or_else(|| GatewayError::Malformed(format!("no event {id}")))?;
        match self.process_event(&inbox.event).await {
            Ok(outcome) => {
                self.repo.mark_processed(id, self.clock.now()).await?;
                Ok(outcome)
            }
            Err(error) => {
                let next = self.clock.now() + retry_delay(inbox.attempts);
                self.repo.mark_failed(id, &error.to_string(), next).await?;
                Err(error)
            }
        }
    }

    /// Fetches recent events from the processor, stores the ones the inbox missed, and
    /// processes everything due.
    pub async fn reconcile(&self, limit: u32) -> Result<ReconcileReport, BillingError> {
        let events = self.gateway.recent_events(limit).await?;
        let mut missing = 0;
        for event in &events {
            if self.repo.store_event(event, self.clock.now()).await? {
                missing += 1;
            }
        }
        let processed = self.process_due(500).await?;
        Ok(ReconcileReport {
            fetched: events.len(),
            missing,
            ..processed
        })
    }

    /// Refunds (part of) a payment: reserve it against what is left, ask the processor, then
    /// take back the matching credits from the purchase's grant (what remains of it).
    pub async fn refund(
        &self,
        payment_id: PaymentId,
        amount: Money,
        reason: &str,
        admin: Uuid,
    ) -> Result<Refund, BillingError> {
        let payment = self
            .repo
            .payment(payment_id)
            .await?
            .ok_or(BillingError::UnknownPayment)?;
        let intent = payment
            .payment_intent
            .clone()
            .ok_or(BillingError::NotRefundable)?;
        check_refund(payment.amount, payment.refunded, amount)?;
        let reserved = self
            .repo
            .reserve_refund(payment_id, amount, reason, Some(admin), self.clock.now())
            .await?;
        let gateway_refund = match self
            .gateway
            .create_refund(
                &intent,
                amount,
                &reserved.id.to_string(),
                &format!("refund:{}", reserved.id),
            )
            .await
        {
            Ok(refund) => refund,
            Err(error) => {
                self.repo
                    .fail_refund(reserved.id, &error.to_string())
                    .await?;
                return Err(error.into());
            }
        };
        let refund = self
            .repo
            .complete_refund(reserved.id, &gateway_refund.id)
            .await?;
        self.claw_back(&payment, &refund).await
    }

    async fn claw_back(&self, payment: &Payment, refund: &Refund) -> Result<Refund, BillingError> {
        let wanted = credits_for_refund(payment.credits, payment.amount, refund.amount);
        let (clawed, shortfall) = if wanted.is_zero() {
            (Credits::ZERO, Credits::ZERO)
        } else {
            let op = Operation {
                key: key(format!("refund:{}", refund.id)),
                actor: Actor::PaymentProcessor,
                reason: Reason::parse(format!("Refund of receipt {}", payment.receipt_number))
                    .expect("non-empty"),
                command: CreditCommand::ClawBack {
                    source: SourceRef::parse(payment.grant_source())
                        .expect("a uuid source is valid"),
                    amount: wanted,
                },
            };
            match self
                .credits
                .execute(AccountId::new(payment.user), op, self.clock.now())
                .await
            {
                Ok(receipt) => (receipt.amount, receipt.shortfall),
                Err(CreditError::UnknownSource(_)) => (Credits::ZERO, wanted),
                Err(error) => return Err(error.into()),
            }
        };
        self.repo
            .set_refund_credits(refund.id, clawed, shortfall)
            .await?;
        Ok(Refund {
            credits_clawed: clawed,
            credits_shortfall: shortfall,
            ..refund.clone()
        })
    }

    /// Brings our refunds in line with a charge the processor reports refunded.
    async fn sync_refunds(&self, charge: &serde_json::Value) -> Result<EventOutcome, BillingError> {
        let Some(intent) = charge["payment_intent"].as_str() else {
            return Ok(EventOutcome::Ignored);
        };
        let Some(payment) = self.repo.payment_by_intent(intent).await? else {
            if charge["invoice"].is_string() {
                // A subscription invoice's payment: its period credits are not clawed back
                // (adjust them from the admin if needed); waiting would never help.
                tracing::warn!(
                    intent,
                    "a subscription invoice was refunded; its credits stay"
                );
                return Ok(EventOutcome::Ignored);
            }
            return Err(GatewayError::Malformed(format!("no payment for {intent} yet")).into());
        };
        let mut recorded = 0;
        for item in charge["refunds"]["data"].as_array().into_iter().flatten() {
            if item["status"].as_str() != Some("succeeded") {
                continue;
            }
            let Some(gateway_id) = item["id"].as_str() else {
                continue;
            };
            let ours = item["metadata"]["refund_id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok());
            let refund = match ours {
                Some(id) if self.repo.refund(id).await?.is_some() => {
                    self.repo.complete_refund(id, gateway_id).await?
                }
                _ => {
                    let currency = Currency::parse(
                        item["currency"]
                            .as_str()
                            .unwrap_or(payment.amount.currency().as_str()),
                    )
                    .map_err(|e| GatewayError::Malformed(e.to_string()))?;
                    let amount = Money::new(item["amount"].as_i64().unwrap_or_default(), currency)
                        .map_err(|e| GatewayError::Malformed(e.to_string()))?;
                    self.repo
                        .record_external_refund(payment.id, gateway_id, amount, self.clock.now())
                        .await?
                }
            };
            self.claw_back(&payment, &refund).await?;
            recorded += 1;
        }
        Ok(EventOutcome::Refunds { recorded })
    }
}
