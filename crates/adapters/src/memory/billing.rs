use std::sync::Mutex;

use async_trait::async_trait;
use quickscale_domain_billing::{
    BillingRepository, BillingReview, CheckoutRecord, CreditPack, EventQuery, EventStatus,
    InboxEvent, Money, PackId, Payment, PaymentId, PaymentQuery, PaymentStatus, Refund,
    RefundStatus, ReserveError, ReviewKind, WebhookEvent, check_refund,
};
use quickscale_domain_credits::Credits;
use quickscale_domain_kernel::StorageError;
use time::OffsetDateTime;
use uuid::Uuid;

use super::lock;

#[derive(Debug, Default)]
struct State {
    packs: Vec<CreditPack>,
    customers: Vec<(Uuid, String)>,
    checkouts: Vec<CheckoutRecord>,
    payments: Vec<Payment>,
    refunds: Vec<Refund>,
    events: Vec<InboxEvent>,
    reviews: Vec<BillingReview>,
}

impl State {
    /// Recomputes a payment's refunded total and status from its succeeded refunds.
    fn settle(&mut self, payment: PaymentId) {
        let refunded: i64 = self
            .refunds
            .iter()
            .filter(|r| r.payment == payment && r.status == RefundStatus::Succeeded)
            .map(|r| r.amount.minor())
            .sum();
        if let Some(p) = self.payments.iter_mut().find(|p| p.id == payment) {
            p.refunded = Money::new(refunded.min(p.amount.minor()), p.amount.currency())
                .unwrap_or(p.refunded);
            p.status = PaymentStatus::after_refunds(p.amount, p.refunded);
        }
    }
}

/// Billing records in memory, with the same uniqueness and refund rules as the SQL stores.
#[derive(Debug, Default)]
pub struct MemoryBillingRepository {
    state: Mutex<State>,
}

fn missing(what: &str) -> StorageError {
    StorageError::corrupt(format!("no such {what}"))
}

#[async_trait]
impl BillingRepository for MemoryBillingRepository {
    async fn packs(&self, active_only: bool) -> Result<Vec<CreditPack>, StorageError> {
        let mut packs: Vec<CreditPack> = lock(&self.state)
            .packs
            .iter()
            .filter(|p| !active_only || p.active)
            .cloned()
            .collect();
        packs.sort_by(|a, b| {
            a.display_order
                .cmp(&b.display_order)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(packs)
    }

    async fn pack(&self, id: PackId) -> Result<Option<CreditPack>, StorageError> {
        Ok(lock(&self.state).packs.iter().find(|p| p.id == id).cloned())
    }

    async fn save_pack(&self, pack: &CreditPack) -> Result<(), StorageError> {
        let mut state = lock(&self.state);
        state.packs.retain(|p| p.id != pack.id);
        state.packs.push(pack.clone());
        Ok(())
    }

    async fn customer_of(&self, user: Uuid) -> Result<Option<String>, StorageError> {
        Ok(lock(&self.state)
            .customers
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, c)| c.clone()))
    }

    async fn user_of_customer(&self, customer: &str) -> Result<Option<Uuid>, StorageError> {
        Ok(lock(&self.state)
            .customers
            .iter()
            .find(|(_, c)| c == customer)
            .map(|(u, _)| *u))
    }

    async fn save_customer(&self, user: Uuid, customer: &str) -> Result<String, StorageError> {
        let mut state = lock(&self.state);
        if let Some((_, existing)) = state.customers.iter().find(|(u, _)| *u == user) {
            return Ok(existing.clone());
        }
        state.customers.push((user, customer.to_owned()));
        Ok(customer.to_owned())
    }

    async fn save_checkout(&self, checkout: &CheckoutRecord) -> Result<(), StorageError> {
        let mut state = lock(&self.state);
        if !state
            .checkouts
            .iter()
            .any(|c| c.session_id == checkout.session_id)
        {
            state.checkouts.push(checkout.clone());
        }
        Ok(())
    }

    async fn checkout(&self, session_id: &str) -> Result<Option<CheckoutRecord>, StorageError> {
        Ok(lock(&self.state)
            .checkouts
            .iter()
            .find(|c| c.session_id == session_id)
            .cloned())
    }

    async fn record_payment(&self, payment: &Payment) -> Result<(Payment, bool), StorageError> {
        let mut state = lock(&self.state);
        if let Some(existing) = state
            .payments
            .iter()
            .find(|p| p.checkout_session == payment.checkout_session)
        {
            return Ok((existing.clone(), false));
        }
        state.payments.push(payment.clone());
        Ok((payment.clone(), true))
    }

    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StorageError> {
        Ok(lock(&self.state)
            .payments
            .iter()
            .find(|p| p.id == id)
            .cloned())
    }

    async fn payment_by_session(&self, session_id: &str) -> Result<Option<Payment>, StorageError> {
        Ok(lock(&self.state)
            .payments
            .iter()
            .find(|p| p.checkout_session == session_id)
            .cloned())
    }

    async fn payment_by_intent(&self, intent: &str) -> Result<Option<Payment>, StorageError> {
        Ok(lock(&self.state)
            .payments
            .iter()
            .find(|p| p.payment_intent.as_deref() == Some(intent))
            .cloned())
    }

    async fn payments(&self, query: &PaymentQuery) -> Result<(Vec<Payment>, u64), StorageError> {
        let mut found: Vec<Payment> = lock(&self.state)
            .payments
            .iter()
            .filter(|p| query.user.is_none_or(|u| p.user == u))
            .filter(|p| {
                query.reference.as_ref().is_none_or(|r| {
                    &p.receipt_number == r
                        || &p.checkout_session == r
                        || p.payment_intent.as_ref() == Some(r)
                })
            })
            .filter(|p| query.status.is_none_or(|s| p.status == s))
            .filter(|p| query.min_amount.is_none_or(|m| p.amount.minor() >= m))
            .filter(|p| query.max_amount.is_none_or(|m| p.amount.minor() <= m))
            .filter(|p| query.from.is_none_or(|t| p.created_at >= t))
            .filter(|p| query.until.is_none_or(|t| p.created_at < t))
            .cloned()
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.0.cmp(&a.id.0)));
        let total = found.len() as u64;
        let page = found
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(query.limit.clamp(1, 500) as usize)
            .collect();
        Ok((page, total))
    }

    async fn reserve_refund(
        &self,
        payment: PaymentId,
        amount: Money,
        reason: &str,
        requested_by: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Refund, ReserveError> {
        let mut state = lock(&self.state);
        let paid = state
            .payments
            .iter()
            .find(|p| p.id == payment)
            .ok_or(ReserveError::UnknownPayment)?
            .amount;
        let held: i64 = state
            .refunds
            .iter()
            .filter(|r| r.payment == payment && r.status != RefundStatus::Failed)
            .map(|r| r.amount.minor())
            .sum();
        let already = Money::new(held.min(paid.minor()), paid.currency())
            .map_err(|e| StorageError::corrupt(e.to_string()))?;
        check_refund(paid, already, amount).map_err(|_| ReserveError::TooMuch {
            refundable: paid
                .checked_sub(already)
                .unwrap_or(Money::zero(paid.currency())),
        })?;
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
        state.refunds.push(refund.clone());
        Ok(refund)
    }

    async fn complete_refund(
        &self,
        refund: Uuid,
        gateway_refund: &str,
    ) -> Result<Refund, StorageError> {
        let mut state = lock(&self.state);
        if let Some(other) = state
            .refunds
            .iter()
            .find(|r| r.gateway_refund.as_deref() == Some(gateway_refund) && r.id != refund)
        {
            return Ok(other.clone());
        }
        let found = state
            .refunds
            .iter_mut()
            .find(|r| r.id == refund)
            .ok_or_else(|| missing("refund"))?;
        found.status = RefundStatus::Succeeded;
        found.gateway_refund = Some(gateway_refund.to_owned());
        found.error = None;
        let (done, payment) = (found.clone(), found.payment);
        state.settle(payment);
        Ok(done)
    }

    async fn set_refund_credits(
        &self,
        refund: Uuid,
        clawed: Credits,
        shortfall: Credits,
    ) -> Result<(), StorageError> {
        if let Some(r) = lock(&self.state)
            .refunds
            .iter_mut()
            .find(|r| r.id == refund)
        {
            r.credits_clawed = clawed;
            r.credits_shortfall = shortfall;
        }
        Ok(())
    }

    async fn fail_refund(&self, refund: Uuid, error: &str) -> Result<(), StorageError> {
        if let Some(r) = lock(&self.state)
            .refunds
            .iter_mut()
            .find(|r| r.id == refund && r.status == RefundStatus::Pending)
        {
            r.status = RefundStatus::Failed;
            r.error = Some(error.to_owned());
        }
        Ok(())
    }

    async fn record_external_refund(
        &self,
        payment: PaymentId,
        gateway_refund: &str,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Refund, StorageError> {
        let mut state = lock(&self.state);
        if let Some(existing) = state
            .refunds
            .iter()
            .find(|r| r.gateway_refund.as_deref() == Some(gateway_refund))
        {
            return Ok(existing.clone());
        }
        let refund = Refund {
            id: Uuid::now_v7(),
            payment,
            amount,
            status: RefundStatus::Succeeded,
            reason: "Refunded at the payment processor".to_owned(),
            gateway_refund: Some(gateway_refund.to_owned()),
            credits_clawed: Credits::ZERO,
            credits_shortfall: Credits::ZERO,
            requested_by: None,
            error: None,
            created_at: now,
        };
        state.refunds.push(refund.clone());
        state.settle(payment);
        Ok(refund)
    }

    async fn refund(&self, id: Uuid) -> Result<Option<Refund>, StorageError> {
        Ok(lock(&self.state)
            .refunds
            .iter()
            .find(|r| r.id == id)
            .cloned())
    }

    async fn refunds_of(&self, payment: PaymentId) -> Result<Vec<Refund>, StorageError> {
        Ok(lock(&self.state)
            .refunds
            .iter()
            .filter(|r| r.payment == payment)
            .cloned()
            .collect())
    }

    async fn store_event(
        &self,
        event: &WebhookEvent,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let mut state = lock(&self.state);
        if state.events.iter().any(|e| e.event.id == event.id) {
            return Ok(false);
        }
        state.events.push(InboxEvent {
            event: event.clone(),
            status: EventStatus::Pending,
            attempts: 0,
            last_error: None,
            next_attempt_at: None,
            received_at: now,
            processed_at: None,
        });
        Ok(true)
    }

    async fn event(&self, id: &str) -> Result<Option<InboxEvent>, StorageError> {
        Ok(lock(&self.state)
            .events
            .iter()
            .find(|e| e.event.id == id)
            .cloned())
    }

    async fn mark_processed(&self, id: &str, now: OffsetDateTime) -> Result<(), StorageError> {
        if let Some(e) = lock(&self.state)
            .events
            .iter_mut()
            .find(|e| e.event.id == id)
        {
            e.status = EventStatus::Processed;
            e.attempts += 1;
            e.last_error = None;
            e.next_attempt_at = None;
            e.processed_at = Some(now);
        }
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        if let Some(e) = lock(&self.state)
            .events
            .iter_mut()
            .find(|e| e.event.id == id)
        {
            e.status = EventStatus::Failed;
            e.attempts += 1;
            e.last_error = Some(error.to_owned());
            e.next_attempt_at = Some(next_attempt_at);
        }
        Ok(())
    }

    async fn due_events(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<InboxEvent>, StorageError> {
        let mut due: Vec<InboxEvent> = lock(&self.state)
            .events
            .iter()
            .filter(|e| {
                e.status == EventStatus::Pending
                    || (e.status == EventStatus::Failed
                        && e.next_attempt_at.is_some_and(|t| t <= now))
            })
            .cloned()
            .collect();
        due.sort_by_key(|e| e.received_at);
        due.truncate(limit as usize);
        Ok(due)
    }

    async fn events(&self, query: &EventQuery) -> Result<Vec<InboxEvent>, StorageError> {
        let mut found: Vec<InboxEvent> = lock(&self.state)
            .events
            .iter()
            .filter(|e| query.status.is_none_or(|s| e.status == s))
            .filter(|e| query.kind.as_ref().is_none_or(|k| &e.event.kind == k))
            .filter(|e| {
                query.object_ids.is_empty()
                    || e.event
                        .object_id
                        .as_ref()
                        .is_some_and(|o| query.object_ids.contains(o))
            })
            .cloned()
            .collect();
        found.sort_by_key(|e| std::cmp::Reverse(e.received_at));
        Ok(found
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(query.limit.clamp(1, 500) as usize)
            .collect())
    }

    async fn record_review(
        &self,
        review: &BillingReview,
    ) -> Result<(BillingReview, bool), StorageError> {
        let mut state = lock(&self.state);
        if let Some(existing) = state
            .reviews
            .iter()
            .find(|r| r.kind == review.kind && r.reference == review.reference)
        {
            return Ok((existing.clone(), false));
        }
        state.reviews.push(review.clone());
        Ok((review.clone(), true))
    }

    async fn review(
        &self,
        kind: ReviewKind,
        reference: &str,
    ) -> Result<Option<BillingReview>, StorageError> {
        Ok(lock(&self.state)
            .reviews
            .iter()
            .find(|r| r.kind == kind && r.reference == reference)
            .cloned())
    }

    async fn settle_review(&self, id: Uuid, now: OffsetDateTime) -> Result<bool, StorageError> {
        let mut state = lock(&self.state);
        match state
            .reviews
            .iter_mut()
            .find(|r| r.id == id && r.settled_at.is_none())
        {
            Some(review) => {
                review.settled_at = Some(now);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn reviews(
        &self,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<BillingReview>, StorageError> {
        let mut found: Vec<BillingReview> = lock(&self.state)
            .reviews
            .iter()
            .filter(|r| !open_only || r.resolved_at.is_none())
            .cloned()
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        found.truncate(limit.clamp(1, 500) as usize);
        Ok(found)
    }

    async fn resolve_review(
        &self,
        id: Uuid,
        admin: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<BillingReview>, StorageError> {
        let mut state = lock(&self.state);
        Ok(state.reviews.iter_mut().find(|r| r.id == id).map(|review| {
            if review.resolved_at.is_none() {
                review.resolved_at = Some(now);
                review.resolved_by = Some(admin);
            }
            review.clone()
        }))
    }
}
