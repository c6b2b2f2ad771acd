//! Monthly spend caps on runs requested through the API: a key's own cap, and the bound of the
//! user's plan on everything their keys spend. A month is a calendar month in UTC.
//!
//! The caps are checked by the store that charges the run, in the same transaction as the
//! charge ([`crate::paid::PaidRunStore`]): what the month's runs spent is read while the credit
//! account is held, so two runs at once cannot both pass a cap.

use quickscale_domain_credits::Credits;
use quickscale_domain_identity::ApiKeyId;
use time::{Date, OffsetDateTime, Time, UtcOffset};

/// The caps a run is charged under. [`SpendCaps::NONE`] for runs not requested through the API.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SpendCaps {
    /// The API key the run was requested with (recorded on the run).
    pub key: Option<ApiKeyId>,
    /// The most the key may spend in a calendar month; `None`: no cap of its own.
    pub key_monthly: Option<Credits>,
    /// The most all of the user's keys together may spend in a calendar month (the plan's
    /// bound); `None`: unbounded.
    pub api_monthly: Option<Credits>,
}

impl SpendCaps {
    /// No key, no caps: a run from the pages.
    pub const NONE: SpendCaps = SpendCaps {
        key: None,
        key_monthly: None,
        api_monthly: None,
    };

    /// Whether any cap applies (a store reads the month's spending only then).
    pub fn is_capped(&self) -> bool {
        self.key.is_some() && (self.key_monthly.is_some() || self.api_monthly.is_some())
    }
}

/// What runs requested through the API spent in one month.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MonthSpend {
    /// Credits kept by the key's runs (a refund gives back; a run still going counts whole).
    pub key_credits: Credits,
    /// How many runs the key made, refused ones included.
    pub key_runs: u64,
    /// Credits kept by the runs of all of the user's keys.
    pub api_credits: Credits,
}

/// Which cap refused a run. Nothing was charged.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum CapExceeded {
    /// The key's own monthly cap.
    #[error(
        "this API key's monthly spend cap of {} is reached ({} spent this month, the run costs {})",
        .cap.with_unit(), .spent.with_unit(), .cost.with_unit()
    )]
    KeyMonthly {
        /// The key's cap.
        cap: Credits,
        /// What the key spent this month before this run.
        spent: Credits,
        /// What the run costs.
        cost: Credits,
    },
    /// The plan's bound on credits spent through the API in a month, all keys together.
    #[error(
        "the plan's monthly API limit of {} is reached ({} spent through the API this month, the run costs {})",
        .bound.with_unit(), .spent.with_unit(), .cost.with_unit()
    )]
    ApiMonthly {
        /// The plan's bound.
        bound: Credits,
        /// What all the user's keys spent this month before this run.
        spent: Credits,
        /// What the run costs.
        cost: Credits,
    },
}

impl CapExceeded {
    /// The first words of its message, the same for any amounts: a stored refusal is
    /// recognised by them ([`CapExceeded::refusal_of`]).
    const KEY_PREFIX: &'static str = "this API key's monthly spend cap";
    const API_PREFIX: &'static str = "the plan's monthly API limit";

    /// Which cap a stored run error names, if it is a cap's refusal.
    pub fn refusal_of(error: &str) -> Option<CapKind> {
        if error.starts_with(Self::KEY_PREFIX) {
            Some(CapKind::KeyMonthly)
        } else if error.starts_with(Self::API_PREFIX) {
            Some(CapKind::ApiMonthly)
        } else {
            None
        }
    }

    /// Which cap it is.
    pub fn kind(&self) -> CapKind {
        match self {
            CapExceeded::KeyMonthly { .. } => CapKind::KeyMonthly,
            CapExceeded::ApiMonthly { .. } => CapKind::ApiMonthly,
        }
    }
}

/// The two caps, without amounts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CapKind {
    /// [`CapExceeded::KeyMonthly`].
    KeyMonthly,
    /// [`CapExceeded::ApiMonthly`].
    ApiMonthly,
}

/// Whether a run costing `cost` fits under `caps` after what the month already spent: the
/// key's cap first, then the plan's bound. A free run always fits.
pub fn check_caps(caps: &SpendCaps, spent: &MonthSpend, cost: Credits) -> Result<(), CapExceeded> {
    if cost.is_zero() || caps.key.is_none() {
        return Ok(());
    }
    let over = |cap: Credits, spent: Credits| spent.checked_add(cost).is_none_or(|t| t > cap);
    if let Some(cap) = caps.key_monthly
        && over(cap, spent.key_credits)
    {
        return Err(CapExceeded::KeyMonthly {
            cap,
            spent: spent.key_credits,
            cost,
        });
    }
    if let Some(bound) = caps.api_monthly
        && over(bound, spent.api_credits)
    {
        return Err(CapExceeded::ApiMonthly {
            bound,
            spent: spent.api_credits,
            cost,
        });
    }
    Ok(())
}

/// The start of the calendar month (UTC) that `at` falls in.
pub fn month_start(at: OffsetDateTime) -> OffsetDateTime {
    let utc = at.to_offset(UtcOffset::UTC);
    let first = Date::from_calendar_date(utc.year(), utc.month(), 1).expect("day 1 exists");
    first.with_time(Time::MIDNIGHT).assume_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn caps(key: Option<u32>, api: Option<u32>) -> SpendCaps {
        SpendCaps {
            key: Some(ApiKeyId(uuid::Uuid::nil())),
            key_monthly: key.map(Credits::whole),
            api_monthly: api.map(Credits::whole),
        }
    }

    fn spent(key: u32, api: u32) -> MonthSpend {
        MonthSpend {
            key_credits: Credits::whole(key),
            key_runs: 0,
            api_credits: Credits::whole(api),
        }
    }

    #[test]
    fn a_run_fits_up_to_the_cap_and_not_past_it() {
        let one = Credits::whole(1);
        assert_eq!(check_caps(&caps(Some(10), None), &spent(9, 9), one), Ok(()));
        let refused = check_caps(&caps(Some(10), None), &spent(10, 10), one).unwrap_err();
        assert_eq!(refused.kind(), CapKind::KeyMonthly);
        assert_eq!(
            CapExceeded::refusal_of(&refused.to_string()),
            Some(CapKind::KeyMonthly)
        );
        // The key's cap is checked first; the plan's bound applies to all keys together.
        let refused = check_caps(&caps(Some(10), Some(5)), &spent(10, 10), one).unwrap_err();
        assert_eq!(refused.kind(), CapKind::KeyMonthly);
        let refused = check_caps(&caps(Some(10), Some(5)), &spent(1, 5), one).unwrap_err();
        assert_eq!(refused.kind(), CapKind::ApiMonthly);
        assert_eq!(
            CapExceeded::refusal_of(&refused.to_string()),
            Some(CapKind::ApiMonthly)
        );
        assert_eq!(CapExceeded::refusal_of("not enough credits"), None);
        // A run costing more than what is left is refused whole.
        assert!(check_caps(&caps(Some(10), None), &spent(8, 0), Credits::whole(3)).is_err());
    }

    #[test]
    fn free_runs_and_runs_without_a_key_are_never_capped() {
        assert_eq!(
            check_caps(&caps(Some(0), Some(0)), &spent(5, 5), Credits::ZERO),
            Ok(())
        );
        let pages = SpendCaps {
            key: None,
            ..caps(Some(0), Some(0))
        };
        assert_eq!(check_caps(&pages, &spent(5, 5), Credits::whole(1)), Ok(()));
        assert!(!SpendCaps::NONE.is_capped());
        assert!(caps(None, Some(1)).is_capped());
    }

    #[test]
    fn a_month_starts_on_the_first_at_midnight_utc() {
        assert_eq!(
            month_start(datetime!(2026-12-31 23:59:59.999 UTC)),
            datetime!(2026-12-01 00:00 UTC)
        );
        assert_eq!(
            month_start(datetime!(2026-03-01 00:00 UTC)),
            datetime!(2026-03-01 00:00 UTC)
        );
        // Another offset is read in UTC: 1 March 00:30 at +02:00 is still February in UTC.
        assert_eq!(
            month_start(datetime!(2026-03-01 00:30 +02:00)),
            datetime!(2026-02-01 00:00 UTC)
        );
    }
}
