//! Serving the router, and stopping: on Ctrl-C or SIGTERM, after the runs in progress.

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;

use super::workers::longest_timeout;
use crate::state::AppState;

/// Serves `router` on `listener` until `shutdown` completes, telling each request its client's
/// address: per-client rate limits and the local-only development pages depend on it.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Waits for the service runs still going (their visitors may have left) to finish and record
/// their result, so no run stays charged and unfinished; gives up after the longest service
/// timeout plus a margin.
pub(super) async fn finish_runs(state: &AppState) {
    let runs = state.runs();
    runs.close();
    if runs.is_empty() {
        return;
    }
    tracing::info!(runs = runs.len(), "waiting for service runs to finish");
    if tokio::time::timeout(longest_timeout(state) + Duration::from_secs(5), runs.wait())
        .await
        .is_err()
    {
        tracing::warn!(runs = runs.len(), "stopped with service runs still going");
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// With metrics on, keeps the histograms drained and, with `METRICS_PORT`, serves `/metrics`
/// on that port of `HOST` until the process ends. Fails when the port is taken.
pub(super) async fn serve_metrics_port(state: &AppState) -> anyhow::Result<()> {
    let Some(metrics) = state.metrics().cloned() else {
        return Ok(());
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            metrics.run_upkeep();
        }
    });
    let Some(port) = state.config().metrics.as_ref().and_then(|m| m.port) else {
        return Ok(());
    };
    let address = std::net::SocketAddr::new(state.config().host, port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} for metrics (METRICS_PORT)"))?;
    let router = Router::new()
        .route("/metrics", get(crate::routes::metrics_route))
        .with_state(state.clone());
    tracing::info!(%address, "serving metrics at /metrics");
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(())
}
