//! The payment processor's wiring: connecting to Stripe (or the offline stand-in, `offline`), and
//! processing its webhook events (`events`: the receipt email, the background worker that
//! retries failed events). The pages are in `routes::billing` and `routes::plans`.

mod events;
pub mod offline;

pub use events::process;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use quickscale_adapters::Stores;
use quickscale_adapters::stripe::StripeClient;
use quickscale_domain_billing::Billing;
use quickscale_domain_kernel::Clock;

use crate::config::{Config, StripeMode};
use crate::state::BillingState;

/// Connects billing as configured.
pub async fn connect(
    mode: &StripeMode,
    config: &Config,
    stores: &Stores,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<BillingState> {
    match mode {
        StripeMode::Live {
            api_base,
            secret_key,
            webhook_secrets,
        } => {
            let client = StripeClient::new(api_base, secret_key.expose(), Duration::from_secs(20))
                .context("creating the Stripe client")?;
            Ok(BillingState {
                billing: Billing::new(
                    Arc::clone(&stores.billing),
                    Arc::new(client),
                    Arc::clone(&stores.credits),
                    Arc::clone(clock),
                ),
                webhook_secrets: webhook_secrets
                    .iter()
                    .map(|s| s.expose().to_owned())
                    .collect(),
                test_mode: secret_key.expose().starts_with("sk_test_")
                    || secret_key.expose().starts_with("rk_test_"),
                offline: None,
                checkout_origins: live_checkout_origins(api_base),
            })
        }
        StripeMode::Offline => offline::start(config, stores, clock).await,
    }
}

/// Connects billing for a maintenance command: Stripe as for the app; offline, the running
/// app's stand-in (or one started from its state file), never a fresh empty one.
pub async fn connect_for_command(
    mode: &StripeMode,
    config: &Config,
    stores: &Stores,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<BillingState> {
    match mode {
        StripeMode::Live { .. } => connect(mode, config, stores, clock).await,
        StripeMode::Offline => offline::connect_for_command(config, stores, clock).await,
    }
}

/// Stripe's hosted checkout and billing portal, and, when the API is another address (a test
/// server), that address's origin, which then serves the checkout pages too.
fn live_checkout_origins(api_base: &str) -> Vec<String> {
    let mut origins = vec![
        "https://checkout.stripe.com".to_owned(),
        "https://billing.stripe.com".to_owned(),
    ];
    if let Some(origin) = crate::security::origin_of(api_base)
        && origin != "https://api.stripe.com"
    {
        origins.push(origin);
    }
    origins
}
