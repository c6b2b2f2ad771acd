//! A scriptable in-memory payment gateway for contract tests (the HTTP stand-in for Stripe is
//! the `quickscale-stripe-fake` crate).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use quickscale_domain_billing::{
    CheckoutRequest, CheckoutSession, GatewayError, GatewayPrice, GatewayRefund, Money,
    PaymentGateway, WebhookEvent,
};
use serde_json::json;

#[derive(Debug, Default)]
struct State {
    sessions: BTreeMap<String, CheckoutSession>,
    refunds: Vec<(GatewayRefund, String)>,
    keys: BTreeMap<String, String>,
    events: Vec<WebhookEvent>,
    down: bool,
    counter: u64,
}

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

    /// Marks a session paid and returns the `checkout.session.completed` event for it.
    pub fn pay(&self, session_id: &str) -> WebhookEvent {
        let mut state = self.state();
        state.counter += 1;
        let intent = format!("pi_{}", state.counter);
        let session = state.sessions.get_mut(session_id).expect("a known session");
        session.status = "complete".into();
        session.payment_status = "paid".into();
        session.payment_intent = Some(intent);
        let payload = json!({"id": format!("evt_paid_{session_id}"), "type": "checkout.session.completed", "created": 1,
            "data": {"object": {"id": session_id, "object": "checkout.session"}}});
        let event = WebhookEvent::parse(&payload.to_string()).expect("a valid event");
        state.events.push(event.clone());
        event
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
        Ok(vec![GatewayPrice {
            id: "price_big".into(),
            product_id: "prod_big".into(),
            product_name: "Big pack".into(),
            unit_amount: 4500,
            currency: "usd".into(),
            active: true,
            credits: Some("500".into()),
        }])
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
}
