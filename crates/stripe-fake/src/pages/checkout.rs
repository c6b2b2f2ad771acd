//! The hosted checkout page: the session's items and total, the card form, and what paying or
//! cancelling leads to.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::AppState;
use super::card_form::{PayForm, read_card};
use super::layout::{esc, message_page, not_found_page, page, see_other};
use crate::clock::format_time;
use crate::model::{CheckoutMode, Session, SessionStatus};
use crate::money::format_money;
use crate::store::{PayOutcome, PayRefusal, Store};

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

/// The page of a session that can no longer be paid: already paid (409), or expired (410).
fn closed_page(session: &Session) -> Response {
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
        _ => message_page(
            StatusCode::GONE,
            "This checkout session has expired",
            "Nothing was paid. Start a new checkout from the site to try again.",
            session.cancel_url.as_deref().map(|l| (l, "Back")),
        ),
    }
}

pub(super) async fn checkout_page(State(s): AppState, Path(id): Path<String>) -> Response {
    let mut store = s.lock();
    store.refresh_session(&id);
    let Some(session) = store.sessions.get(&id) else {
        return not_found_page("checkout session");
    };
    if session.status != SessionStatus::Open {
        return closed_page(session);
    }
    let account = &s.config.account_name;
    let body = checkout_form(&store, session, None, &PayForm::default(), account);
    let title = checkout_wording(&store, session, account).heading;
    page(StatusCode::OK, &title, &body)
}

/// `success_url` with `{CHECKOUT_SESSION_ID}` replaced.
fn success_redirect(url: &str, session_id: &str) -> String {
    url.replace("{CHECKOUT_SESSION_ID}", session_id)
}

pub(super) async fn pay(
    State(s): AppState,
    Path(id): Path<String>,
    Form(form): Form<PayForm>,
) -> Response {
    let account = s.config.account_name.clone();
    let mut store = s.lock();
    store.refresh_session(&id);
    let Some(session) = store.sessions.get(&id).cloned() else {
        return not_found_page("checkout session");
    };
    if session.status != SessionStatus::Open {
        return closed_page(&session);
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
                Some(session) => closed_page(&session),
                None => not_found_page("checkout session"),
            }
        }
    }
}

pub(super) async fn cancel(State(s): AppState, Path(id): Path<String>) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_url_gets_the_session_id() {
        assert_eq!(
            success_redirect("http://x/ok?session_id={CHECKOUT_SESSION_ID}", "cs_test_1"),
            "http://x/ok?session_id=cs_test_1"
        );
    }
}
