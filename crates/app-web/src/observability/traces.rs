//! Traces: OpenTelemetry spans over OTLP/HTTP (protobuf), opt-in with
//! `OTEL_EXPORTER_OTLP_ENDPOINT`. Without it nothing here is installed and the app's spans stay
//! log context only. With it, the `tracing` spans the app opens (a request, a service run, each
//! store call of a run, a job, an outgoing call to Stripe or a model) become OpenTelemetry
//! spans, batched and sent by a thread of the SDK's own, over the workspace's `reqwest` on the
//! app's runtime. A job carries the W3C `traceparent` of the span that queued it (stored with the
//! job), so its span continues that trace; every outgoing HTTP call carries its own span's
//! (`quickscale_adapters::trace_context`), and a request continues its caller's trace when
//! `OTEL_TRUST_INCOMING_TRACEPARENT` says to trust it.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt as _};
use tracing_subscriber::registry::LookupSpan;

use crate::config::TracesConfig;

/// The process's tracer provider, once traces are on (one per process, like the subscriber).
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// How long one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The exporter's HTTP client: the workspace's `reqwest`, run on the app's runtime (the SDK's
/// batch exporter works on a thread of its own, outside any runtime).
#[derive(Debug)]
struct OnRuntime {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move {
                let response = client.execute(reqwest::Request::try_from(request)?).await?;
                let mut answer = http::Response::builder().status(response.status());
                for (name, value) in response.headers() {
                    answer = answer.header(name, value);
                }
                let body = response.bytes().await?;
                Ok::<_, HttpError>(answer.body(body)?)
            })
            .await?
    }
}

/// Builds the exporter and the tracer provider for `config`, sending on `runtime`, and returns
/// the layer that turns the app's spans into OpenTelemetry spans. Once per process: a second
/// call (a test building a second app) gets `None`, and the first provider keeps exporting.
pub fn traces_layer<S>(
    config: &TracesConfig,
    runtime: tokio::runtime::Handle,
) -> Result<Option<OpenTelemetryLayer<S, SdkTracer>>, String>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    if PROVIDER.get().is_some() {
        return Ok(None);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| format!("the OTLP client: {e}"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(OnRuntime { client, runtime })
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(config.endpoint.clone())
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| format!("the OTLP exporter: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(config.service_name.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("quickscale");
    if PROVIDER.set(provider).is_err() {
        return Ok(None);
    }
    // Outgoing calls (Stripe, the model, users' webhooks) carry their span's context.
    quickscale_adapters::trace_context::propagate_with(context_headers);
    Ok(Some(tracing_opentelemetry::layer().with_tracer(tracer)))
}

/// Whether traces are on in this process.
pub(crate) fn tracing_on() -> bool {
    PROVIDER.get().is_some()
}

/// Sends the spans ended so far (blocks; call it off the async executor, or at shutdown).
pub fn flush_traces() {
    if let Some(provider) = PROVIDER.get()
        && let Err(error) = provider.force_flush()
    {
        tracing::warn!(%error, "sending traces failed");
    }
}

/// The current span's W3C trace context (`traceparent`, and `tracestate` when set), empty
/// when traces are off or the span is not traced.
fn current_context() -> HashMap<String, String> {
    let mut carrier = HashMap::new();
    if tracing_on() {
        let context = tracing::Span::current().context();
        TraceContextPropagator::new().inject_context(&context, &mut carrier);
    }
    carrier
}

/// The current span's context as a W3C `traceparent`, when traces are on.
pub(crate) fn current_traceparent() -> Option<String> {
    current_context().remove("traceparent")
}

/// The current span's context as the headers of an outgoing HTTP call.
fn context_headers() -> Vec<(&'static str, String)> {
    let mut carrier = current_context();
    ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|name| Some((name, carrier.remove(name)?)))
        .collect()
}

/// Makes `span` a child of the span `traceparent` names (a job continuing the trace of what
/// queued it, a request the trace of a trusted caller). A malformed value leaves `span` a root.
pub(crate) fn continue_trace(span: &tracing::Span, traceparent: &str) {
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    if let Err(error) = span.set_parent(context) {
        tracing::debug!(%error, "a trace context was not applied");
    }
}
