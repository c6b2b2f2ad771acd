//! Logs: `RUST_LOG` or a default filter; readable text (the default, for development) or one JSON
//! object per line (`LOG_FORMAT=json`). In JSON each line carries the spans it was written in:
//! `request` (`request_id`, `method`, `path`, and `user_id` once the session or API key tells
//! it) and `run` (`service`, `run_id`) where a service run is going. With traces on
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`), the same spans are also sent as OpenTelemetry spans.

use tracing::subscriber::Interest;
use tracing::{Metadata, span};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{LogFormat, TracesConfig};

/// The filter when `RUST_LOG` is unset.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info,tower_sessions=warn";

/// What becomes an OpenTelemetry span (or span event), whatever `RUST_LOG` says: the app's spans
/// at `info`, and each store call's span (`debug`, under the adapters' `db` target).
const TRACES_FILTER: &str =
    "info,quickscale_adapters::db=debug,sqlx=warn,tower_http=warn,tower_sessions=warn";

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
///
/// The log layer never has a filter of its own (a per-layer filter there has lost the fields a
/// span records after it starts, such as the request's `user_id`): the subscriber's filter is
/// `RUST_LOG`'s, and with traces on it also lets through the spans the traces want, which the
/// OpenTelemetry layer alone filters further. So `RUST_LOG=warn` quiets the logs, not the traces.
pub fn install_logging_and_traces<W>(
    format: LogFormat,
    writer: W,
    ansi: bool,
    traces: Option<(&TracesConfig, tokio::runtime::Handle)>,
) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let logs = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let otel =
        traces.and_then(
            |(config, runtime)| match super::traces::traces_layer(config, runtime) {
                Ok(layer) => layer,
                Err(error) => {
                    eprintln!("warning: traces are off: {error}");
                    None
                }
            },
        );
    match otel {
        Some(otel) => tracing_subscriber::registry()
            .with(LogsOrTracedSpans {
                logs,
                spans: EnvFilter::new(TRACES_FILTER),
            })
            .with(otel.with_filter(EnvFilter::new(TRACES_FILTER)))
            .with(text_layer(format, writer, ansi))
            .try_init()
            .is_ok(),
        None => tracing_subscriber::registry()
            .with(logs)
            .with(text_layer(format, writer, ansi))
            .try_init()
            .is_ok(),
    }
}

/// The subscriber's filter with traces on: what the logs' filter enables, and the spans the
/// traces' filter enables (spans only: an event the logs do not want is neither written nor
/// sent as a span event). Each filter sees every span's life, for its span-scoped directives.
struct LogsOrTracedSpans {
    logs: EnvFilter,
    spans: EnvFilter,
}

impl<S> Layer<S> for LogsOrTracedSpans
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        let logs = Layer::<S>::register_callsite(&self.logs, metadata);
        if !metadata.is_span() || logs.is_always() {
            return logs;
        }
        let spans = Layer::<S>::register_callsite(&self.spans, metadata);
        if spans.is_always() {
            Interest::always()
        } else if logs.is_never() && spans.is_never() {
            Interest::never()
        } else {
            Interest::sometimes()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, cx: Context<'_, S>) -> bool {
        Layer::<S>::enabled(&self.logs, metadata, cx.clone())
            || (metadata.is_span() && Layer::<S>::enabled(&self.spans, metadata, cx))
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        let logs = Layer::<S>::max_level_hint(&self.logs)?;
        let spans = Layer::<S>::max_level_hint(&self.spans)?;
        Some(logs.max(spans))
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, cx: Context<'_, S>) {
        self.logs.on_new_span(attrs, id, cx.clone());
        self.spans.on_new_span(attrs, id, cx);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, cx: Context<'_, S>) {
        self.logs.on_record(id, values, cx.clone());
        self.spans.on_record(id, values, cx);
    }

    fn on_enter(&self, id: &span::Id, cx: Context<'_, S>) {
        self.logs.on_enter(id, cx.clone());
        self.spans.on_enter(id, cx);
    }

    fn on_exit(&self, id: &span::Id, cx: Context<'_, S>) {
        self.logs.on_exit(id, cx.clone());
        self.spans.on_exit(id, cx);
    }

    fn on_close(&self, id: span::Id, cx: Context<'_, S>) {
        self.logs.on_close(id.clone(), cx.clone());
        self.spans.on_close(id, cx);
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
