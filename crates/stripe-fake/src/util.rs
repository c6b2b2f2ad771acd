//! Small helpers: ids, time, HTML escaping, money formatting.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngExt;

const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Random alphanumeric characters, like the tail of a Stripe id.
pub(crate) fn random_chars(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())] as char)
        .collect()
}

/// A Stripe-looking id: `prefix` then `len` random characters.
pub(crate) fn new_id(prefix: &str, len: usize) -> String {
    format!("{prefix}{}", random_chars(len))
}

/// The lengths Stripe uses for each kind of id.
pub(crate) mod ids {
    use super::new_id;

    pub(crate) fn customer() -> String {
        new_id("cus_", 14)
    }
    pub(crate) fn product() -> String {
        new_id("prod_", 14)
    }
    pub(crate) fn price() -> String {
        new_id("price_", 24)
    }
    pub(crate) fn checkout_session() -> String {
        new_id("cs_test_a1", 56)
    }
    pub(crate) fn line_item() -> String {
        new_id("li_", 24)
    }
    pub(crate) fn payment_intent() -> String {
        new_id("pi_", 24)
    }
    pub(crate) fn charge() -> String {
        new_id("ch_", 24)
    }
    pub(crate) fn refund() -> String {
        new_id("re_", 24)
    }
    pub(crate) fn event() -> String {
        new_id("evt_", 24)
    }
    pub(crate) fn portal_session() -> String {
        new_id("bps_", 24)
    }
    pub(crate) fn portal_configuration() -> String {
        new_id("bpc_", 24)
    }
    pub(crate) fn payment_method() -> String {
        new_id("pm_", 24)
    }
    pub(crate) fn balance_transaction() -> String {
        new_id("txn_", 24)
    }
    pub(crate) fn subscription() -> String {
        new_id("sub_", 24)
    }
    pub(crate) fn subscription_item() -> String {
        new_id("si_", 14)
    }
    pub(crate) fn invoice() -> String {
        new_id("in_", 24)
    }
    pub(crate) fn invoice_line() -> String {
        new_id("il_", 24)
    }
    pub(crate) fn invoice_item() -> String {
        new_id("ii_", 24)
    }
    pub(crate) fn request() -> String {
        new_id("req_", 14)
    }
    pub(crate) fn webhook_secret() -> String {
        new_id("whsec_", 32)
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
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

/// Currencies without minor units (Stripe's list of zero-decimal currencies).
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// Stripe's largest amount: 99999999 minor units ($999,999.99). Larger line totals and
/// totals are refused with `amount_too_large`.
pub(crate) const MAX_AMOUNT: i64 = 99_999_999;

/// The largest `quantity` the fake takes (Stripe refuses quantities around a million).
pub(crate) const MAX_QUANTITY: i64 = 999_999;

/// `unit_amount × quantity`; `None` past [`MAX_AMOUNT`] (an overflow included).
pub(crate) fn line_amount(unit_amount: i64, quantity: i64) -> Option<i64> {
    unit_amount
        .checked_mul(quantity)
        .filter(|amount| *amount <= MAX_AMOUNT)
}

/// The sum of `amounts`; `None` past [`MAX_AMOUNT`] (an overflow included).
pub(crate) fn total_amount(amounts: impl IntoIterator<Item = i64>) -> Option<i64> {
    amounts
        .into_iter()
        .try_fold(0i64, i64::checked_add)
        .filter(|total| *total <= MAX_AMOUNT)
}

/// `1000 usd` as `$10.00`, `1999 eur` as `€19.99`, `99999999 usd` as `$999,999.99`.
pub(crate) fn format_money(amount: i64, currency: &str) -> String {
    let symbol = match currency {
        "usd" => "$".to_string(),
        "eur" => "€".to_string(),
        "gbp" => "£".to_string(),
        other => format!("{} ", other.to_uppercase()),
    };
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    if ZERO_DECIMAL.contains(&currency) {
        format!("{sign}{symbol}{}", grouped(abs))
    } else {
        format!("{sign}{symbol}{}.{:02}", grouped(abs / 100), abs % 100)
    }
}

/// `1234567` as `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `2026-11-26 16:42 UTC` for a unix timestamp.
pub(crate) fn format_time(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => unix.to_string(),
    }
}

/// `26 Jul 2024` for a unix timestamp, as Stripe writes dates in proration descriptions.
pub(crate) fn format_date(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => {
            let month = t.month().to_string();
            format!("{} {} {}", t.day(), &month[..3], t.year())
        }
        Err(_) => unix.to_string(),
    }
}

/// `unix` plus `months` calendar months, the day clamped to the month's length (Jan 31 plus
/// one month is Feb 28 or 29), the time of day kept.
pub(crate) fn add_months(unix: i64, months: i64) -> i64 {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix) else {
        return unix + months * 30 * 86_400;
    };
    let index = i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1 + months;
    let year = index.div_euclid(12) as i32;
    let Ok(month) = time::Month::try_from((index.rem_euclid(12) + 1) as u8) else {
        return unix;
    };
    let day = t.day().min(month.length(year));
    match time::Date::from_calendar_date(year, month, day) {
        Ok(date) => t.replace_date(date).unix_timestamp(),
        Err(_) => unix,
    }
}

/// Decodes standard base64 (for HTTP Basic auth); `None` when malformed.
pub(crate) fn base64_decode(input: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }
    let trimmed = input.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for c in trimmed.bytes() {
        buffer = (buffer << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_stripe_prefixes_and_lengths() {
        assert!(ids::customer().starts_with("cus_"));
        assert_eq!(ids::customer().len(), 18);
        assert!(ids::checkout_session().starts_with("cs_test_a1"));
        assert_eq!(ids::checkout_session().len(), 66);
        assert!(ids::webhook_secret().starts_with("whsec_"));
    }

    #[test]
    fn money_is_formatted_with_minor_units() {
        assert_eq!(format_money(1000, "usd"), "$10.00");
        assert_eq!(format_money(1999, "eur"), "€19.99");
        assert_eq!(format_money(500, "jpy"), "JPY 500");
        assert_eq!(format_money(5, "chf"), "CHF 0.05");
        assert_eq!(format_money(MAX_AMOUNT, "usd"), "$999,999.99");
        assert_eq!(format_money(-123_456, "usd"), "-$1,234.56");
        assert_eq!(format_money(1_000_000, "jpy"), "JPY 1,000,000");
    }

    #[test]
    fn amounts_past_stripes_cap_are_none() {
        assert_eq!(line_amount(2000, 3), Some(6000));
        assert_eq!(line_amount(MAX_AMOUNT, 1), Some(MAX_AMOUNT));
        assert_eq!(line_amount(MAX_AMOUNT, 2), None);
        assert_eq!(line_amount(i64::MAX / 2, 3), None);
        assert_eq!(total_amount([1, 2, 3]), Some(6));
        assert_eq!(total_amount([MAX_AMOUNT, 1]), None);
        assert_eq!(total_amount([i64::MAX, i64::MAX]), None);
    }

    #[test]
    fn months_are_calendar_months() {
        // 2024-01-31 12:00 UTC
        let jan31 = 1_706_702_400;
        assert_eq!(format_time(add_months(jan31, 1)), "2024-02-29 12:00 UTC");
        assert_eq!(format_time(add_months(jan31, 2)), "2024-03-31 12:00 UTC");
        assert_eq!(format_time(add_months(jan31, 12)), "2025-01-31 12:00 UTC");
        assert_eq!(format_date(jan31), "31 Jan 2024");
    }

    #[test]
    fn base64_decodes_basic_auth() {
        assert_eq!(base64_decode("c2tfdGVzdF8xMjM6").unwrap(), b"sk_test_123:");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert!(base64_decode("!!").is_none());
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
