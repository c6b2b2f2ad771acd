//! Subscriptions: started by a paid checkout, changed (price, quantity, cancellation at the
//! period end) with Stripe's prorations, canceled, and renewed as time passes (test controls).

use serde_json::Value;

use super::Store;
use super::invoices::InvoiceDraft;
use super::payments::Charged;
use crate::cards::{CardInput, card_behaviour};
use crate::clock::{format_date, now};
use crate::error::ApiError;
use crate::ids;
use crate::model::{
    Interval, InvoiceLine, Metadata, Recurring, RequestInfo, Session, Subscription,
    SubscriptionItem, SubscriptionStatus,
};
use crate::money::{line_amount, total_amount};
use crate::requests::{ItemUpdate, Proration, SubscriptionUpdate};

/// One item's new price and quantity, checked.
struct ItemChange {
    index: usize,
    price: String,
    quantity: i64,
}

impl Store {
    /// Starts the subscription a paid checkout session bought, with its first invoice paid by
    /// the session's charge: `customer.subscription.created` (`incomplete`), `invoice.created`,
    /// `invoice.finalized`, `invoice.paid`, `invoice.payment_succeeded`, then
    /// `customer.subscription.updated` (`active`). Returns the ids of the subscription and the
    /// invoice.
    pub(super) fn start_subscription(
        &mut self,
        session: &Session,
        customer: &str,
        card: &CardInput,
        charged: &Charged,
        request: &RequestInfo,
    ) -> (String, String) {
        let created = now();
        let recurring = self.session_recurring(session).unwrap_or(Recurring {
            interval: Interval::Month,
            interval_count: 1,
        });
        let id = ids::subscription();
        let invoice_id = ids::invoice();
        let seq = self.next_seq();
        let subscription = Subscription {
            seq,
            id: id.clone(),
            created,
            customer: customer.to_string(),
            currency: session.currency.clone(),
            recurring,
            status: SubscriptionStatus::Incomplete,
            items: session
                .line_items
                .iter()
                .map(|li| SubscriptionItem {
                    id: ids::subscription_item(),
                    created,
                    price: li.price.clone(),
                    quantity: li.quantity,
                    metadata: Metadata::new(),
                })
                .collect(),
            billing_cycle_anchor: created,
            cycle: 0,
            current_period_start: created,
            current_period_end: recurring.advance(created, 1),
            cancel_at_period_end: false,
            canceled_at: None,
            ended_at: None,
            latest_invoice: Some(invoice_id.clone()),
            default_payment_method: charged.payment_method.clone(),
            card: card.clone(),
            metadata: session.subscription_metadata.clone(),
            pending: Vec::new(),
        };
        let json = self.subscription_json(&subscription);
        self.subscriptions.insert(id.clone(), subscription.clone());
        self.record_event("customer.subscription.created", json.clone(), None, request);
        // The first invoice is what the session charged: the customer's credit is not applied.
        let draft = InvoiceDraft {
            at: created,
            billing_reason: "subscription_create",
            lines: self.plan_lines(&subscription),
            period: (created, created),
            apply_balance: false,
        };
        self.issue_invoice(&invoice_id, &subscription, draft, request);
        self.settle_invoice(&invoice_id, Some(charged), request);
        self.update_status(&id);
        self.announce_update(&json, &id, request);
        (id, invoice_id)
    }

    /// Records `customer.subscription.updated` when the subscription's JSON changed since
    /// `before`; returns the subscription as it is now.
    pub(super) fn announce_update(
        &mut self,
        before: &Value,
        id: &str,
        request: &RequestInfo,
    ) -> Value {
        let after = self
            .subscriptions
            .get(id)
            .map(|s| self.subscription_json(s))
            .unwrap_or(Value::Null);
        self.record_update("customer.subscription.updated", before, &after, request);
        after
    }

    /// `POST /v1/subscriptions/{id}`: `metadata`, `cancel_at_period_end`, and a new price or
    /// quantity for existing items with `proration_behavior`.
    pub fn update_subscription(
        &mut self,
        id: &str,
        update: SubscriptionUpdate,
        request: &RequestInfo,
    ) -> Result<Value, ApiError> {
        let Some(sub) = self.subscriptions.get(id).cloned() else {
            return Err(ApiError::not_found("subscription", id));
        };
        if sub.status == SubscriptionStatus::Canceled
            && (update.cancel_at_period_end.is_some() || !update.items.is_empty())
        {
            return Err(ApiError::bad_request(
                "A canceled subscription can only update its cancellation_details and metadata.",
            ));
        }
        let changes = update
            .items
            .iter()
            .map(|item| self.item_change(&sub, item))
            .collect::<Result<Vec<_>, _>>()?;
        // What the renewals will charge: every item, at its new price and quantity.
        let renewal = sub.items.iter().enumerate().map(|(index, item)| {
            match changes.iter().rev().find(|c| c.index == index) {
                Some(change) => self.priced(&change.price, change.quantity).amount,
                None => self.priced(&item.price, item.quantity).amount,
            }
        });
        if total_amount(renewal).is_none() {
            return Err(ApiError::amount_too_large("items", &sub.currency));
        }

        let at = now();
        let before = self.subscription_json(&sub);
        let mut updated = sub;
        update.metadata.apply(&mut updated.metadata);
        if let Some(flag) = update.cancel_at_period_end {
            updated.cancel_at_period_end = flag;
            // Stripe dates a scheduled cancellation from the request.
            updated.canceled_at = flag.then_some(at);
        }
        let mut prorations = Vec::new();
        for change in changes {
            if update.proration != Proration::None {
                prorations.extend(self.proration_lines(&updated, &change, at));
            }
            let item = &mut updated.items[change.index];
            item.price = change.price;
            item.quantity = change.quantity;
        }
        let invoice_now = update.proration == Proration::AlwaysInvoice && !prorations.is_empty();
        // Stripe lists pending invoice items newest first.
        updated.pending.splice(0..0, prorations);
        let lines = if invoice_now {
            std::mem::take(&mut updated.pending)
        } else {
            Vec::new()
        };
        let invoice_id = invoice_now.then(ids::invoice);
        if invoice_id.is_some() {
            updated.latest_invoice = invoice_id.clone();
        }
        self.subscriptions.insert(id.to_string(), updated.clone());
        if let Some(invoice_id) = invoice_id {
            let draft = InvoiceDraft {
                at,
                billing_reason: "subscription_update",
                lines,
                period: (at, at),
                apply_balance: true,
            };
            self.issue_invoice(&invoice_id, &updated, draft, request);
            self.attempt_invoice(&invoice_id, request, None);
            self.update_status(id);
        }
        Ok(self.announce_update(&before, id, request))
    }

    /// Checks `items[n]` against the subscription: an existing item, a recurring active price
    /// in the subscription's currency and interval, and a line total within Stripe's largest
    /// amount.
    fn item_change(&self, sub: &Subscription, update: &ItemUpdate) -> Result<ItemChange, ApiError> {
        let Some(index) = sub.items.iter().position(|i| i.id == update.item.id) else {
            return Err(ApiError::no_such(
                "subscription item",
                &update.item.param,
                &update.item.id,
            ));
        };
        let current = &sub.items[index];
        let price = match &update.price {
            None => current.price.clone(),
            Some(reference) => {
                self.check_subscription_price(sub, &reference.id, &reference.param)?;
                reference.id.clone()
            }
        };
        let quantity = update.quantity.unwrap_or(current.quantity);
        let (unit_amount, _) = self.price_and_product(&price);
        if line_amount(unit_amount, quantity).is_none() {
            return Err(ApiError::amount_too_large(
                update.quantity_param.clone(),
                &sub.currency,
            ));
        }
        Ok(ItemChange {
            index,
            price,
            quantity,
        })
    }

    /// Refuses a price a subscription cannot change to: unknown, inactive, one-time, in another
    /// currency, or billed at another interval.
    fn check_subscription_price(
        &self,
        sub: &Subscription,
        price_id: &str,
        param: &str,
    ) -> Result<(), ApiError> {
        let Some(price) = self.prices.get(price_id) else {
            return Err(ApiError::no_such("price", param, price_id));
        };
        if !price.active {
            return Err(ApiError::invalid(
                param,
                "price_inactive",
                format!(
                    "The price specified ({price_id}) is inactive. This field only accepts active prices."
                ),
            ));
        }
        let Some(recurring) = price.recurring else {
            return Err(ApiError::invalid(
                param,
                "parameter_invalid_string",
                "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
            ));
        };
        if price.currency != sub.currency {
            return Err(ApiError::invalid(
                param,
                "parameter_invalid_string",
                format!(
                    "The price specified ({price_id}) is in {}, but this subscription bills in {}: all of a subscription's prices must use the same currency.",
                    price.currency, sub.currency
                ),
            ));
        }
        if recurring != sub.recurring {
            return Err(ApiError::invalid(
                param,
                "parameter_invalid_string",
                format!(
                    "This fake does not change a subscription's billing interval: the price specified ({price_id}) bills {}, the subscription {}.",
                    recurring.cadence(),
                    sub.recurring.cadence()
                ),
            ));
        }
        Ok(())
    }

    /// Stripe's two proration lines for an item's change at `at`: the unused time of the old
    /// price credited, the remaining time of the new one charged, both for the fraction
    /// (period end - at) / (period length) of the period, rounded to the minor unit.
    fn proration_lines(
        &self,
        sub: &Subscription,
        change: &ItemChange,
        at: i64,
    ) -> Vec<InvoiceLine> {
        let (start, end) = (sub.current_period_start, sub.current_period_end);
        let at = at.clamp(start, end);
        let item = &sub.items[change.index];
        let unchanged = item.price == change.price && item.quantity == change.quantity;
        if unchanged || end <= at {
            return Vec::new();
        }
        let fraction = (end - at) as f64 / (end - start) as f64;
        let date = format_date(at);
        let line = |price: &str, quantity: i64, sign: i64, what: &str| {
            let priced = self.priced(price, quantity);
            InvoiceLine {
                id: ids::invoice_line(),
                amount: sign * (priced.amount as f64 * fraction).round() as i64,
                currency: sub.currency.clone(),
                description: format!("{what} time on {} after {date}", priced.label(false)),
                period_start: at,
                period_end: end,
                price: price.to_string(),
                quantity,
                proration: true,
                invoice_item: Some(ids::invoice_item()),
                subscription: sub.id.clone(),
                subscription_item: item.id.clone(),
            }
        };
        vec![
            line(&item.price, item.quantity, -1, "Unused"),
            line(&change.price, change.quantity, 1, "Remaining"),
        ]
    }

    /// `DELETE /v1/subscriptions/{id}`: cancels now (`customer.subscription.deleted`). A
    /// canceled subscription is gone for this endpoint, as on Stripe (404).
    pub fn cancel_subscription(
        &mut self,
        id: &str,
        request: &RequestInfo,
    ) -> Result<Value, ApiError> {
        let at = now();
        let sub = match self.subscriptions.get_mut(id) {
            Some(sub) if sub.status != SubscriptionStatus::Canceled => {
                sub.status = SubscriptionStatus::Canceled;
                sub.cancel_at_period_end = false;
                sub.canceled_at = Some(at);
                sub.ended_at = Some(at);
                sub.pending.clear();
                sub.clone()
            }
            _ => return Err(ApiError::not_found("subscription", id)),
        };
        let json = self.subscription_json(&sub);
        self.record_event("customer.subscription.deleted", json.clone(), None, request);
        Ok(json)
    }

    // ----- time passing (test controls) ------------------------------------------------------

    /// The end of the current period, as if the time had come: a subscription set to cancel
    /// ends; one with an open invoice (past due) retries the oldest, and is active again once
    /// none is left open; any other starts its next period with a `subscription_cycle` invoice
    /// (pending prorations first, then the plan) charged to its card. `card` pays this
    /// renewal only.
    pub fn renew_subscription(&mut self, id: &str, card: Option<&str>) -> Result<Value, ApiError> {
        let Some(sub) = self.subscriptions.get(id).cloned() else {
            return Err(ApiError::not_found("subscription", id));
        };
        if sub.status == SubscriptionStatus::Canceled {
            return Err(ApiError::bad_request(format!(
                "The subscription {id} is canceled: it does not renew."
            )));
        }
        if let Some(number) = card
            && card_behaviour(number).is_none()
        {
            return Err(ApiError::bad_request(format!(
                "{number} is not one of the test cards the fake knows."
            )));
        }
        let request = RequestInfo::default();
        // A card given here pays this renewal only; without one, the subscription's default
        // payment method (the checkout's card, or the one set in the billing portal) pays.
        let once = card.map(|number| (CardInput::test(number), ids::payment_method()));
        if sub.cancel_at_period_end {
            return Ok(self.end_at_period_end(sub, &request));
        }
        let before = self.subscription_json(&sub);
        if let Some(invoice) = self.open_invoices(id).first().map(|i| i.id.clone()) {
            self.attempt_invoice(&invoice, &request, once.as_ref());
        } else {
            self.start_next_period(sub, &request, once.as_ref());
        }
        self.update_status(id);
        Ok(self.announce_update(&before, id, &request))
    }

    /// A subscription set to cancel at the period end ends (`customer.subscription.deleted`).
    fn end_at_period_end(&mut self, mut sub: Subscription, request: &RequestInfo) -> Value {
        sub.status = SubscriptionStatus::Canceled;
        sub.ended_at = Some(sub.current_period_end);
        sub.pending.clear();
        let json = self.subscription_json(&sub);
        self.subscriptions.insert(sub.id.clone(), sub);
        self.record_event("customer.subscription.deleted", json.clone(), None, request);
        json
    }

    /// The next period starts, billed by a `subscription_cycle` invoice of the pending
    /// prorations and the plan, charged at once.
    fn start_next_period(
        &mut self,
        mut sub: Subscription,
        request: &RequestInfo,
        once: Option<&(CardInput, String)>,
    ) {
        let used = (sub.current_period_start, sub.current_period_end);
        sub.cycle += 1;
        sub.current_period_start = sub.current_period_end;
        sub.current_period_end = sub
            .recurring
            .advance(sub.billing_cycle_anchor, sub.cycle + 1);
        let mut lines = std::mem::take(&mut sub.pending);
        lines.extend(self.plan_lines(&sub));
        let invoice = ids::invoice();
        sub.latest_invoice = Some(invoice.clone());
        self.subscriptions.insert(sub.id.clone(), sub.clone());
        // Stripe's invoice period is the one that ended; the plan line's is the new one.
        let draft = InvoiceDraft {
            at: now(),
            billing_reason: "subscription_cycle",
            lines,
            period: used,
            apply_balance: true,
        };
        self.issue_invoice(&invoice, &sub, draft, request);
        self.attempt_invoice(&invoice, request, once);
    }

    /// Lets `seconds` of the current period pass, as far as billing can tell: the billing
    /// anchor, the current period and the pending proration lines move back by `seconds`, so
    /// that a change now is prorated for what is left of the period. No event (time passing
    /// sends none). Refused for a canceled subscription and outside 0 to the period's length.
    pub fn elapse_subscription(&mut self, id: &str, seconds: i64) -> Result<Value, ApiError> {
        let Some(sub) = self.subscriptions.get_mut(id) else {
            return Err(ApiError::not_found("subscription", id));
        };
        if sub.status == SubscriptionStatus::Canceled {
            return Err(ApiError::bad_request(format!(
                "The subscription {id} is canceled: its time does not pass."
            )));
        }
        let length = sub.current_period_end - sub.current_period_start;
        if !(0..=length).contains(&seconds) {
            return Err(ApiError::bad_request(format!(
                "seconds must be from 0 to {length}, the length of the current period (got {seconds})."
            )));
        }
        sub.billing_cycle_anchor -= seconds;
        sub.current_period_start -= seconds;
        sub.current_period_end -= seconds;
        for line in &mut sub.pending {
            line.period_start -= seconds;
            line.period_end -= seconds;
        }
        let sub = sub.clone();
        Ok(self.subscription_json(&sub))
    }
}
