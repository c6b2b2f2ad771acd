//! The time: now, calendar months for billing periods, and dates as pages and invoices write
//! them.

use std::time::{SystemTime, UNIX_EPOCH};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months() {
        // 2024-01-31 12:00 UTC
        let jan31 = 1_706_702_400;
        assert_eq!(format_time(add_months(jan31, 1)), "2024-02-29 12:00 UTC");
        assert_eq!(format_time(add_months(jan31, 2)), "2024-03-31 12:00 UTC");
        assert_eq!(format_time(add_months(jan31, 12)), "2025-01-31 12:00 UTC");
        assert_eq!(format_date(jan31), "31 Jan 2024");
    }
}
