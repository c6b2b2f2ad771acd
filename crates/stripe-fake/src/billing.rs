//! Subscriptions and their invoices: recurring prices, the first invoice of a subscription
//! checkout, renewals, price changes with prorations, cancellation.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;
use crate::form::Node;
use crate::store::{
    CardBehaviour, CardInput, Charged, Metadata, Payment, RequestInfo, Session, Store,
    card_attaches, card_behaviour, merge_metadata, previous_attributes,
};
use crate::util::{add_months, format_date, format_money, ids, line_amount, now, total_amount};

/// How often a recurring price bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Interval {
    Day,
    Week,
    Month,
    Year,
}

impl Interval {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            "year" => Some(Self::Year),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    /// How many of these make Stripe's longest interval, one year.
    fn per_year(self) -> i64 {
        match self {
            Self::Day => 365,
            Self::Week => 52,
            Self::Month => 12,
            Self::Year => 1,
        }
    }
}

/// A recurring price's `recurring`: every `interval_count` intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Recurring {
    pub interval: Interval,
    pub interval_count: i64,
}

impl Recurring {
    /// Every one `interval` (`month`), as [`CatalogItem::recurring`](crate::CatalogItem) names it.
    pub fn every(interval: &str) -> Option<Self> {
        Interval::parse(interval).map(|interval| Self {
            interval,
            interval_count: 1,
        })
    }

    /// `recurring[interval]` and `recurring[interval_count]`.
    pub fn from_params(p: &Node<'_>) -> Result<Self, ApiError> {
        let text = p.required_str("interval")?;
        let interval = Interval::parse(text).ok_or_else(|| {
            ApiError::invalid(
                p.param("interval"),
                "parameter_invalid_string",
                format!(
                    "Invalid {}: must be one of day, month, week, or year (got `{text}`).",
                    p.param("interval")
                ),
            )
        })?;
        let interval_count = p.int("interval_count")?.unwrap_or(1);
        if interval_count < 1 {
            return Err(ApiError::invalid(
                p.param("interval_count"),
                "parameter_invalid_integer",
                "Invalid positive integer: interval_count must be at least 1.",
            ));
        }
        if interval_count > interval.per_year() {
            return Err(ApiError::invalid(
                p.param("interval_count"),
                "parameter_invalid_integer",
                "The maximum billing interval is one year (1 year, 12 months, 52 weeks or 365 days).",
            ));
        }
        if let Some(usage) = p.str("usage_type")?
            && usage != "licensed"
        {
            return Err(ApiError::invalid(
                p.param("usage_type"),
                "parameter_invalid_string",
                "This fake supports only `usage_type=licensed` (no metered prices).",
            ));
        }
        Ok(Self {
            interval,
            interval_count,
        })
    }

    /// The end of `periods` billing periods that start at `anchor`. Months are calendar
    /// months (the anchor's day, clamped to shorter months), years twelve of them.
    pub fn advance(self, anchor: i64, periods: i64) -> i64 {
        let n = self.interval_count * periods;
        match self.interval {
            Interval::Day => anchor + n * 86_400,
            Interval::Week => anchor + n * 7 * 86_400,
            Interval::Month => add_months(anchor, n),
            Interval::Year => add_months(anchor, 12 * n),
        }
    }

    /// `month`, `3 months`: for "per month", "every 3 months" and "$20.00 / month".
    pub fn unit(self) -> String {
        match self.interval_count {
            1 => self.interval.as_str().to_string(),
            n => format!("{n} {}s", self.interval.as_str()),
        }
    }

    /// `per month`, `every 3 months`.
    pub fn cadence(self) -> String {
        match self.interval_count {
            1 => format!("per {}", self.unit()),
            _ => format!("every {}", self.unit()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SubscriptionStatus {
    /// Made by a checkout, its first invoice not yet paid (only `customer.subscription.created`
    /// shows it).
    Incomplete,
    Active,
    PastDue,
    Canceled,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SubscriptionItem {
    pub id: String,
    pub created: i64,
    pub price: String,
    pub quantity: i64,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Subscription {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub customer: String,
    pub currency: String,
    /// The items' interval: all of them bill together.
    pub recurring: Recurring,
    pub status: SubscriptionStatus,
    pub items: Vec<SubscriptionItem>,
    pub billing_cycle_anchor: i64,
    /// The number of the current period (0: the first), counted from the anchor.
    pub cycle: i64,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub latest_invoice: Option<String>,
    pub default_payment_method: String,
    /// The card renewals charge.
    pub card: CardInput,
    pub metadata: Metadata,
    /// Proration lines waiting for the next invoice (`create_prorations`), the latest
    /// change's first.
    pub pending: Vec<InvoiceLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum InvoiceStatus {
    Draft,
    Open,
    Paid,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Open => "open",
            Self::Paid => "paid",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InvoiceLine {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub description: String,
    pub period_start: i64,
    pub period_end: i64,
    pub price: String,
    pub quantity: i64,
    pub proration: bool,
    /// The invoice item (`ii_...`) of a proration line; `None` for a plan line.
    pub invoice_item: Option<String>,
    pub subscription: String,
    pub subscription_item: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Invoice {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub customer: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub subscription: String,
    /// The subscription's metadata when the invoice was made (`subscription_details`).
    pub subscription_metadata: Metadata,
    /// `subscription_create`, `subscription_cycle` or `subscription_update`.
    pub billing_reason: String,
    pub currency: String,
    pub lines: Vec<InvoiceLine>,
    /// Given at finalization.
    pub number: Option<String>,
    pub status: InvoiceStatus,
    pub subtotal: i64,
    pub total: i64,
    pub starting_balance: i64,
    /// Set at finalization.
    pub ending_balance: Option<i64>,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub attempt_count: u32,
    pub attempted: bool,
    pub payment_intent: Option<String>,
    pub charge: Option<String>,
    pub period_start: i64,
    pub period_end: i64,
    pub finalized_at: Option<i64>,
    pub paid_at: Option<i64>,
}

/// `proration_behavior` of a subscription update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proration {
    /// Proration lines wait for the next invoice.
    Create,
    /// An invoice of the proration lines now.
    AlwaysInvoice,
    None,
}

/// What an invoice bills, before [`Store::issue_invoice`] numbers and finalizes it.
struct InvoiceDraft {
    /// When it is made (`created`): the time of the change it bills, for an update.
    at: i64,
    /// `subscription_create`, `subscription_cycle` or `subscription_update`.
    billing_reason: &'static str,
    lines: Vec<InvoiceLine>,
    /// The invoice's `period_start` and `period_end`.
    period: (i64, i64),
    /// Whether the customer's balance (credit) applies.
    apply_balance: bool,
}

/// One item's new price and quantity, checked.
struct ItemChange {
    index: usize,
    price: String,
    quantity: i64,
}

/// What `quantity` of a price comes to, and the words invoices and the portal use for it.
pub(crate) struct Priced {
    pub unit_amount: i64,
    pub quantity: i64,
    /// `unit_amount × quantity`: within Stripe's cap, which every quantity and price is
    /// checked against when it is set.
    pub amount: i64,
    pub product: String,
}

impl Priced {
    /// `2 × Pro plan`; for one, `Pro plan`, or `1 × Pro plan` with `count_one` (a plan line).
    pub fn label(&self, count_one: bool) -> String {
        if self.quantity > 1 || count_one {
            format!("{} × {}", self.quantity, self.product)
        } else {
            self.product.clone()
        }
    }
}

impl Store {
    /// Starts the subscription a paid checkout session bought, with its first invoice paid by
    /// the session's charge: `customer.subscription.created` (`incomplete`), `invoice.created`,
    /// `invoice.finalized`, `invoice.paid`, `invoice.payment_succeeded`, then
    /// `customer.subscription.updated` (`active`). Returns the ids of the subscription and the
    /// invoice.
    pub(crate) fn start_subscription(
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

    /// What `quantity` of `price` comes to, with its product's name.
    pub(crate) fn priced(&self, price: &str, quantity: i64) -> Priced {
        let (unit_amount, product) = self.price_and_product(price);
        Priced {
            unit_amount,
            quantity,
            amount: unit_amount.saturating_mul(quantity),
            product,
        }
    }

    /// The subscription's invoices still open, oldest first.
    fn open_invoices(&self, subscription: &str) -> Vec<&Invoice> {
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
    fn update_status(&mut self, id: &str) {
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
    fn plan_lines(&self, sub: &Subscription) -> Vec<InvoiceLine> {
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

    /// A price's unit amount and its product's name.
    pub(crate) fn price_and_product(&self, price: &str) -> (i64, String) {
        match self.prices.get(price) {
            Some(p) => (
                p.unit_amount,
                self.products
                    .get(&p.product)
                    .map(|prod| prod.name.clone())
                    .unwrap_or_default(),
            ),
            None => (0, String::new()),
        }
    }

    /// Makes and finalizes an invoice (`invoice.created`, `invoice.finalized`), numbered after
    /// the customer's prefix. With `apply_balance`, the customer's credit lowers the amount
    /// due, and a negative total becomes credit.
    fn issue_invoice(
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
    fn settle_invoice(&mut self, id: &str, charged: Option<&Charged>, request: &RequestInfo) {
        if let Some(invoice) = self.record_attempt(id, charged) {
            let json = self.invoice_json(&invoice);
            self.record_event("invoice.paid", json.clone(), None, request);
            self.record_event("invoice.payment_succeeded", json, None, request);
        }
    }

    /// Charges an open invoice to its subscription's card. Paid: `invoice.paid`,
    /// `invoice.payment_succeeded`; declined: the invoice stays open, `invoice.payment_failed`.
    /// Returns whether it was paid.
    fn attempt_invoice(
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
        let description = match invoice.billing_reason.as_str() {
            "subscription_create" => "Subscription creation",
            _ => "Subscription update",
        };
        let payment = Payment {
            intent: invoice.payment_intent.clone(),
            payment_method: Some(method),
            amount: invoice.amount_due,
            currency: invoice.currency.clone(),
            customer: Some(invoice.customer.clone()),
            description: Some(description.to_string()),
            metadata: Metadata::new(),
            email: invoice.customer_email.clone(),
            name: invoice.customer_name.clone(),
        };
        let charged = self.charge_card(payment, &card, &behaviour, request);
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

    /// Records `customer.subscription.updated` when the subscription's JSON changed.
    fn announce_update(&mut self, before: &Value, id: &str, request: &RequestInfo) -> Value {
        let after = self
            .subscriptions
            .get(id)
            .map(|s| self.subscription_json(s))
            .unwrap_or(Value::Null);
        let previous = previous_attributes(before, &after);
        if previous.as_object().is_some_and(|m| !m.is_empty()) {
            self.record_event(
                "customer.subscription.updated",
                after.clone(),
                Some(previous),
                request,
            );
        }
        after
    }

    // ----- the API ------------------------------------------------------------------------

    /// `POST /v1/subscriptions/{id}`: `metadata`, `cancel_at_period_end`, and a new price or
    /// quantity for existing items with `proration_behavior`.
    pub fn update_subscription(
        &mut self,
        id: &str,
        p: &Node<'_>,
        request: &RequestInfo,
    ) -> Result<Value, ApiError> {
        let Some(sub) = self.subscriptions.get(id).cloned() else {
            return Err(ApiError::not_found("subscription", id));
        };
        let cancel_at_period_end = p.bool("cancel_at_period_end")?;
        let proration = match p.str("proration_behavior")? {
            None | Some("create_prorations") => Proration::Create,
            Some("always_invoice") => Proration::AlwaysInvoice,
            Some("none") => Proration::None,
            Some(other) => {
                return Err(ApiError::invalid(
                    "proration_behavior",
                    "parameter_invalid_string",
                    format!(
                        "Invalid proration_behavior: must be one of always_invoice, create_prorations, or none (got `{other}`)."
                    ),
                ));
            }
        };
        let items = p.nodes("items")?;
        if sub.status == SubscriptionStatus::Canceled
            && (cancel_at_period_end.is_some() || !items.is_empty())
        {
            return Err(ApiError::bad_request(
                "A canceled subscription can only update its cancellation_details and metadata.",
            ));
        }
        let mut metadata = sub.metadata.clone();
        merge_metadata(&mut metadata, p)?;
        let changes = items
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
        updated.metadata = metadata;
        if let Some(flag) = cancel_at_period_end {
            updated.cancel_at_period_end = flag;
            // Stripe dates a scheduled cancellation from the request.
            updated.canceled_at = flag.then_some(at);
        }
        let mut prorations = Vec::new();
        for change in changes {
            if proration != Proration::None {
                prorations.extend(self.proration_lines(&updated, &change, at));
            }
            let item = &mut updated.items[change.index];
            item.price = change.price;
            item.quantity = change.quantity;
        }
        let invoice_now = proration == Proration::AlwaysInvoice && !prorations.is_empty();
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

    /// Checks `items[n]`: an existing item of `sub`, a recurring active price in the
    /// subscription's currency and interval, a quantity from 1 to the cap, and a line total
    /// within Stripe's largest amount.
    fn item_change(&self, sub: &Subscription, item: &Node<'_>) -> Result<ItemChange, ApiError> {
        let Some(item_id) = item.str("id")? else {
            return Err(ApiError::invalid(
                item.param("id"),
                "parameter_missing",
                format!(
                    "This fake changes existing subscription items only: pass {} (adding items is not supported).",
                    item.param("id")
                ),
            ));
        };
        let Some(index) = sub.items.iter().position(|i| i.id == item_id) else {
            return Err(ApiError::no_such(
                "subscription item",
                &item.param("id"),
                item_id,
            ));
        };
        if item.bool("deleted")? == Some(true) {
            return Err(ApiError::invalid(
                item.param("deleted"),
                "parameter_invalid_boolean",
                "This fake does not remove subscription items: cancel the subscription instead.",
            ));
        }
        let current = &sub.items[index];
        let price = match item.str("price")? {
            None => current.price.clone(),
            Some(price_id) => {
                let param = item.param("price");
                let Some(price) = self.prices.get(price_id) else {
                    return Err(ApiError::no_such("price", &param, price_id));
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
                price_id.to_string()
            }
        };
        let quantity = item.quantity("quantity")?.unwrap_or(current.quantity);
        let (unit_amount, _) = self.price_and_product(&price);
        if line_amount(unit_amount, quantity).is_none() {
            return Err(ApiError::amount_too_large(
                item.param("quantity"),
                &sub.currency,
            ));
        }
        Ok(ItemChange {
            index,
            price,
            quantity,
        })
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
        p: &Node<'_>,
        request: &RequestInfo,
    ) -> Result<Value, ApiError> {
        for flag in ["invoice_now", "prorate"] {
            if p.bool(flag)? == Some(true) {
                return Err(ApiError::invalid(
                    flag,
                    "parameter_invalid_boolean",
                    format!(
                        "This fake cancels without a final invoice: `{flag}=true` is not supported."
                    ),
                ));
            }
        }
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

    /// The billing portal's "Update payment method": a card that works becomes the customer's
    /// default payment method and the one each of its running subscriptions is charged to from
    /// now on (`customer.updated`, `customer.subscription.updated`). An open invoice is not paid
    /// at once: the next attempt (a renewal) charges the new card. A declining card is refused
    /// with the card's message and changes nothing.
    pub fn set_default_card(
        &mut self,
        customer: &str,
        card: CardInput,
        request: &RequestInfo,
    ) -> Result<String, String> {
        match card_behaviour(&card.number) {
            None => return Err("Your card number is incorrect.".to_string()),
            Some(CardBehaviour::Declined { message, .. }) if !card_attaches(&card.number) => {
                return Err(message.to_string());
            }
            Some(_) => {}
        }
        let Some(before) = self.customers.get(customer).cloned() else {
            return Err(format!("No such customer: '{customer}'"));
        };
        let method = ids::payment_method();
        let mut after = before.clone();
        after.default_payment_method = Some((method.clone(), card.clone()));
        let previous =
            previous_attributes(&self.customer_json(&before), &self.customer_json(&after));
        let json = self.customer_json(&after);
        self.customers.insert(customer.to_string(), after);
        self.record_event("customer.updated", json, Some(previous), request);
        let running: Vec<String> = self
            .subscriptions
            .values()
            .filter(|s| s.customer == customer && s.status != SubscriptionStatus::Canceled)
            .map(|s| s.id.clone())
            .collect();
        for id in running {
            let Some(sub) = self.subscriptions.get_mut(&id) else {
                continue;
            };
            let old = sub.clone();
            sub.default_payment_method = method.clone();
            sub.card = card.clone();
            let before = self.subscription_json(&old);
            self.announce_update(&before, &id, request);
        }
        Ok(method)
    }

    // ----- time passing (a test control) ----------------------------------------------------

    /// The end of the current period, as if the time had come: a subscription set to cancel
    /// ends; one with an open invoice (past due) retries the oldest, and is active again once
    /// none is left open; any other starts its next period with a `subscription_cycle` invoice
    /// (pending prorations first, then the plan) charged to its card. `card` replaces the card
    /// first.
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
        let before = self.subscription_json(&sub);
        let mut sub = sub;
        // A card given here pays this renewal only; without one, the subscription's default
        // payment method (the checkout's card, or the one set in the billing portal) pays.
        let once = card.map(|number| (CardInput::test(number), ids::payment_method()));

        if sub.cancel_at_period_end {
            sub.status = SubscriptionStatus::Canceled;
            sub.ended_at = Some(sub.current_period_end);
            sub.pending.clear();
            let json = self.subscription_json(&sub);
            self.subscriptions.insert(id.to_string(), sub);
            self.record_event(
                "customer.subscription.deleted",
                json.clone(),
                None,
                &request,
            );
            return Ok(json);
        }

        if let Some(invoice) = self.open_invoices(id).first().map(|i| i.id.clone()) {
            self.subscriptions.insert(id.to_string(), sub);
            self.attempt_invoice(&invoice, &request, once.as_ref());
            self.update_status(id);
            return Ok(self.announce_update(&before, id, &request));
        }

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
        self.subscriptions.insert(id.to_string(), sub.clone());
        // Stripe's invoice period is the one that ended; the plan line's is the new one.
        let draft = InvoiceDraft {
            at: now(),
            billing_reason: "subscription_cycle",
            lines,
            period: used,
            apply_balance: true,
        };
        self.issue_invoice(&invoice, &sub, draft, &request);
        self.attempt_invoice(&invoice, &request, once.as_ref());
        self.update_status(id);
        Ok(self.announce_update(&before, id, &request))
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
