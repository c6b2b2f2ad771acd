//! What every hosted page shares: the test-mode banner, the style (no external assets), and
//! the page that only says something.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

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

pub(super) fn page(status: StatusCode, title: &str, body: &str) -> Response {
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

pub(super) fn message_page(
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

/// A page for an id that names nothing (404).
pub(super) fn not_found_page(what: &str) -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        &format!("Unknown {what}"),
        &format!("This {what} does not exist in this Stripe fake (it may have been reset)."),
        None,
    )
}

/// A redirect after a form (303).
pub(super) fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// Escapes text for HTML element content and attribute values.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
