//! Tracing's set-up: see `observability::install_logging_and_traces`.

use crate::config::{LogFormat, TracesConfig};

/// Installs the subscriber on standard output, with the OpenTelemetry layer sending on `runtime`
/// when `traces` is set (once; later calls keep the first).
pub(super) fn init_tracing(
    format: LogFormat,
    traces: Option<&TracesConfig>,
    runtime: &tokio::runtime::Handle,
) {
    use std::io::IsTerminal;
    crate::observability::install_logging_and_traces(
        format,
        std::io::stdout,
        std::io::stdout().is_terminal(),
        traces.map(|config| (config, runtime.clone())),
    );
}
