//! The offline stand-in for Stripe, started inside the app when `ENABLE_STRIPE` is on and no
//! `STRIPE_SECRET_KEY` is set: test mode, no real money, no network. Its hosted checkout page
//! runs on a port of its own; its signed webhooks come back to this app's `/webhooks/stripe`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use quickscale_adapters::Stores;
use quickscale_adapters::stripe::StripeClient;
use quickscale_domain_billing::Billing;
use quickscale_domain_kernel::Clock;
use quickscale_stripe_fake::FakeStripe;

use crate::config::Config;
use crate::session::random_token;
use crate::state::BillingState;

pub async fn start(
    config: &Config,
    stores: &Stores,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<BillingState> {
    let secret = format!("whsec_offline_{}", random_token());
    let mut fake = quickscale_stripe_fake::Config::default()
        .with_webhook_url(format!("{}/webhooks/stripe", config.base_url))
        .with_webhook_secret(secret.clone())
        .with_account_name(&config.app_name);
    if config.flags.enable_subscriptions {
        // Fixed ids: the stand-in starts afresh with the app, and the synced plan keeps its price.
        fake.catalog.push(quickscale_stripe_fake::CatalogItem {
            product_id: Some("prod_offline_pro_plan".into()),
            price_id: Some("price_offline_pro_monthly".into()),
            ..quickscale_stripe_fake::CatalogItem::monthly_plan()
        });
    }
    let running = FakeStripe::start(fake)
        .await
        .context("starting the offline Stripe stand-in")?;
    tracing::info!(url = %running.base_url, "payments go to the offline Stripe stand-in (test mode: no real money)");
    let client = StripeClient::new(
        &running.base_url,
        "sk_test_offline",
        Duration::from_secs(10),
    )
    .context("creating the Stripe client")?;
    Ok(BillingState {
        billing: Billing::new(
            Arc::clone(&stores.billing),
            Arc::new(client),
            Arc::clone(&stores.credits),
            Arc::clone(clock),
        ),
        webhook_secrets: vec![secret],
        test_mode: true,
        checkout_origins: crate::security::origin_of(&running.base_url)
            .into_iter()
            .collect(),
        offline: Some(Arc::new(running)),
    })
}
