//! The offline stand-in for Stripe, started inside the app when `ENABLE_STRIPE` is on and no
//! `STRIPE_SECRET_KEY` is set: test mode, no real money, no network.

use std::sync::Arc;

use quickscale_adapters::Stores;
use quickscale_domain_kernel::Clock;

use crate::config::Config;
use crate::state::BillingState;

pub async fn start(
    _config: &Config,
    _stores: &Stores,
    _clock: &Arc<dyn Clock>,
) -> anyhow::Result<BillingState> {
    anyhow::bail!(
        "the offline Stripe stand-in is not available in this build; set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"
    )
}
