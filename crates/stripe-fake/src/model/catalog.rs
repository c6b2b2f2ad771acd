//! What the fake sells: products and their prices, one-time or recurring.

use serde::{Deserialize, Serialize};

use super::Metadata;
use crate::clock::add_months;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Product {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub updated: i64,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub metadata: Metadata,
    pub default_price: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Price {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub product: String,
    pub currency: String,
    pub unit_amount: i64,
    pub active: bool,
    pub metadata: Metadata,
    pub nickname: Option<String>,
    pub lookup_key: Option<String>,
    /// `None` for a one-time price.
    pub recurring: Option<Recurring>,
}

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
    pub fn per_year(self) -> i64 {
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
