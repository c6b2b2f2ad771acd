//! Logs: `RUST_LOG` or a default filter; readable text (the default, for development) or one JSON
//! object per line (`LOG_FORMAT=json`). In JSON each line carries the spans it was written in:
//! `request` (`request_id`, `method`, `path`, and `user_id` once the session or API key tells
//! it) and `run` (`service`, `run_id`) where a service run is going. With traces on
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`), the same spans are also sent as OpenTelemetry spans.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{LogFormat, TracesConfig};

/// The filter when `RUST_LOG` is unset.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info,tower_sessions=warn";

/// What becomes an OpenTelemetry span (or span event), whatever `RUST_LOG` says: the app's spans
/// are at `info`.
const TRACES_FILTER: &str = "info,sqlx=warn,tower_http=warn,tower_sessions=warn";

/// Installs the process's log subscriber writing to `writer` (once; a later call keeps the
/// first and returns false).
pub fn install_logging<W>(format: LogFormat, writer: W, ansi: bool) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    install_logging_and_traces(format, writer, ansi, None)
}

/// [`install_logging`], and with `traces` (their settings and the runtime that sends them) the
/// OpenTelemetry layer too. A collector that cannot be set up is reported on standard error
/// and the app runs without traces.
pub fn install_logging_and_traces<W>(
    format: LogFormat,
    writer: W,
    ansi: bool,
    traces: Option<(&TracesConfig, tokio::runtime::Handle)>,
) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Each layer with its own filter: `RUST_LOG=warn` quiets the logs, not the traces.
    let otel = traces
        .and_then(
            |(config, runtime)| match super::traces::traces_layer(config, runtime) {
                Ok(layer) => layer,
                Err(error) => {
                    eprintln!("warning: traces are off: {error}");
                    None
                }
            },
        )
        .map(|layer| layer.with_filter(EnvFilter::new(TRACES_FILTER)));
    match otel {
        Some(otel) => tracing_subscriber::registry()
            .with(otel)
            .with(text_layer(format, writer, ansi).with_filter(filter))
            .try_init()
            .is_ok(),
        // No traces: one filter for the whole subscriber (a per-layer filter alone loses the
        // fields a span records after it starts, such as the request's `user_id`).
        None => tracing_subscriber::registry()
            .with(filter)
            .with(text_layer(format, writer, ansi))
            .try_init()
            .is_ok(),
    }
}

/// The text or JSON layer writing to `writer`, for a subscriber `S`.
fn text_layer<S, W>(
    format: LogFormat,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    match format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer)
            .with_ansi(false)
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    }
}
