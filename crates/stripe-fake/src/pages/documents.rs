//! The pages of an invoice (its `hosted_invoice_url`) and of a charge's receipt (its
//! `receipt_url`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::AppState;
use super::layout::{esc, not_found_page, page};
use crate::clock::format_time;
use crate::money::format_money;

pub(super) async fn invoice_page(State(s): AppState, Path(id): Path<String>) -> Response {
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

pub(super) async fn receipt_page(State(s): AppState, Path(id): Path<String>) -> Response {
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
