//! Refunds, checked against the payment counting every refund so far.

use serde_json::{Value, json};

use super::{Store, previous_attributes};
use crate::clock::now;
use crate::error::ApiError;
use crate::ids;
use crate::model::{Refund, RequestInfo};
use crate::money::format_money;
use crate::requests::{NewRefund, RefundTarget};

impl Store {
    /// `POST /v1/refunds`: `refund.created`, `charge.refunded` (with the charge's previous
    /// refund fields), then `refund.updated` once the card network's reference is available.
    pub fn create_refund(
        &mut self,
        new: NewRefund,
        request: &RequestInfo,
    ) -> Result<Value, ApiError> {
        let charge_id = self.refunded_charge(&new.target)?;
        let Some(charge) = self.charges.get(&charge_id).cloned() else {
            return Err(ApiError::no_such("charge", "charge", &charge_id));
        };
        if !charge.succeeded {
            return Err(ApiError::business(
                "charge_not_refundable",
                Some("charge"),
                format!("Charge {charge_id} has not succeeded and cannot be refunded."),
            ));
        }
        let remaining = charge.amount - charge.amount_refunded;
        if remaining <= 0 {
            return Err(ApiError::business(
                "charge_already_refunded",
                None,
                format!("Charge {charge_id} has already been refunded."),
            ));
        }
        let amount = new.amount.unwrap_or(remaining);
        if amount > remaining {
            return Err(ApiError::business(
                "amount_too_large",
                Some("amount"),
                format!(
                    "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                    format_money(amount, &charge.currency),
                    format_money(remaining, &charge.currency)
                ),
            ));
        }
        let charge_before = self.charge_json(&charge);
        let seq = self.next_seq();
        let refund = Refund {
            seq,
            id: ids::refund(),
            created: now(),
            amount,
            currency: charge.currency.clone(),
            charge: charge_id.clone(),
            payment_intent: charge.payment_intent.clone(),
            reason: new.reason.map(|r| r.as_str().to_string()),
            metadata: new.metadata,
            balance_transaction: ids::balance_transaction(),
            reference: None,
        };
        let refund_id = refund.id.clone();
        self.refunds.insert(refund_id.clone(), refund.clone());
        let charge = self.charges.get_mut(&charge_id).map(|c| {
            c.amount_refunded += amount;
            c.refunds.push(refund_id.clone());
            c.clone()
        });
        let refund_json = self.refund_json(&refund);
        self.record_event("refund.created", refund_json.clone(), None, request);
        if let Some(charge) = charge {
            let charge_json = self.charge_json(&charge);
            let previous = json!({
                "amount_refunded": charge_before["amount_refunded"],
                "refunded": charge_before["refunded"],
                "refunds": charge_before["refunds"],
            });
            self.record_event("charge.refunded", charge_json, Some(previous), request);
        }
        self.refund_reference_available(&refund_id, &refund_json, request);
        Ok(refund_json)
    }

    /// The charge a refund is for: a PaymentIntent's successful charge, or a known charge.
    fn refunded_charge(&self, target: &RefundTarget) -> Result<String, ApiError> {
        match target {
            RefundTarget::PaymentIntent(pi) => {
                let Some(intent) = self.payment_intents.get(pi) else {
                    return Err(ApiError::no_such("payment_intent", "payment_intent", pi));
                };
                match (&intent.latest_charge, intent.status.as_str()) {
                    (Some(charge), "succeeded") => Ok(charge.clone()),
                    _ => Err(ApiError::invalid(
                        "payment_intent",
                        "payment_intent_unexpected_state",
                        format!(
                            "This PaymentIntent ({pi}) does not have a successful charge to refund."
                        ),
                    )),
                }
            }
            RefundTarget::Charge(ch) if self.charges.contains_key(ch) => Ok(ch.clone()),
            RefundTarget::Charge(ch) => Err(ApiError::no_such("charge", "charge", ch)),
        }
    }

    /// The card network's reference becomes available: Stripe sends `refund.updated`.
    fn refund_reference_available(&mut self, id: &str, before: &Value, request: &RequestInfo) {
        let updated = self.refunds.get_mut(id).map(|r| {
            r.reference = Some(ids::random_chars(23).to_uppercase());
            r.clone()
        });
        if let Some(updated) = updated {
            let after = self.refund_json(&updated);
            let previous = previous_attributes(before, &after);
            self.record_event("refund.updated", after, Some(previous), request);
        }
    }
}
