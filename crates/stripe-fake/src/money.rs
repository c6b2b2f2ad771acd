//! Amounts: Stripe's caps on amounts and quantities, and money as the pages write it.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
