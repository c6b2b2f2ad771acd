//! Payments and refunds as templates (and the receipt email) see them.

use quickscale_domain_billing::{Payment, Refund};
use serde::Serialize;

use super::{credits_label, date_time};

/// A refund as templates see it.
#[derive(Debug, Serialize)]
pub struct RefundView {
    pub amount: String,
    pub status: &'static str,
    pub reason: String,
    pub at: String,
    pub credits_clawed: String,
    pub credits_shortfall: String,
    pub error: Option<String>,
}

/// A payment as templates (and the receipt email) see it.
#[derive(Debug, Serialize)]
pub struct PaymentView {
    pub id: String,
    pub receipt_number: String,
    pub at: String,
    pub description: String,
    pub credits: String,
    pub amount: String,
    pub refunded: String,
    pub net: String,
    pub status: &'static str,
    pub checkout_session: String,
    pub payment_intent: String,
    pub user: String,
    pub refunds: Vec<RefundView>,
}

impl PaymentView {
    pub fn of(payment: &Payment, refunds: &[Refund]) -> Self {
        PaymentView {
            id: payment.id.to_string(),
            receipt_number: payment.receipt_number.clone(),
            at: date_time(payment.created_at),
            description: payment.description.clone(),
            credits: credits_label(payment.credits),
            amount: payment.amount.to_string(),
            refunded: payment.refunded.to_string(),
            net: payment
                .amount
                .checked_sub(payment.refunded)
                .map(|m| m.to_string())
                .unwrap_or_default(),
            status: payment.status.as_str(),
            checkout_session: payment.checkout_session.clone(),
            payment_intent: payment.payment_intent.clone().unwrap_or_default(),
            user: payment.user.to_string(),
            refunds: refunds
                .iter()
                .map(|r| RefundView {
                    amount: r.amount.to_string(),
                    status: r.status.as_str(),
                    reason: r.reason.clone(),
                    at: date_time(r.created_at),
                    credits_clawed: r.credits_clawed.to_string(),
                    credits_shortfall: r.credits_shortfall.to_string(),
                    error: r.error.clone(),
                })
                .collect(),
        }
    }
}
