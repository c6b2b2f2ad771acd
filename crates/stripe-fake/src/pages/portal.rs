//! The billing portal: the customer's subscriptions (cancel at the period end, or not), the card
//! their payments use (and a form to save another), and their payments.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::AppState;
use super::card_form::{PayForm, read_card};
use super::layout::{esc, message_page, not_found_page, page, see_other};
use crate::cards::{CardBehaviour, CardInput, card_behaviour};
use crate::clock::format_time;
use crate::form::Params;
use crate::model::{RequestInfo, SubscriptionStatus};
use crate::money::format_money;
use crate::requests::SubscriptionUpdate;
use crate::store::Store;

#[derive(Debug, Default, Deserialize)]
pub(super) struct PortalQuery {
    /// Set after a card was saved.
    #[serde(default)]
    saved: Option<String>,
}

pub(super) async fn portal_page(
    State(s): AppState,
    Path(id): Path<String>,
    Query(query): Query<PortalQuery>,
) -> Response {
    let store = s.lock();
    let notice = query.saved.is_some().then_some(Notice::Saved(
        "Your card was saved: your next payments use it.",
    ));
    portal(
        &store,
        &s.config.account_name,
        &id,
        notice,
        &PayForm::default(),
    )
}

/// A message at the top of the portal's payment method.
enum Notice<'a> {
    Saved(&'a str),
    Refused(StatusCode, &'a str),
}

/// The billing portal of session `id`: the customer's subscriptions, payment method (with a form
/// to replace it) and payments.
fn portal(
    store: &Store,
    account: &str,
    id: &str,
    notice: Option<Notice<'_>>,
    form: &PayForm,
) -> Response {
    let Some(portal) = store.portal_sessions.get(id) else {
        return not_found_page("billing portal session");
    };
    let customer = store.customers.get(&portal.customer);
    let who = customer
        .map(|c| match (&c.name, &c.email) {
            (Some(name), Some(email)) => format!("{name} ({email})"),
            (None, Some(email)) => email.clone(),
            (Some(name), None) => name.clone(),
            (None, None) => c.id.clone(),
        })
        .unwrap_or_else(|| portal.customer.clone());
    let mut charges: Vec<_> = store
        .charges
        .values()
        .filter(|c| c.customer.as_deref() == Some(&portal.customer))
        .collect();
    charges.sort_by_key(|c| std::cmp::Reverse(c.seq));
    let rows: String = charges
        .iter()
        .map(|c| {
            let status = if !c.succeeded {
                "failed".to_string()
            } else if c.amount_refunded >= c.amount {
                "refunded".to_string()
            } else if c.amount_refunded > 0 {
                format!("partially refunded ({})", format_money(c.amount_refunded, &c.currency))
            } else {
                "paid".to_string()
            };
            format!(
                "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td><td><a href=\"{}/receipts/{}\">Receipt</a></td></tr>",
                esc(&format_time(c.created)),
                esc(&format_money(c.amount, &c.currency)),
                esc(&status),
                esc(&store.public_url),
                esc(&c.id)
            )
        })
        .collect();
    let table = if rows.is_empty() {
        "<p class=\"muted\">No payments yet.</p>".to_string()
    } else {
        format!(
            "<table><thead><tr><th>Date</th><th class=\"num\">Amount</th><th>Status</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    let subscriptions = portal_subscriptions(store, id, &portal.customer);
    let back = portal
        .return_url
        .as_deref()
        .map(|url| {
            format!(
                "<a class=\"button\" href=\"{}\">Return to {}</a>",
                esc(url),
                esc(account)
            )
        })
        .unwrap_or_default();
    let status = match &notice {
        Some(Notice::Refused(status, _)) => *status,
        _ => StatusCode::OK,
    };
    let method = portal_payment_method_form(store, id, &portal.customer, notice, form);
    let body = format!(
        "<p class=\"muted\">{account}</p><h1>Billing</h1><p>{who}</p>{subscriptions}{method}<h2>Payments</h2>{table}{back}",
        account = esc(account),
        who = esc(&who)
    );
    page(status, "Billing", &body)
}

/// The customer's subscriptions, newest first: plan, status, the renewal or end date, and a
/// button to cancel at period end (or to keep one that is set to cancel).
fn portal_subscriptions(store: &Store, portal: &str, customer: &str) -> String {
    let mut subscriptions: Vec<_> = store
        .subscriptions
        .values()
        .filter(|sub| sub.customer == customer)
        .collect();
    if subscriptions.is_empty() {
        return String::new();
    }
    subscriptions.sort_by_key(|sub| std::cmp::Reverse(sub.seq));
    let mut html = String::from("<h2>Subscriptions</h2>");
    for sub in subscriptions {
        let plan = sub
            .items
            .iter()
            .map(|item| {
                let priced = store.priced(&item.price, item.quantity);
                format!(
                    "{} · {} {}",
                    priced.label(false),
                    format_money(priced.amount, &sub.currency),
                    sub.recurring.cadence()
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let when = match (sub.status, sub.cancel_at_period_end) {
            (SubscriptionStatus::Canceled, _) => {
                format!(
                    "ended {}",
                    format_time(sub.ended_at.unwrap_or(sub.current_period_end))
                )
            }
            (_, true) => format!("ends {}", format_time(sub.current_period_end)),
            (_, false) => format!("renews {}", format_time(sub.current_period_end)),
        };
        let action = if sub.status == SubscriptionStatus::Canceled {
            String::new()
        } else {
            let (value, label) = if sub.cancel_at_period_end {
                ("false", "Don't cancel")
            } else {
                ("true", "Cancel at period end")
            };
            format!(
                "<form method=\"post\" action=\"{}/billing_portal/{}/subscriptions/{}\">\
                 <input type=\"hidden\" name=\"cancel_at_period_end\" value=\"{value}\">\
                 <button type=\"submit\" class=\"secondary\">{}</button></form>",
                esc(&store.public_url),
                esc(portal),
                esc(&sub.id),
                esc(label)
            )
        };
        html.push_str(&format!(
            "<p><strong>{}</strong><br>{} · {}</p>{action}",
            esc(&plan),
            esc(sub.status.as_str()),
            esc(&when)
        ));
    }
    html
}

/// "visa •••• 4242, expires 12/2034".
fn card_label(card: &CardInput) -> String {
    let brand = match card_behaviour(&card.number) {
        Some(CardBehaviour::Succeeds { brand, .. }) => brand,
        _ => "card",
    };
    format!(
        "{brand} •••• {}, expires {:02}/{}",
        card.last4(),
        card.exp_month,
        card.exp_year
    )
}

/// The card the customer's payments use: the default set in the portal, else the card of its
/// newest running subscription.
fn current_card<'a>(store: &'a Store, customer: &str) -> Option<&'a CardInput> {
    if let Some((_, card)) = store
        .customers
        .get(customer)
        .and_then(|c| c.default_payment_method.as_ref())
    {
        return Some(card);
    }
    store
        .subscriptions
        .values()
        .filter(|s| s.customer == customer && s.status != SubscriptionStatus::Canceled)
        .max_by_key(|s| s.seq)
        .map(|s| &s.card)
}

/// The portal's payment method: the current card and a form for a new one.
fn portal_payment_method_form(
    store: &Store,
    portal: &str,
    customer: &str,
    notice: Option<Notice<'_>>,
    form: &PayForm,
) -> String {
    let current = current_card(store, customer).map_or_else(
        || "<p class=\"muted\">No card is saved.</p>".to_string(),
        |card| format!("<p data-card>{}</p>", esc(&card_label(card))),
    );
    let notice = match notice {
        Some(Notice::Saved(text)) => {
            format!("<div class=\"ok\" role=\"status\">{}</div>", esc(text))
        }
        Some(Notice::Refused(_, text)) => {
            format!("<div class=\"error\" role=\"alert\">{}</div>", esc(text))
        }
        None => String::new(),
    };
    format!(
        "<h2>Payment method</h2>{notice}{current}\
         <form method=\"post\" action=\"{public}/billing_portal/{portal}/payment_method\">\
         <label for=\"card_number\">New card number</label>\
         <input id=\"card_number\" name=\"card_number\" inputmode=\"numeric\" autocomplete=\"cc-number\" value=\"{number}\" required>\
         <div class=\"row\"><div><label for=\"card_exp\">Expiry (MM / YY)</label>\
         <input id=\"card_exp\" name=\"card_exp\" autocomplete=\"cc-exp\" value=\"{exp}\" required></div>\
         <div><label for=\"card_cvc\">CVC</label><input id=\"card_cvc\" name=\"card_cvc\" inputmode=\"numeric\" autocomplete=\"cc-csc\" value=\"{cvc}\" required></div></div>\
         <button type=\"submit\" class=\"secondary\">Save this card</button></form>",
        public = esc(&store.public_url),
        portal = esc(portal),
        number = esc(form.card_number.as_deref().unwrap_or("4242 4242 4242 4242")),
        exp = esc(form.card_exp.as_deref().unwrap_or("12 / 34")),
        cvc = esc(form.card_cvc.as_deref().unwrap_or("123")),
    )
}

/// The portal's "Save this card": checked like the checkout's card form; a card that works
/// becomes the customer's default (see `Store::set_default_card`).
pub(super) async fn portal_payment_method(
    State(s): AppState,
    Path(id): Path<String>,
    Form(form): Form<PayForm>,
) -> Response {
    let account = s.config.account_name.clone();
    let mut store = s.lock();
    let Some(customer) = store.portal_sessions.get(&id).map(|p| p.customer.clone()) else {
        return not_found_page("billing portal session");
    };
    let refused = |store: &Store, status: StatusCode, message: &str| {
        portal(
            store,
            &account,
            &id,
            Some(Notice::Refused(status, message)),
            &form,
        )
    };
    let card = match read_card(&form) {
        Ok(card) => card,
        Err(message) => return refused(&store, StatusCode::BAD_REQUEST, message),
    };
    if card_behaviour(&card.number).is_none() {
        return refused(
            &store,
            StatusCode::BAD_REQUEST,
            "Your card number is incorrect. This is test mode: use a Stripe test card such as 4242 4242 4242 4242.",
        );
    }
    match store.set_default_card(&customer, card, &RequestInfo::default()) {
        Ok(_) => see_other(&format!("{}?saved=1", store.portal_url(&id))),
        Err(message) => refused(&store, StatusCode::PAYMENT_REQUIRED, &message),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct PortalUpdateForm {
    cancel_at_period_end: String,
}

/// The portal's "Cancel at period end" / "Don't cancel": the same update as the API's.
pub(super) async fn portal_update(
    State(s): AppState,
    Path((id, subscription)): Path<(String, String)>,
    Form(form): Form<PortalUpdateForm>,
) -> Response {
    let mut store = s.lock();
    let Some(portal) = store.portal_sessions.get(&id) else {
        return not_found_page("billing portal session");
    };
    let owned = store
        .subscriptions
        .get(&subscription)
        .is_some_and(|sub| sub.customer == portal.customer);
    if !owned {
        return not_found_page("subscription");
    }
    let params = Params::from_pairs(vec![(
        "cancel_at_period_end".to_string(),
        form.cancel_at_period_end,
    )]);
    // The form is the API's parameter, parsed and applied as the API does.
    let changed = SubscriptionUpdate::parse(&params.node()).and_then(|update| {
        store.update_subscription(&subscription, update, &RequestInfo::default())
    });
    match changed {
        Ok(_) => see_other(&store.portal_url(&id)),
        Err(error) => message_page(
            StatusCode::BAD_REQUEST,
            "This subscription cannot be changed",
            &error.message,
            Some((&store.portal_url(&id), "Back")),
        ),
    }
}
