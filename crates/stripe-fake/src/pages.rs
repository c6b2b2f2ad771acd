//! The hosted pages: checkout, billing portal, receipts. Plain HTML, no external assets.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::Shared;
use crate::billing::SubscriptionStatus;
use crate::form::Params;
use crate::store::{
    CardBehaviour, CardInput, CheckoutMode, PayOutcome, PayRefusal, RequestInfo, Session,
    SessionStatus, Store, card_behaviour,
};
use crate::util::{format_money, format_time, html_escape as esc};

type AppState = State<Arc<Shared>>;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(index))
        .route("/checkout/{id}", get(checkout_page))
        .route("/checkout/{id}/pay", post(pay))
        .route("/checkout/{id}/cancel", post(cancel).get(cancel))
        .route("/billing_portal/{id}", get(portal_page))
        .route(
            "/billing_portal/{id}/subscriptions/{subscription}",
            post(portal_update),
        )
        .route(
            "/billing_portal/{id}/payment_method",
            post(portal_payment_method),
        )
        .route("/receipts/{id}", get(receipt_page))
        .route("/invoices/{id}", get(invoice_page))
}

const STYLE: &str = "
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f6f8fa;color:#1a1f36}
.banner{background:#ffde92;color:#5b3c00;text-align:center;padding:.5rem;font-weight:600;letter-spacing:.02em}
main{max-width:30rem;margin:2rem auto;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.12);padding:1.5rem 2rem}
h1{font-size:1.2rem;margin:.2rem 0 1rem}.total{font-size:2rem;font-weight:700;margin:.2rem 0 1rem}
table{width:100%;border-collapse:collapse;margin:.5rem 0 1rem}td,th{padding:.35rem .2rem;border-bottom:1px solid #e3e8ee;text-align:left}
td.num,th.num{text-align:right}label{display:block;margin:.7rem 0 .2rem;font-size:.9rem;color:#3c4257}
input{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #c4cdd5;border-radius:6px;font-size:1rem}
.row{display:flex;gap:.8rem}.row>div{flex:1}
button,.button{display:inline-block;margin-top:1.2rem;width:100%;padding:.7rem;border:0;border-radius:6px;font-size:1rem;
background:#635bff;color:#fff;cursor:pointer;text-align:center;text-decoration:none;box-sizing:border-box}
button.secondary,.button.secondary{background:#e3e8ee;color:#1a1f36;margin-top:.6rem}
.error{background:#fde2e1;color:#a41c1c;border-radius:6px;padding:.6rem .8rem;margin:.5rem 0}
.ok{background:#d7f7c2;color:#05690d;border-radius:6px;padding:.6rem .8rem;margin:.5rem 0}
small,.muted{color:#697386}small{overflow-wrap:anywhere}details{margin-top:1.2rem;font-size:.9rem}code{font-size:.9rem}
";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    // The empty icon spares a request for /favicon.ico, whose 404 browsers log as an error.
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\
         <div class=\"banner\">TEST MODE — no real money moves</div><main>{body}</main></body></html>",
        title = esc(title)
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn message_page(
    status: StatusCode,
    title: &str,
    message: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let link = link
        .map(|(href, text)| {
            format!(
                "<a class=\"button\" href=\"{}\">{}</a>",
                esc(href),
                esc(text)
            )
        })
        .unwrap_or_default();
    page(
        status,
        title,
        &format!("<h1>{}</h1><p>{}</p>{link}", esc(title), esc(message)),
    )
}

async fn index(State(s): AppState) -> Response {
    let base = s.lock().public_url.clone();
    message_page(
        StatusCode::OK,
        "QuickScale Stripe fake",
        &format!(
            "An offline stand-in for the Stripe API. API base: {base}/v1 (any sk_test_... key). \
             Checkout sessions are paid on their hosted page, with Stripe's test cards."
        ),
        None,
    )
}

/// What the checkout page says: its heading, the total (with the cadence of a subscription:
/// "$20.00 per month") and the button.
struct CheckoutWording {
    heading: String,
    total: String,
    button: String,
}

fn checkout_wording(store: &Store, session: &Session, account: &str) -> CheckoutWording {
    let total = format_money(session.amount_total, &session.currency);
    match (session.mode, store.session_recurring(session)) {
        (CheckoutMode::Subscription, Some(recurring)) => {
            let product = session
                .line_items
                .first()
                .map(|li| li.description.clone())
                .unwrap_or_default();
            let more = match session.line_items.len() {
                0 | 1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            CheckoutWording {
                heading: format!("Subscribe to {product}{more}"),
                total: format!("{total} {}", recurring.cadence()),
                button: "Subscribe".to_string(),
            }
        }
        _ => CheckoutWording {
            heading: format!("Pay {account}"),
            button: format!("Pay {total}"),
            total,
        },
    }
}

fn checkout_form(
    store: &Store,
    session: &Session,
    error: Option<&str>,
    form: &PayForm,
    account: &str,
) -> String {
    let CheckoutWording {
        heading,
        total,
        button,
    } = checkout_wording(store, session, account);
    let mut rows = String::new();
    for item in &session.line_items {
        rows.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">× {}</td><td class=\"num\">{}</td></tr>",
            esc(&item.description),
            item.quantity,
            esc(&format_money(item.amount, &item.currency))
        ));
    }
    let customer_email = session.customer_email.clone().or_else(|| {
        session
            .customer
            .as_ref()
            .and_then(|c| store.customers.get(c))
            .and_then(|c| c.email.clone())
    });
    let email = form
        .email
        .clone()
        .or(customer_email.clone())
        .unwrap_or_else(|| "test@example.com".to_string());
    let email_attrs = if customer_email.is_some() {
        " readonly"
    } else {
        ""
    };
    let error = error
        .map(|e| format!("<div class=\"error\" role=\"alert\">{}</div>", esc(e)))
        .unwrap_or_default();
    let action = format!("{}/checkout/{}", store.public_url, session.id);
    format!(
        "<h1>{heading}</h1><p class=\"total\">{total}</p>\
         <table><tbody>{rows}</tbody><tfoot><tr><th>Total due</th><th></th><th class=\"num\">{total}</th></tr></tfoot></table>\
         {error}\
         <form method=\"post\" action=\"{action}/pay\">\
         <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" value=\"{email}\"{email_attrs} required>\
         <label for=\"card_number\">Card number</label>\
         <input id=\"card_number\" name=\"card_number\" inputmode=\"numeric\" autocomplete=\"cc-number\" value=\"{card}\" required>\
         <div class=\"row\"><div><label for=\"card_exp\">Expiry (MM / YY)</label>\
         <input id=\"card_exp\" name=\"card_exp\" autocomplete=\"cc-exp\" value=\"{exp}\" required></div>\
         <div><label for=\"card_cvc\">CVC</label><input id=\"card_cvc\" name=\"card_cvc\" inputmode=\"numeric\" autocomplete=\"cc-csc\" value=\"{cvc}\" required></div></div>\
         <label for=\"card_name\">Name on card</label><input id=\"card_name\" name=\"card_name\" autocomplete=\"cc-name\" value=\"{name}\">\
         <button type=\"submit\">{button}</button>\
         <button type=\"submit\" class=\"secondary\" formaction=\"{action}/cancel\" formnovalidate>Cancel</button>\
         </form>\
         <details><summary>Test cards</summary><table>\
         <tr><td><code>4242 4242 4242 4242</code></td><td>succeeds</td></tr>\
         <tr><td><code>4000 0000 0000 0002</code></td><td>declined</td></tr>\
         <tr><td><code>4000 0000 0000 9995</code></td><td>declined: insufficient funds</td></tr>\
         <tr><td><code>4000 0000 0000 0069</code></td><td>expired card</td></tr>\
         <tr><td><code>4000 0000 0000 0127</code></td><td>incorrect CVC</td></tr>\
         </table><small>Any future expiry date and any 3-digit CVC.</small></details>\
         <p><small>Session {id} · expires {expires}</small></p>",
        heading = esc(&heading),
        button = esc(&button),
        total = esc(&total),
        email = esc(&email),
        card = esc(form.card_number.as_deref().unwrap_or("4242 4242 4242 4242")),
        exp = esc(form.card_exp.as_deref().unwrap_or("12 / 34")),
        cvc = esc(form.card_cvc.as_deref().unwrap_or("123")),
        name = esc(form.card_name.as_deref().unwrap_or("")),
        id = esc(&session.id),
        expires = esc(&format_time(session.expires_at)),
    )
}

fn closed_page(store: &Store, session: &Session) -> Response {
    match session.status {
        SessionStatus::Complete => {
            let link = session
                .success_url
                .as_ref()
                .map(|url| success_redirect(url, &session.id));
            message_page(
                StatusCode::CONFLICT,
                "This checkout session is already paid",
                &format!(
                    "{} was paid. Nothing more to do here.",
                    format_money(session.amount_total, &session.currency)
                ),
                link.as_deref().map(|l| (l, "Continue")),
            )
        }
        _ => {
            let _ = store;
            message_page(
                StatusCode::GONE,
                "This checkout session has expired",
                "Nothing was paid. Start a new checkout from the site to try again.",
                session.cancel_url.as_deref().map(|l| (l, "Back")),
            )
        }
    }
}

async fn checkout_page(State(s): AppState, Path(id): Path<String>) -> Response {
    let mut store = s.lock();
    store.refresh_session(&id);
    let Some(session) = store.sessions.get(&id) else {
        return not_found_page("checkout session");
    };
    if session.status != SessionStatus::Open {
        return closed_page(&store, session);
    }
    let account = &s.config.account_name;
    let body = checkout_form(&store, session, None, &PayForm::default(), account);
    let title = checkout_wording(&store, session, account).heading;
    page(StatusCode::OK, &title, &body)
}

fn not_found_page(what: &str) -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        &format!("Unknown {what}"),
        &format!("This {what} does not exist in this Stripe fake (it may have been reset)."),
        None,
    )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PayForm {
    email: Option<String>,
    card_number: Option<String>,
    card_exp: Option<String>,
    card_cvc: Option<String>,
    card_name: Option<String>,
}

/// The checks the card form makes before anything is sent, with Stripe's wording.
fn read_card(form: &PayForm) -> Result<CardInput, &'static str> {
    let number: String = form
        .card_number
        .as_deref()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) || number.len() < 13 {
        return Err("Your card number is incomplete.");
    }
    let digits: String = form
        .card_exp
        .as_deref()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let (month, year) = match digits.len() {
        4 => (&digits[..2], format!("20{}", &digits[2..])),
        6 => (&digits[..2], digits[2..].to_string()),
        _ => return Err("Your card's expiration date is incomplete."),
    };
    let month: u32 = month
        .parse()
        .map_err(|_| "Your card's expiration date is incomplete.")?;
    let year: u32 = year
        .parse()
        .map_err(|_| "Your card's expiration date is incomplete.")?;
    if !(1..=12).contains(&month) {
        return Err("Your card's expiration date is invalid.");
    }
    let today = time::OffsetDateTime::now_utc();
    let (this_year, this_month) = (today.year() as u32, u32::from(u8::from(today.month())));
    if year < this_year || (year == this_year && month < this_month) {
        return Err("Your card's expiration year is in the past.");
    }
    let cvc = form.card_cvc.as_deref().unwrap_or_default().trim();
    if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Your card's security code is incomplete.");
    }
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(CardInput {
        number,
        exp_month: month,
        exp_year: year,
        email: clean(&form.email),
        name: clean(&form.card_name),
    })
}

/// `success_url` with `{CHECKOUT_SESSION_ID}` replaced.
pub(crate) fn success_redirect(url: &str, session_id: &str) -> String {
    url.replace("{CHECKOUT_SESSION_ID}", session_id)
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

async fn pay(State(s): AppState, Path(id): Path<String>, Form(form): Form<PayForm>) -> Response {
    let account = s.config.account_name.clone();
    let mut store = s.lock();
    store.refresh_session(&id);
    let Some(session) = store.sessions.get(&id).cloned() else {
        return not_found_page("checkout session");
    };
    if session.status != SessionStatus::Open {
        return closed_page(&store, &session);
    }
    let rerender = |store: &Store, status: StatusCode, message: &str| {
        let body = checkout_form(store, &session, Some(message), &form, &account);
        let title = checkout_wording(store, &session, &account).heading;
        page(status, &title, &body)
    };
    let card = match read_card(&form) {
        Ok(card) => card,
        Err(message) => return rerender(&store, StatusCode::BAD_REQUEST, message),
    };
    match store.pay_session(&id, &card) {
        Ok(PayOutcome::Paid { .. }) => {
            tracing::info!(session = %id, "checkout session paid on the hosted page");
            let wording = checkout_wording(&store, &session, &account);
            let message = match session.mode {
                CheckoutMode::Subscription => format!(
                    "Thanks! {}: {}.",
                    wording
                        .heading
                        .replacen("Subscribe to", "You are subscribed to", 1),
                    wording.total
                ),
                CheckoutMode::Payment => format!("Thanks! {} was paid.", wording.total),
            };
            match &session.success_url {
                Some(url) => see_other(&success_redirect(url, &id)),
                None => message_page(StatusCode::OK, "Payment succeeded", &message, None),
            }
        }
        Ok(PayOutcome::Declined { message, .. }) => {
            rerender(&store, StatusCode::PAYMENT_REQUIRED, &message)
        }
        Err(PayRefusal::UnknownCard) => rerender(
            &store,
            StatusCode::BAD_REQUEST,
            "Your card number is incorrect. This is test mode: use a Stripe test card such as 4242 4242 4242 4242.",
        ),
        Err(PayRefusal::NotFound) => not_found_page("checkout session"),
        Err(PayRefusal::Expired | PayRefusal::AlreadyPaid) => {
            match store.sessions.get(&id).cloned() {
                Some(session) => closed_page(&store, &session),
                None => not_found_page("checkout session"),
            }
        }
    }
}

async fn cancel(State(s): AppState, Path(id): Path<String>) -> Response {
    let store = s.lock();
    let Some(session) = store.sessions.get(&id) else {
        return not_found_page("checkout session");
    };
    match &session.cancel_url {
        Some(url) => see_other(url),
        None => message_page(
            StatusCode::OK,
            "Payment cancelled",
            "Nothing was paid. You can close this page.",
            None,
        ),
    }
}

#[derive(Debug, Default, Deserialize)]
struct PortalQuery {
    /// Set after a card was saved.
    #[serde(default)]
    saved: Option<String>,
}

async fn portal_page(
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
    let last4 = &card.number[card.number.len().saturating_sub(4)..];
    format!(
        "{brand} •••• {last4}, expires {:02}/{}",
        card.exp_month, card.exp_year
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
async fn portal_payment_method(
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
struct PortalUpdateForm {
    cancel_at_period_end: String,
}

/// The portal's "Cancel at period end" / "Don't cancel": the same update as the API's.
async fn portal_update(
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
    match store.update_subscription(&subscription, &params.node(), &RequestInfo::default()) {
        Ok(_) => see_other(&store.portal_url(&id)),
        Err(error) => message_page(
            StatusCode::BAD_REQUEST,
            "This subscription cannot be changed",
            &error.message,
            Some((&store.portal_url(&id), "Back")),
        ),
    }
}

async fn invoice_page(State(s): AppState, Path(id): Path<String>) -> Response {
    let store = s.lock();
    let Some(invoice) = store.invoices.get(&id) else {
        return not_found_page("invoice");
    };
    let money = |amount: i64| esc(&format_money(amount, &invoice.currency));
    let rows: String = invoice
        .lines
        .iter()
        .map(|line| {
            format!(
                "<tr><td>{}<br><small>{} – {}</small></td><td class=\"num\">{}</td></tr>",
                esc(&line.description),
                esc(&format_time(line.period_start)),
                esc(&format_time(line.period_end)),
                money(line.amount)
            )
        })
        .collect();
    let receipt = invoice
        .charge
        .as_ref()
        .filter(|_| invoice.amount_paid > 0)
        .map(|charge| {
            format!(
                "<a class=\"button secondary\" href=\"{}/receipts/{}\">Receipt</a>",
                esc(&store.public_url),
                esc(charge)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<p class=\"muted\">{account}</p><h1>Invoice {number}</h1><p class=\"total\">{due}</p>\
         <p>{status} · {date}</p>\
         <table><tbody>{rows}</tbody><tfoot>\
         <tr><th>Total</th><th class=\"num\">{total}</th></tr>\
         <tr><td>Applied balance</td><td class=\"num\">{balance}</td></tr>\
         <tr><th>Amount due</th><th class=\"num\">{due}</th></tr>\
         <tr><td>Amount paid</td><td class=\"num\">{paid}</td></tr></tfoot></table>{receipt}\
         <p><small>{id}</small></p>",
        account = esc(&s.config.account_name),
        number = esc(invoice.number.as_deref().unwrap_or("(draft)")),
        status = esc(invoice.status.as_str()),
        date = esc(&format_time(invoice.created)),
        total = money(invoice.total),
        balance = money(invoice.amount_due - invoice.total),
        due = money(invoice.amount_due),
        paid = money(invoice.amount_paid),
        id = esc(&invoice.id),
    );
    page(StatusCode::OK, "Invoice", &body)
}

async fn receipt_page(State(s): AppState, Path(id): Path<String>) -> Response {
    let store = s.lock();
    let Some(charge) = store.charges.get(&id) else {
        return not_found_page("receipt");
    };
    let refunded = if charge.amount_refunded > 0 {
        format!(
            "<p>Refunded: {}</p>",
            esc(&format_money(charge.amount_refunded, &charge.currency))
        )
    } else {
        String::new()
    };
    let body = format!(
        "<p class=\"muted\">{account}</p><h1>Receipt</h1><p class=\"total\">{amount}</p>\
         <p>{date} · {brand} •••• {last4} · {status}</p>{refunded}<p><small>{id}</small></p>",
        account = esc(&s.config.account_name),
        amount = esc(&format_money(charge.amount, &charge.currency)),
        date = esc(&format_time(charge.created)),
        brand = esc(&charge.card.brand),
        last4 = esc(&charge.card.last4),
        status = if charge.succeeded { "paid" } else { "failed" },
        id = esc(&charge.id),
    );
    page(StatusCode::OK, "Receipt", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(number: &str, exp: &str, cvc: &str) -> PayForm {
        PayForm {
            card_number: Some(number.into()),
            card_exp: Some(exp.into()),
            card_cvc: Some(cvc.into()),
            ..PayForm::default()
        }
    }

    #[test]
    fn card_form_is_checked_like_stripe_elements() {
        let card = read_card(&form("4242 4242 4242 4242", "12 / 34", "123")).unwrap();
        assert_eq!(card.number, "4242424242424242");
        assert_eq!((card.exp_month, card.exp_year), (12, 2034));
        assert!(read_card(&form("4242", "12/34", "123")).is_err());
        assert!(read_card(&form("4242424242424242", "13/34", "123")).is_err());
        assert!(read_card(&form("4242424242424242", "01/20", "123")).is_err());
        assert!(read_card(&form("4242424242424242", "12/2034", "12")).is_err());
    }

    #[test]
    fn success_url_gets_the_session_id() {
        assert_eq!(
            success_redirect("http://x/ok?session_id={CHECKOUT_SESSION_ID}", "cs_test_1"),
            "http://x/ok?session_id=cs_test_1"
        );
    }
}
