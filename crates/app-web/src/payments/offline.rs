//! The offline stand-in for Stripe, started inside the app when `ENABLE_STRIPE` is on and no
//! `STRIPE_SECRET_KEY` is set: test mode, no real money, no network. Its hosted checkout page
//! runs on a port of its own; its signed webhooks come back to this app's `/webhooks/stripe`.
//!
//! Unless the app's data is in memory, the stand-in keeps its state in
//! `data/stripe-offline.json` under the project, so what was bought offline survives a restart
//! (one running stand-in per file). A maintenance command that needs the processor talks to the
//! running app's stand-in, or, when the app is stopped, starts one from that file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use quickscale_adapters::Stores;
use quickscale_adapters::stripe::StripeClient;
use quickscale_domain_billing::Billing;
use quickscale_domain_kernel::Clock;
use quickscale_stripe_fake::{FakeStripe, Running};

use crate::config::{Config, DatabaseUrl};
use crate::session::random_token;
use crate::state::BillingState;

/// Where the stand-in keeps its state: in the project's data folder, unless the app's own data
/// is in memory (`DATABASE_URL=memory`), when the stand-in's is too.
pub fn state_file(config: &Config) -> Option<PathBuf> {
    (!matches!(config.database, DatabaseUrl::Memory))
        .then(|| config.project_dir.join("data").join("stripe-offline.json"))
}

/// The stand-in's settings for this app: its name, its catalog (the monthly plan with
/// subscriptions), its state file.
fn fake_config(config: &Config) -> quickscale_stripe_fake::Config {
    let mut fake = quickscale_stripe_fake::Config::default().with_account_name(&config.app_name);
    if config.flags.enable_subscriptions {
        // Fixed ids: the synced plan keeps its price across restarts (and is added to a kept
        // state that does not have it yet).
        fake.catalog.push(quickscale_stripe_fake::CatalogItem {
            product_id: Some("prod_offline_pro_plan".into()),
            price_id: Some("price_offline_pro_monthly".into()),
            ..quickscale_stripe_fake::CatalogItem::monthly_plan()
        });
    }
    fake.state_file = state_file(config);
    fake
}

/// Starts the stand-in for the web app: its webhooks come to this app.
pub async fn start(
    config: &Config,
    stores: &Stores,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<BillingState> {
    let secret = format!("whsec_offline_{}", random_token());
    let fake = fake_config(config)
        .with_webhook_url(format!("{}/webhooks/stripe", config.base_url))
        .with_webhook_secret(secret.clone());
    let running = FakeStripe::start(fake)
        .await
        .context("starting the offline Stripe stand-in")?;
    tracing::info!(url = %running.base_url, state = ?running.config().state_file, "payments go to the offline Stripe stand-in (test mode: no real money)");
    billing_state(
        &running.base_url.clone(),
        stores,
        clock,
        vec![secret],
        Some(running),
    )
}

/// The stand-in for a maintenance command (`billing reconcile`): the one the running app serves,
/// or, when the app is stopped, one started from the state file that sends no webhooks (there
/// is no app to receive them; its events are fetched instead).
pub async fn connect_for_command(
    config: &Config,
    stores: &Stores,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<BillingState> {
    let Some(path) = state_file(config) else {
        anyhow::bail!(
            "with DATABASE_URL=memory the offline Stripe stand-in keeps nothing between runs: there is nothing to reach"
        );
    };
    if let Some(url) = quickscale_stripe_fake::running_at(&path) {
        tracing::info!(%url, "using the running app's offline Stripe stand-in");
        return billing_state(&url, stores, clock, Vec::new(), None);
    }
    let running = FakeStripe::start(fake_config(config))
        .await
        .with_context(|| {
            format!(
                "starting the offline Stripe stand-in from {}",
                path.display()
            )
        })?;
    billing_state(
        &running.base_url.clone(),
        stores,
        clock,
        Vec::new(),
        Some(running),
    )
}

fn billing_state(
    api_base: &str,
    stores: &Stores,
    clock: &Arc<dyn Clock>,
    webhook_secrets: Vec<String>,
    running: Option<Running>,
) -> anyhow::Result<BillingState> {
    let client = StripeClient::new(api_base, "sk_test_offline", Duration::from_secs(10))
        .context("creating the Stripe client")?;
    Ok(BillingState {
        billing: Billing::new(
            Arc::clone(&stores.billing),
            Arc::new(client),
            Arc::clone(&stores.credits),
            Arc::clone(clock),
        ),
        webhook_secrets,
        test_mode: true,
        checkout_origins: crate::security::origin_of(api_base).into_iter().collect(),
        offline: running.map(Arc::new),
    })
}
