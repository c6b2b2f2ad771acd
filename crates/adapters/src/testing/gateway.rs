//! A scriptable in-memory payment gateway for contract tests (the HTTP stand-in for Stripe is
//! the `quickscale-stripe-fake` crate).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use quickscale_domain_billing::{
    CancelAt, CheckoutRequest, CheckoutSession, GatewayError, GatewayInvoice, GatewayPrice,
    GatewayRefund, GatewaySubscription, Interval, Money, PaymentGateway, Proration, Recurring,
    SubscriptionCheckoutRequest, WebhookEvent,
};
use serde_json::json;

#[derive(Debug, Default)]
struct State {
    sessions: BTreeMap<String, CheckoutSession>,
    /// Session ids, oldest first (the processor lists newest first).
    session_order: Vec<String>,
    /// The recurring price of each subscription-mode session.
    session_prices: BTreeMap<String, String>,
    refunds: Vec<(GatewayRefund, String)>,
    keys: BTreeMap<String, String>,
    events: Vec<WebhookEvent>,
    subscriptions: BTreeMap<String, GatewaySubscription>,
    /// Subscription ids, oldest first.
    subscription_order: Vec<String>,
    invoices: BTreeMap<String, GatewayInvoice>,
    down: bool,
    counter: u64,
}

/// Thirty days, the scripted gateway's month. Changes and cancellations happen half-way through
/// a period, in the scripted world.
const PERIOD: i64 = 30 * 24 * 3600;
/// When a scripted subscription starts: now, so that its periods are current.
fn start() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl State {
    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{}", self.counter)
    }

    /// Records an invoice of `subscription` for its price over `period`, paid or left open, and
    /// returns its `invoice.paid` or `invoice.payment_failed` event.
    fn invoice(
        &mut self,
        subscription: &str,
        reason: &str,
        amount: i64,
        period: (i64, i64),
        paid: bool,
    ) -> WebhookEvent {
        let id = self.next_id("in");
        let sub = self
            .subscriptions
            .get_mut(subscription)
            .expect("a known subscription");
        sub.latest_invoice = Some(id.clone());
        let invoice = GatewayInvoice {
            id: id.clone(),
            customer: sub.customer.clone(),
            subscription: Some(subscription.to_owned()),
            status: if paid { "paid" } else { "open" }.into(),
            billing_reason: Some(reason.into()),
            amount_due: amount,
            amount_paid: if paid { amount } else { 0 },
            currency: "usd".into(),
            payment_intent: Some(format!("pi_{id}")),
            period_start: period.0,
            period_end: period.1,
            price_id: Some(sub.price_id.clone()),
        };
        self.invoices.insert(id.clone(), invoice);
        let kind = if paid {
            "invoice.paid"
        } else {
            "invoice.payment_failed"
        };
        self.event(kind, &id, "invoice")
    }

    fn event(&mut self, kind: &str, object: &str, object_type: &str) -> WebhookEvent {
        let id = self.next_id("evt");
        let payload = json!({"id": id, "type": kind, "created": 3,
            "data": {"object": {"id": object, "object": object_type}}});
        let event = WebhookEvent::parse(&payload.to_string()).expect("a valid event");
        self.events.push(event.clone());
        event
    }

    fn subscription_mut(&mut self, id: &str) -> Result<&mut GatewaySubscription, GatewayError> {
        self.subscriptions.get_mut(id).ok_or_else(missing)
    }

    /// A subscription that is not canceled (Stripe refuses changes to a canceled one).
    fn live_subscription(&mut self, id: &str) -> Result<&mut GatewaySubscription, GatewayError> {
        let sub = self.subscription_mut(id)?;
        if sub.status == "canceled" {
            return Err(GatewayError::Rejected {
                code: None,
                message:
                    "A canceled subscription can only update its cancellation_details and metadata."
                        .into(),
            });
        }
        Ok(sub)
    }
}

fn missing() -> GatewayError {
    GatewayError::Rejected {
        code: Some("resource_missing".into()),
        message: "no such object".into(),
    }
}

/// A checkout session made outside the app, for [`ScriptedGateway::outside_session`].
#[derive(Debug, Clone, Copy)]
pub struct OutsideSession<'a> {
    pub customer: Option<&'a str>,
    pub amount: i64,
    pub currency: &'a str,
    pub client_reference_id: Option<&'a str>,
    pub metadata: &'a [(&'a str, &'a str)],
}

/// The recurring prices the scripted gateway sells: (id, amount in cents).
const PLANS: [(&str, i64); 2] = [("price_pro", 2000), ("price_team", 5000)];

/// Sessions, payments and refunds in memory; `pay` plays the customer paying.
#[derive(Debug, Default)]
pub struct ScriptedGateway {
    state: Mutex<State>,
}

impl ScriptedGateway {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes every call fail as if the processor were unreachable.
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    /// Marks a session paid and returns the `checkout.session.completed` event for it; a
    /// subscription-mode session also starts its subscription with a paid first invoice.
    pub fn pay(&self, session_id: &str) -> WebhookEvent {
        let mut state = self.state();
        let intent = state.next_id("pi");
        let subscription = state.next_id("sub");
        let session = state.sessions.get_mut(session_id).expect("a known session");
        assert_eq!(session.status, "open", "only an open session can be paid");
        session.status = "complete".into();
        session.payment_status = "paid".into();
        if session.is_one_time_payment() {
            session.payment_intent = Some(intent);
        } else {
            session.subscription = Some(subscription.clone());
            let start = start();
            let started = GatewaySubscription {
                id: subscription.clone(),
                customer: session.customer.clone().unwrap_or_default(),
                status: "active".into(),
                item_id: format!("si_{subscription}"),
                price_id: String::new(),
                current_period_start: start,
                current_period_end: start + PERIOD,
                cancel_at_period_end: false,
                canceled_at: None,
                ended_at: None,
                latest_invoice: None,
                metadata: session.metadata.clone(),
            };
            let amount = session.amount_total;
            let price = state.session_prices[session_id].clone();
            state.subscription_order.push(subscription.clone());
            state.subscriptions.insert(
                subscription.clone(),
                GatewaySubscription {
                    price_id: price,
                    ..started
                },
            );
            state.invoice(
                &subscription,
                "subscription_create",
                amount,
                (start, start + PERIOD),
                true,
            );
        }
        let payload = json!({"id": format!("evt_paid_{session_id}"), "type": "checkout.session.completed", "created": 1,
            "data": {"object": {"id": session_id, "object": "checkout.session"}}});
        let event = WebhookEvent::parse(&payload.to_string()).expect("a valid event");
        state.events.push(event.clone());
        event
    }

    /// A one-time payment session made at the processor by someone else than this app (another
    /// integration, a payment link): nothing is recorded in the app. Pay it with [`Self::pay`].
    pub fn outside_session(&self, session: OutsideSession<'_>) -> String {
        let mut state = self.state();
        let id = state.next_id("cs_test_outside");
        let checkout = CheckoutSession {
            id: id.clone(),
            url: Some(format!("https://pay.example/{id}")),
            mode: "payment".into(),
            subscription: None,
            status: "open".into(),
            payment_status: "unpaid".into(),
            amount_total: session.amount,
            currency: session.currency.into(),
            customer: session.customer.map(str::to_owned),
            payment_intent: None,
            client_reference_id: session.client_reference_id.map(str::to_owned),
            metadata: session
                .metadata
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        state.session_order.push(id.clone());
        state.sessions.insert(id.clone(), checkout);
        id
    }

    /// Changes what a session charges before it is paid, as a promotion code or tax would.
    pub fn set_session_total(&self, session_id: &str, amount: i64) {
        if let Some(session) = self.state().sessions.get_mut(session_id) {
            session.amount_total = amount;
        }
    }

    /// The period ends: a subscription set to cancel at the period end ends
    /// (`customer.subscription.deleted`); a past-due one has its open invoice paid; otherwise the
    /// next period starts and is paid (`invoice.paid`).
    pub fn renew(&self, subscription: &str) -> WebhookEvent {
        self.end_period(subscription, true)
    }

    /// Like [`Self::renew`], but the card is declined: the next period's invoice stays open and
    /// the subscription is past due (`invoice.payment_failed`).
    pub fn decline_renewal(&self, subscription: &str) -> WebhookEvent {
        self.end_period(subscription, false)
    }

    fn end_period(&self, subscription: &str, pays: bool) -> WebhookEvent {
        let mut state = self.state();
        let sub = state
            .live_subscription(subscription)
            .expect("a known subscription that is not canceled");
        let start = sub.current_period_end;
        if sub.cancel_at_period_end {
            sub.status = "canceled".into();
            sub.ended_at = Some(start);
            return state.event(
                "customer.subscription.deleted",
                subscription,
                "subscription",
            );
        }
        if sub.status == "past_due" {
            let open = sub.latest_invoice.clone().expect("a past-due invoice");
            if pays {
                sub.status = "active".into();
                let invoice = state.invoices.get_mut(&open).expect("stored");
                invoice.status = "paid".into();
                invoice.amount_paid = invoice.amount_due;
                return state.event("invoice.paid", &open, "invoice");
            }
            return state.event("invoice.payment_failed", &open, "invoice");
        }
        sub.current_period_start = start;
        sub.current_period_end = start + PERIOD;
        if !pays {
            sub.status = "past_due".into();
        }
        let amount = plan_amount(&sub.price_id).expect("a known plan");
        state.invoice(
            subscription,
            "subscription_cycle",
            amount,
            (start, start + PERIOD),
            pays,
        )
    }

    /// The subscriptions made so far, oldest first.
    pub fn subscriptions(&self) -> Vec<GatewaySubscription> {
        let state = self.state();
        state
            .subscription_order
            .iter()
            .filter_map(|id| state.subscriptions.get(id))
            .cloned()
            .collect()
    }

    /// A checkout session as it stands.
    pub fn session(&self, id: &str) -> Option<CheckoutSession> {
        self.state().sessions.get(id).cloned()
    }

    /// The refunds made so far: (payment intent, amount, our reference).
    pub fn refunds(&self) -> Vec<(String, i64, String)> {
        self.state()
            .refunds
            .iter()
            .map(|(r, reference)| {
                (
                    r.payment_intent.clone().unwrap_or_default(),
                    r.amount,
                    reference.clone(),
                )
            })
            .collect()
    }

    /// The `charge.refunded` event the processor would send for a payment intent now.
    pub fn charge_refunded_event(&self, intent: &str) -> WebhookEvent {
        let state = self.state();
        let refunds: Vec<serde_json::Value> = state
            .refunds
            .iter()
            .filter(|(r, _)| r.payment_intent.as_deref() == Some(intent))
            .map(|(r, reference)| json!({"id": r.id, "amount": r.amount, "currency": r.currency, "status": "succeeded", "metadata": {"refund_id": reference}}))
            .collect();
        let payload = json!({"id": format!("evt_refund_{intent}_{}", refunds.len()), "type": "charge.refunded", "created": 2,
            "data": {"object": {"id": format!("ch_{intent}"), "object": "charge", "payment_intent": intent, "refunds": {"data": refunds}}}});
        WebhookEvent::parse(&payload.to_string()).expect("a valid event")
    }

    /// A refund made in the processor's dashboard (no reference of ours).
    pub fn dashboard_refund(&self, intent: &str, amount: i64) -> WebhookEvent {
        {
            let mut state = self.state();
            state.counter += 1;
            let id = format!("re_dash_{}", state.counter);
            state.refunds.push((
                GatewayRefund {
                    id,
                    amount,
                    currency: "usd".into(),
                    status: "succeeded".into(),
                    payment_intent: Some(intent.into()),
                },
                String::new(),
            ));
        }
        self.charge_refunded_event(intent)
    }

    /// The subscription as it stands, after `check` (the scripted outage).
    fn current(&self, id: &str) -> Result<GatewaySubscription, GatewayError> {
        self.check()?;
        self.state()
            .subscriptions
            .get(id)
            .cloned()
            .ok_or_else(missing)
    }

    fn check(&self) -> Result<(), GatewayError> {
        if self.state().down {
            Err(GatewayError::Unavailable("scripted outage".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl PaymentGateway for ScriptedGateway {
    async fn create_customer(
        &self,
        _email: &str,
        user_reference: &str,
        _key: &str,
    ) -> Result<String, GatewayError> {
        self.check()?;
        Ok(format!("cus_{user_reference}"))
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
        key: &str,
    ) -> Result<CheckoutSession, GatewayError> {
        self.check()?;
        let mut state = self.state();
        if let Some(id) = state.keys.get(key).cloned() {
            return Ok(state.sessions[&id].clone());
        }
        state.counter += 1;
        let id = format!("cs_test_{}", state.counter);
        let session = CheckoutSession {
            id: id.clone(),
            url: Some(format!("https://pay.example/{id}")),
            mode: "payment".into(),
            subscription: None,
            status: "open".into(),
            payment_status: "unpaid".into(),
            amount_total: request.price.minor(),
            currency: request.price.currency().as_str().into(),
            customer: Some(request.customer.clone()),
            payment_intent: None,
            client_reference_id: Some(request.user_reference.clone()),
            metadata: [
                ("credits".to_owned(), request.credits.clone()),
                ("pack_id".to_owned(), request.pack_id.clone()),
            ]
            .into(),
        };
        state.keys.insert(key.to_owned(), id.clone());
        state.session_order.push(id.clone());
        state.sessions.insert(id, session.clone());
        Ok(session)
    }

    async fn checkout_session(&self, id: &str) -> Result<CheckoutSession, GatewayError> {
        self.check()?;
        self.state()
            .sessions
            .get(id)
            .cloned()
            .ok_or(GatewayError::Rejected {
                code: Some("resource_missing".into()),
                message: "no such session".into(),
            })
    }

    async fn open_checkout_sessions(
        &self,
        customer: &str,
    ) -> Result<Vec<CheckoutSession>, GatewayError> {
        self.check()?;
        let state = self.state();
        Ok(state
            .session_order
            .iter()
            .rev()
            .filter_map(|id| state.sessions.get(id))
            .filter(|s| s.status == "open" && s.customer.as_deref() == Some(customer))
            .cloned()
            .collect())
    }

    async fn expire_checkout_session(
        &self,
        id: &str,
        _key: &str,
    ) -> Result<CheckoutSession, GatewayError> {
        self.check()?;
        let mut state = self.state();
        let session = state.sessions.get_mut(id).ok_or_else(missing)?;
        if session.status != "open" {
            return Err(GatewayError::Rejected {
                code: Some("checkout_session_not_open".into()),
                message: format!("This Checkout Session has a status of {}.", session.status),
            });
        }
        session.status = "expired".into();
        Ok(session.clone())
    }

    async fn create_refund(
        &self,
        payment_intent: &str,
        amount: Money,
        reference: &str,
        key: &str,
    ) -> Result<GatewayRefund, GatewayError> {
        self.check()?;
        let mut state = self.state();
        if let Some(id) = state.keys.get(key).cloned() {
            return Ok(state
                .refunds
                .iter()
                .find(|(r, _)| r.id == id)
                .expect("stored")
                .0
                .clone());
        }
        state.counter += 1;
        let refund = GatewayRefund {
            id: format!("re_{}", state.counter),
            amount: amount.minor(),
            currency: amount.currency().as_str().into(),
            status: "succeeded".into(),
            payment_intent: Some(payment_intent.into()),
        };
        state.keys.insert(key.to_owned(), refund.id.clone());
        state.refunds.push((refund.clone(), reference.to_owned()));
        Ok(refund)
    }

    async fn prices(&self) -> Result<Vec<GatewayPrice>, GatewayError> {
        self.check()?;
        let mut prices = vec![GatewayPrice {
            id: "price_big".into(),
            product_id: "prod_big".into(),
            product_name: "Big pack".into(),
            unit_amount: 4500,
            currency: "usd".into(),
            active: true,
            credits: Some("500".into()),
            recurring: None,
            api_requests_per_minute: None,
            api_monthly_credits: None,
        }];
        prices.extend(PLANS.iter().map(|(id, amount)| GatewayPrice {
            id: (*id).into(),
            product_id: id.replace("price", "prod"),
            product_name: format!("{} plan", &id[6..]),
            unit_amount: *amount,
            currency: "usd".into(),
            active: true,
            credits: Some((amount / 2).to_string()),
            recurring: Some(Recurring {
                interval: Interval::Month,
                count: 1,
            }),
            // The pro plan sets its subscribers' API limits; the team plan leaves the defaults.
            api_requests_per_minute: (*id == "price_pro").then(|| "300".into()),
            api_monthly_credits: (*id == "price_pro").then(|| "400".into()),
        }));
        Ok(prices)
    }

    async fn portal_url(&self, customer: &str, _return_url: &str) -> Result<String, GatewayError> {
        self.check()?;
        Ok(format!("https://portal.example/{customer}"))
    }

    async fn recent_events(&self, limit: u32) -> Result<Vec<WebhookEvent>, GatewayError> {
        self.check()?;
        Ok(self
            .state()
            .events
            .iter()
            .rev()
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn create_subscription_checkout(
        &self,
        request: &SubscriptionCheckoutRequest,
        key: &str,
    ) -> Result<CheckoutSession, GatewayError> {
        self.check()?;
        let amount = plan_amount(&request.price_id).ok_or_else(missing)?;
        let mut state = self.state();
        if let Some(id) = state.keys.get(key).cloned() {
            return Ok(state.sessions[&id].clone());
        }
        let id = state.next_id("cs_test");
        let session = CheckoutSession {
            id: id.clone(),
            url: Some(format!("https://pay.example/{id}")),
            mode: "subscription".into(),
            subscription: None,
            status: "open".into(),
            payment_status: "unpaid".into(),
            amount_total: amount,
            currency: "usd".into(),
            customer: Some(request.customer.clone()),
            payment_intent: None,
            client_reference_id: Some(request.user_reference.clone()),
            metadata: [
                ("plan_id".to_owned(), request.plan_reference.clone()),
                ("user_id".to_owned(), request.user_reference.clone()),
            ]
            .into(),
        };
        state.keys.insert(key.to_owned(), id.clone());
        state
            .session_prices
            .insert(id.clone(), request.price_id.clone());
        state.session_order.push(id.clone());
        state.sessions.insert(id, session.clone());
        Ok(session)
    }

    async fn subscription(&self, id: &str) -> Result<GatewaySubscription, GatewayError> {
        self.current(id)
    }

    async fn cancel_subscription(
        &self,
        id: &str,
        at: CancelAt,
        _key: &str,
    ) -> Result<GatewaySubscription, GatewayError> {
        self.check()?;
        let mut state = self.state();
        let sub = state.subscription_mut(id)?;
        if sub.status == "canceled" {
            // As the Stripe client reports a repeated cancellation: done already.
            return Ok(sub.clone());
        }
        let now = sub.current_period_start + PERIOD / 2;
        sub.canceled_at = Some(now);
        match at {
            CancelAt::PeriodEnd => sub.cancel_at_period_end = true,
            CancelAt::Now => {
                sub.status = "canceled".into();
                sub.ended_at = Some(now);
            }
        }
        Ok(sub.clone())
    }

    async fn resume_subscription(
        &self,
        id: &str,
        _key: &str,
    ) -> Result<GatewaySubscription, GatewayError> {
        self.check()?;
        let mut state = self.state();
        let sub = state.live_subscription(id)?;
        sub.cancel_at_period_end = false;
        sub.canceled_at = None;
        Ok(sub.clone())
    }

    async fn change_subscription_price(
        &self,
        id: &str,
        price_id: &str,
        proration: Proration,
        _key: &str,
    ) -> Result<GatewaySubscription, GatewayError> {
        self.check()?;
        let new = plan_amount(price_id).ok_or_else(missing)?;
        let mut state = self.state();
        let sub = state.live_subscription(id)?;
        let old = plan_amount(&sub.price_id).ok_or_else(missing)?;
        sub.price_id = price_id.to_owned();
        let (half_way, end) = (
            sub.current_period_start + PERIOD / 2,
            sub.current_period_end,
        );
        if proration == Proration::InvoiceNow {
            // Half a period left: the difference for it, never below zero (a downgrade's credit
            // would go to the customer's balance).
            let amount = ((new - old) / 2).max(0);
            state.invoice(id, "subscription_update", amount, (half_way, end), true);
        }
        state.subscription_mut(id).map(|sub| sub.clone())
    }

    async fn customer_subscriptions(
        &self,
        customer: &str,
    ) -> Result<Vec<GatewaySubscription>, GatewayError> {
        self.check()?;
        let state = self.state();
        Ok(state
            .subscription_order
            .iter()
            .rev()
            .filter_map(|id| state.subscriptions.get(id))
            .filter(|s| s.customer == customer && s.status != "canceled")
            .cloned()
            .collect())
    }

    async fn invoice(&self, id: &str) -> Result<GatewayInvoice, GatewayError> {
        self.check()?;
        self.state().invoices.get(id).cloned().ok_or_else(missing)
    }
}

fn plan_amount(price: &str) -> Option<i64> {
    PLANS
        .iter()
        .find(|(id, _)| *id == price)
        .map(|(_, amount)| *amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(price: &str) -> SubscriptionCheckoutRequest {
        SubscriptionCheckoutRequest {
            customer: "cus_1".into(),
            user_reference: "u1".into(),
            plan_reference: "pro".into(),
            price_id: price.into(),
            success_url: "https://app.example/ok".into(),
            cancel_url: "https://app.example/no".into(),
        }
    }

    #[tokio::test]
    async fn scripted_subscriptions_start_renew_change_and_end() {
        let gateway = ScriptedGateway::default();
        assert!(
            gateway
                .create_subscription_checkout(&request("price_big"), "k0")
                .await
                .is_err(),
            "a pack's price is not a plan"
        );
        let session = gateway
            .create_subscription_checkout(&request("price_pro"), "k1")
            .await
            .unwrap();
        gateway.pay(&session.id);
        let id = gateway
            .checkout_session(&session.id)
            .await
            .unwrap()
            .subscription
            .expect("a subscription");
        let sub = gateway.subscription(&id).await.unwrap();
        assert_eq!(sub.price_id, "price_pro");
        assert_eq!(
            sub.metadata.keys().collect::<Vec<_>>(),
            ["plan_id", "user_id"],
            "what the real client sends"
        );
        let first = gateway
            .invoice(sub.latest_invoice.as_deref().unwrap())
            .await
            .unwrap();
        assert_eq!(
            (first.billing_reason.as_deref(), first.amount_paid),
            (Some("subscription_create"), 2000)
        );

        let renewal = gateway.renew(&id);
        assert_eq!(renewal.kind, "invoice.paid");
        let renewed = gateway
            .invoice(renewal.object_id.as_deref().unwrap())
            .await
            .unwrap();
        assert_eq!(renewed.period_start, sub.current_period_end);

        let declined = gateway.decline_renewal(&id);
        assert_eq!(declined.kind, "invoice.payment_failed");
        let past_due = gateway.subscription(&id).await.unwrap();
        assert_eq!(past_due.status, "past_due");
        let open = declined.object_id.clone().unwrap();
        assert!(!gateway.invoice(&open).await.unwrap().is_paid());
        let retried = gateway.renew(&id);
        assert_eq!(
            (retried.kind.as_str(), retried.object_id.as_deref()),
            ("invoice.paid", Some(open.as_str()))
        );
        assert!(gateway.subscription(&id).await.unwrap().is_entitled());

        let upgraded = gateway
            .change_subscription_price(&id, "price_team", Proration::InvoiceNow, "k2")
            .await
            .unwrap();
        let proration = gateway
            .invoice(upgraded.latest_invoice.as_deref().unwrap())
            .await
            .unwrap();
        assert_eq!(proration.amount_paid, 1500);
        assert_eq!(proration.price_id.as_deref(), Some("price_team"));
        assert_eq!(proration.period_end, upgraded.current_period_end);
        let downgraded = gateway
            .change_subscription_price(&id, "price_pro", Proration::InvoiceNow, "k3")
            .await
            .unwrap();
        let credit = gateway
            .invoice(downgraded.latest_invoice.as_deref().unwrap())
            .await
            .unwrap();
        assert_eq!((credit.amount_due, credit.is_paid()), (0, true));

        let cancelling = gateway
            .cancel_subscription(&id, CancelAt::PeriodEnd, "k4")
            .await
            .unwrap();
        assert!(cancelling.canceled_at.is_some() && cancelling.is_entitled());
        assert_eq!(gateway.renew(&id).kind, "customer.subscription.deleted");
        let ended = gateway.subscription(&id).await.unwrap();
        assert_eq!(ended.status, "canceled");
        for refused in [
            gateway.resume_subscription(&id, "k5").await,
            gateway
                .change_subscription_price(&id, "price_team", Proration::None, "k6")
                .await,
        ] {
            assert!(
                matches!(refused, Err(GatewayError::Rejected { .. })),
                "{refused:?}"
            );
        }
        assert_eq!(
            gateway
                .cancel_subscription(&id, CancelAt::Now, "k7")
                .await
                .unwrap(),
            ended,
            "cancelling twice is done already"
        );
        gateway.set_down(true);
        assert!(matches!(
            gateway.subscription(&id).await,
            Err(GatewayError::Unavailable(_))
        ));
    }
}
