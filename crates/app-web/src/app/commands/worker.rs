//! `worker`: runs the job workers and the scheduled chores without serving web requests, so web
//! and worker processes scale apart (serve them with `WORKERS=false`).

use crate::app::server::shutdown_signal;
use crate::app::{App, Purpose};
use crate::config::Config;

impl App {
    /// Runs the workers until Ctrl-C or SIGTERM, then lets the jobs in hand finish.
    pub(super) async fn work(self, config: Config) -> anyhow::Result<()> {
        let built = self.build_for(config, Purpose::Serve).await?;
        let state = built.state;
        tracing::info!(
            concurrency = state.config().jobs.concurrency,
            "worker started: running jobs"
        );
        let stop = tokio_util::sync::CancellationToken::new();
        let workers = tokio::spawn(crate::app::workers::run_workers(
            state.clone(),
            stop.clone(),
        ));
        shutdown_signal().await;
        tracing::info!("waiting for the jobs in hand to finish");
        stop.cancel();
        let _ = workers.await;
        state.database().close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
