//! The hourly chores of a serving app, and ending the runs a crashed process left behind.

use std::time::Duration;

use crate::state::AppState;

/// Every hour: forgets idle rate-limit clients, ends interrupted runs, deletes expired sessions
/// and forgets spent sign-in failures.
pub(super) fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            state.limits().forget_idle().await;
            recover_interrupted_runs(&state).await;
            let now = state.clock().now();
            match state.stores().sessions.admin().delete_expired(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "expired sessions removed"),
                Err(error) => tracing::warn!(%error, "removing expired sessions failed"),
            }
            if let Err(error) = state.accounts().forget_spent_sign_in_failures().await {
                tracing::warn!(%error, "forgetting old failed sign-ins failed");
            }
        }
    });
}

/// The longest time a registered service may run.
pub(super) fn longest_timeout(state: &AppState) -> Duration {
    state
        .registry()
        .iter()
        .map(|r| r.descriptor.timeout)
        .max()
        .unwrap_or_default()
}

/// Ends and refunds the runs a previous process stopped in the middle of (a crash): those still
/// running five minutes past the longest timeout, which no live process can still be running.
async fn recover_interrupted_runs(state: &AppState) {
    let cutoff = state.clock().now() - longest_timeout(state) - Duration::from_secs(300);
    match state.runner().recover_interrupted(cutoff).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(runs = n, "interrupted service runs ended and refunded"),
        Err(error) => tracing::warn!(%error, "ending interrupted service runs failed"),
    }
}
