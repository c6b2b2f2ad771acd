//! `serve` (the default command): build, seed the admin, and serve until stopped; with the job
//! workers beside the web app unless `WORKERS=false`.

use std::net::SocketAddr;

use crate::app::App;
use crate::app::banner::print_banner;
use crate::app::server::{finish_runs, serve_metrics_port, serve_router, shutdown_signal};
use crate::config::{Config, Environment};
use crate::onboarding::ensure_admin;

impl App {
    /// Builds, seeds the admin, and serves until Ctrl-C or SIGTERM.
    pub async fn serve(
        self,
        mut config: Config,
        host: Option<std::net::IpAddr>,
        port: Option<u16>,
    ) -> anyhow::Result<()> {
        let default_base = format!("http://{}:{}", config.host, config.port);
        if let Some(host) = host {
            config.host = host;
        }
        if let Some(port) = port {
            config.port = port;
        }
        // Links in pages and emails follow the address actually served, unless BASE_URL is set.
        if config.base_url == default_base {
            config.base_url = format!("http://{}:{}", config.host, config.port);
        }
        // In production, nothing starts on a setting that is unsafe there.
        if config.environment == Environment::Production {
            super::check::refuse_unsafe_settings(&config, false)?;
        }
        let address = SocketAddr::new(config.host, config.port);
        let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {address}: {e}. Is another app using port {}? Stop it, or choose another port with --port.",
                address.port()
            )
        })?;
        let built = self.build(config).await?;
        let state = built.state.clone();
        let seed = ensure_admin(&state)
            .await
            .map_err(|e| anyhow::anyhow!("seeding the admin failed: {e}"))?;
        print_banner(&state, &seed);
        serve_metrics_port(&state).await?;
        let stop = tokio_util::sync::CancellationToken::new();
        let local = crate::app::workers::spawn_local_chores(&state, stop.clone());
        let workers = state.config().jobs.workers.then(|| {
            tokio::spawn(crate::app::workers::run_workers(
                state.clone(),
                stop.clone(),
            ))
        });
        serve_router(listener, built.router, shutdown_signal()).await?;
        finish_runs(&state).await;
        // The jobs in hand finish and are recorded before the database closes.
        stop.cancel();
        let _ = local.await;
        if let Some(workers) = workers {
            tracing::info!("waiting for the jobs in hand to finish");
            let _ = workers.await;
        }
        state.database().close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
