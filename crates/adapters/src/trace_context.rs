//! Trace context for outgoing calls and the target of the stores' spans.
//!
//! The adapters know `tracing`, not OpenTelemetry: the composition root, when it turns traces
//! on, installs the function that writes a span's W3C trace context (`traceparent`, and
//! `tracestate` when there is one) with [`propagate_with`]. Every outgoing HTTP call of the
//! adapters (Stripe, the language model, users' webhooks) then carries the context of its own
//! client span, so the server it calls continues the same trace. Without it nothing is added.

use std::sync::OnceLock;

/// The target of the store calls' spans (`db.<store>.<method>`, at `debug`): a log filter
/// with `quickscale_adapters::db=debug` shows them; traces take them whatever the log filter.
pub const DB_SPAN_TARGET: &str = "quickscale_adapters::db";

/// Writes the trace context of the current span as HTTP headers (name, value).
pub type ContextHeaders = fn() -> Vec<(&'static str, String)>;

static PROPAGATOR: OnceLock<ContextHeaders> = OnceLock::new();

/// Makes every outgoing call carry the trace context `headers` writes (once per process, like
/// the tracer; a later call is ignored).
pub fn propagate_with(headers: ContextHeaders) {
    let _ = PROPAGATOR.set(headers);
}

/// The headers carrying `span`'s trace context, or none when traces are off.
#[cfg_attr(
    not(any(feature = "stripe", feature = "llm", feature = "webhooks")),
    allow(dead_code)
)]
pub(crate) fn headers_for(span: &tracing::Span) -> Vec<(&'static str, String)> {
    match PROPAGATOR.get() {
        Some(headers) => span.in_scope(headers),
        None => Vec::new(),
    }
}
