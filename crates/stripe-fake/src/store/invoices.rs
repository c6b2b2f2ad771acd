//! A subscription's invoices: made and finalized, paid by a charge of the subscription's card
//! (or with nothing due), and the status they give the subscription.

use super::Store;
use super::payments::{Charged, Payer, Payment};
use crate::cards::{CardInput, card_behaviour};
use crate::clock::now;
use crate::ids;
use crate::model::{
    Invoice, InvoiceLine, InvoiceStatus, Metadata, RequestInfo, Subscription, SubscriptionStatus,
};
use crate::money::format_money;

/// What an invoice bills, before [`Store::issue_invoice`] numbers and finalizes it.
pub(super) struct InvoiceDraft {
    /// When it is made (`created`): the time of the change it bills, for an update.
    pub at: i64,
    /// `subscription_create`, `subscription_cycle` or `subscription_update`.
    pub billing_reason: &'static str,
    pub lines: Vec<InvoiceLine>,
    /// The invoice's `period_start` and `period_end`.
    pub period: (i64, i64),
    /// Whether the customer's balance (credit) applies.
    pub apply_balance: bool,
}

impl Store {
    /// The subscription's invoices still open, oldest first.
    pub(super) fn open_invoices(&self, subscription: &str) -> Vec<&Invoice> {
        let mut open: Vec<&Invoice> = self
            .invoices
            .values()
            .filter(|i| i.subscription == subscription && i.status == InvoiceStatus::Open)
            .collect();
        open.sort_by_key(|i| i.seq);
        open
    }

    /// Stripe's rule for a subscription that is not canceled: past due while any of its
    /// invoices is open, active once none is.
    pub(super) fn update_status(&mut self, id: &str) {
        let open = !self.open_invoices(id).is_empty();
        if let Some(sub) = self.subscriptions.get_mut(id)
            && sub.status != SubscriptionStatus::Canceled
        {
            sub.status = if open {
                SubscriptionStatus::PastDue
            } else {
                SubscriptionStatus::Active
            };
        }
    }

    /// One line per item for the subscription's current period.
    pub(super) fn plan_lines(&self, sub: &Subscription) -> Vec<InvoiceLine> {
        sub.items
            .iter()
            .map(|item| {
                let priced = self.priced(&item.price, item.quantity);
                InvoiceLine {
                    id: ids::invoice_line(),
                    amount: priced.amount,
                    currency: sub.currency.clone(),
                    description: format!(
                        "{} (at {} / {})",
                        priced.label(true),
                        format_money(priced.unit_amount, &sub.currency),
                        sub.recurring.unit()
                    ),
                    period_start: sub.current_period_start,
                    period_end: sub.current_period_end,
                    price: item.price.clone(),
                    quantity: item.quantity,
                    proration: false,
                    invoice_item: None,
                    subscription: sub.id.clone(),
                    subscription_item: item.id.clone(),
                }
            })
            .collect()
    }

    /// Makes and finalizes an invoice (`invoice.created`, `invoice.finalized`), numbered after
    /// the customer's prefix. With `apply_balance`, the customer's credit lowers the amount
    /// due, and a negative total becomes credit.
    pub(super) fn issue_invoice(
        &mut self,
        id: &str,
        sub: &Subscription,
        draft: InvoiceDraft,
        request: &RequestInfo,
    ) {
        let InvoiceDraft {
            at: created,
            billing_reason,
            lines,
            period: (period_start, period_end),
            apply_balance,
        } = draft;
        // Saturating: every line is within Stripe's cap, so this cannot overflow in practice.
        let total = lines
            .iter()
            .map(|l| l.amount)
            .fold(0i64, i64::saturating_add);
        let (customer_email, customer_name, starting_balance, number) =
            match self.customers.get_mut(&sub.customer) {
                Some(c) => {
                    let number = format!("{}-{:04}", c.invoice_prefix, c.next_invoice_sequence);
                    c.next_invoice_sequence += 1;
                    let starting = if apply_balance { c.balance } else { 0 };
                    // Stripe's rule: a positive rest is due, a negative rest stays as credit.
                    if apply_balance {
                        c.balance = total.saturating_add(starting).min(0);
                    }
                    (c.email.clone(), c.name.clone(), starting, number)
                }
                None => (None, None, 0, format!("{}-0001", sub.id)),
            };
        let combined = total.saturating_add(starting_balance);
        let seq = self.next_seq();
        let invoice = Invoice {
            seq,
            id: id.to_string(),
            created,
            customer: sub.customer.clone(),
            customer_email,
            customer_name,
            subscription: sub.id.clone(),
            subscription_metadata: sub.metadata.clone(),
            billing_reason: billing_reason.to_string(),
            currency: sub.currency.clone(),
            lines,
            number: None,
            status: InvoiceStatus::Draft,
            subtotal: total,
            total,
            starting_balance,
            ending_balance: None,
            amount_due: combined.max(0),
            amount_paid: 0,
            attempt_count: 0,
            attempted: false,
            payment_intent: None,
            charge: None,
            period_start,
            period_end,
            finalized_at: None,
            paid_at: None,
        };
        let json = self.invoice_json(&invoice);
        self.invoices.insert(id.to_string(), invoice);
        self.record_event("invoice.created", json, None, request);
        let finalized = self.invoices.get_mut(id).map(|invoice| {
            invoice.status = InvoiceStatus::Open;
            invoice.number = Some(number);
            invoice.finalized_at = Some(created);
            invoice.ending_balance = Some(combined.min(0));
            invoice.clone()
        });
        if let Some(invoice) = finalized {
            let json = self.invoice_json(&invoice);
            self.record_event("invoice.finalized", json, None, request);
        }
    }

    /// Notes a payment attempt on an invoice; returns the invoice after it.
    fn record_attempt(&mut self, id: &str, charged: Option<&Charged>) -> Option<Invoice> {
        if let Some(charge) = charged.and_then(|c| self.charges.get_mut(&c.charge)) {
            charge.invoice = Some(id.to_string());
        }
        let invoice = self.invoices.get_mut(id)?;
        if let Some(charged) = charged {
            invoice.attempt_count += 1;
            invoice.attempted = true;
            invoice.payment_intent = Some(charged.intent.clone());
            invoice.charge = Some(charged.charge.clone());
        }
        if charged.is_none_or(|c| c.declined.is_none()) {
            invoice.status = InvoiceStatus::Paid;
            invoice.amount_paid = invoice.amount_due;
            invoice.paid_at = Some(now());
            invoice.attempted = true;
        }
        Some(invoice.clone())
    }

    /// Marks an invoice paid (by `charged`, or with nothing due): `invoice.paid`,
    /// `invoice.payment_succeeded`.
    pub(super) fn settle_invoice(
        &mut self,
        id: &str,
        charged: Option<&Charged>,
        request: &RequestInfo,
    ) {
        if let Some(invoice) = self.record_attempt(id, charged) {
            let json = self.invoice_json(&invoice);
            self.record_event("invoice.paid", json.clone(), None, request);
            self.record_event("invoice.payment_succeeded", json, None, request);
        }
    }

    /// Charges an open invoice to its subscription's card (or to `once`, for this attempt
    /// only). Paid: `invoice.paid`, `invoice.payment_succeeded`; declined: the invoice stays
    /// open, `invoice.payment_failed`. Returns whether it was paid.
    pub(super) fn attempt_invoice(
        &mut self,
        id: &str,
        request: &RequestInfo,
        once: Option<&(CardInput, String)>,
    ) -> bool {
        let Some(invoice) = self.invoices.get(id).cloned() else {
            return false;
        };
        if invoice.amount_due == 0 {
            self.settle_invoice(id, None, request);
            return true;
        }
        let Some(sub) = self.subscriptions.get(&invoice.subscription).cloned() else {
            return false;
        };
        let (card, method) = match once {
            Some((card, method)) => (card.clone(), method.clone()),
            None => (sub.card.clone(), sub.default_payment_method.clone()),
        };
        let Some(behaviour) = card_behaviour(&card.number) else {
            return false;
        };
        let charged = self.charge_card(
            invoice_payment(&invoice, method),
            &card,
            &behaviour,
            request,
        );
        if charged.declined.is_none() {
            self.settle_invoice(id, Some(&charged), request);
            return true;
        }
        if let Some(invoice) = self.record_attempt(id, Some(&charged)) {
            let json = self.invoice_json(&invoice);
            self.record_event("invoice.payment_failed", json, None, request);
        }
        false
    }
}

/// What paying `invoice` with the saved `payment_method` charges, described as Stripe
/// describes a subscription's payments.
fn invoice_payment(invoice: &Invoice, payment_method: String) -> Payment {
    let description = match invoice.billing_reason.as_str() {
        "subscription_create" => "Subscription creation",
        _ => "Subscription update",
    };
    Payment {
        intent: invoice.payment_intent.clone(),
        payment_method: Some(payment_method),
        amount: invoice.amount_due,
        currency: invoice.currency.clone(),
        customer: Some(invoice.customer.clone()),
        description: Some(description.to_string()),
        metadata: Metadata::new(),
        payer: Payer {
            email: invoice.customer_email.clone(),
            name: invoice.customer_name.clone(),
        },
    }
}
