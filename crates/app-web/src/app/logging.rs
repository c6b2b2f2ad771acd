//! Tracing's set-up: see `observability::install_logging`.

use crate::config::LogFormat;

/// Installs the subscriber on standard output (once; later calls keep the first).
pub(super) fn init_tracing(format: LogFormat) {
    use std::io::IsTerminal;
    crate::observability::install_logging(format, std::io::stdout, std::io::stdout().is_terminal());
}
