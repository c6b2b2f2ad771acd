//! What a user's API keys may do: the API limits of their plan (its `api_requests_per_minute`
//! and `api_monthly_credits` metadata), or the app's defaults (`API_RATE_PER_MINUTE`,
//! `API_MONTHLY_CREDITS`) for users without a plan that sets them; and how one key's own limits
//! within them become its rate and its spend caps.

use quickscale_domain_billing::BillingError;
use quickscale_domain_identity::{ApiBounds, ApiKey, UserId};
use quickscale_domain_kernel::rate_limit::Quota;
use quickscale_service_sdk::caps::SpendCaps;

use crate::error::AppError;
use crate::state::AppState;

/// The bounds of `user`'s keys now. A plan is looked up only when subscriptions are on.
pub async fn bounds_of(state: &AppState, user: UserId) -> Result<ApiBounds, AppError> {
    let config = state.config();
    let defaults = ApiBounds {
        per_minute: config.api_rate.0,
        monthly_credits: config.api_monthly_credits,
    };
    let Some(billing) = state.billing() else {
        return Ok(defaults);
    };
    let plan = match billing.billing.entitled_plan(user.as_uuid()).await {
        Ok(plan) => plan,
        Err(BillingError::SubscriptionsOff) => None,
        Err(BillingError::Storage(e)) => return Err(e.into()),
        Err(other) => return Err(AppError::Internal(anyhow::Error::new(other))),
    };
    Ok(plan.map_or(defaults, |plan| ApiBounds {
        per_minute: plan.api_per_minute.unwrap_or(defaults.per_minute),
        monthly_credits: plan.api_monthly_credits.or(defaults.monthly_credits),
    }))
}

/// The key's request budget: its rate (its own, never above the plan's) and `API_RATE_BURST`
/// at once, `(default_rate, burst)` as configured. A rate other than the default (a plan's, or
/// the key's own) also bounds the burst to one minute's worth, so that a key set to 2 a minute
/// never makes 60 at once.
pub fn key_quota(key: &ApiKey, bounds: &ApiBounds, (default_rate, burst): (u32, u32)) -> Quota {
    let per_minute = bounds.per_minute_of(&key.limits);
    if per_minute == default_rate {
        Quota::per_minute(per_minute, burst)
    } else {
        Quota::per_minute(per_minute, burst.min(per_minute))
    }
}

/// The caps a run requested with `key` is charged under: the key's own monthly cap and the
/// plan's monthly bound on all keys.
pub fn key_caps(key: &ApiKey, bounds: &ApiBounds) -> SpendCaps {
    SpendCaps {
        key: Some(key.id),
        key_monthly: key.limits.monthly_credits,
        api_monthly: bounds.monthly_credits,
    }
}
