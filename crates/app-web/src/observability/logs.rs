//! Logs: `RUST_LOG` or a default filter; readable text (the default, for development) or one JSON
//! object per line (`LOG_FORMAT=json`). In JSON each line carries the spans it was written in:
//! `request` (`request_id`, `method`, `path`, and `user_id` once the session or API key tells
//! it) and `run` (`service`, `run_id`) where a service run is going.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// The filter when `RUST_LOG` is unset.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info,tower_sessions=warn";

/// Installs the process's log subscriber writing to `writer` (once; a later call keeps the
/// first and returns false).
pub fn install_logging<W>(format: LogFormat, writer: W, ansi: bool) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Pretty => builder.with_ansi(ansi).try_init().is_ok(),
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .with_current_span(true)
            .with_span_list(true)
            .try_init()
            .is_ok(),
    }
}
