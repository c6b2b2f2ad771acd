//! Traces over OTLP/HTTP: a local receiver (an HTTP server decoding what arrives with the
//! OpenTelemetry protocol's own types) gets the span tree of a paid run (the request, the run
//! inside it, the run's charge inside that) and the span of a job continuing the trace of the
//! request that queued it.
//!
//! The subscriber is one per process, so this file holds one test.

mod support;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::StatusCode;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use support::TestApp;

/// What the receiver got: every span, with the service name of its resource.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, Span)>>>);

impl Received {
    fn spans(&self) -> Vec<Span> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }
}

/// An OTLP/HTTP receiver on a free port: `POST /v1/traces` with a protobuf body.
async fn receiver() -> (String, Received) {
    let received = Received::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let kept = kept.clone();
            async move {
                let Ok(request) = ExportTraceServiceRequest::decode(body) else {
                    return (StatusCode::BAD_REQUEST, Vec::new());
                };
                let mut spans = kept.0.lock().unwrap();
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| r.attributes.iter())
                        .find(|a| a.key == "service.name")
                        .and_then(|a| text(a.value.as_ref()?.value.as_ref()?))
                        .unwrap_or_default();
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            spans.push((service.clone(), span));
                        }
                    }
                }
                (
                    StatusCode::OK,
                    ExportTraceServiceResponse::default().encode_to_vec(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), received)
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| text(a.value.as_ref()?.value.as_ref()?))
}

/// The one span named `name` whose attributes match `filter`.
fn one<'a>(spans: &'a [Span], name: &str, filter: impl Fn(&Span) -> bool) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == name && filter(s))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "spans named {name}: {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_run_and_the_job_its_request_queued_are_traced() {
    let (url, received) = receiver().await;
    let traces = quickscale_app_web::config::TracesConfig {
        endpoint: format!("{url}/v1/traces"),
        service_name: "quickscale-test".to_owned(),
    };
    assert!(
        quickscale_app_web::observability::install_logging_and_traces(
            quickscale_app_web::config::LogFormat::Pretty,
            std::io::sink,
            false,
            Some((&traces, tokio::runtime::Handle::current())),
        ),
        "the subscriber was installed"
    );
    let app = TestApp::with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &url),
        ("WELCOME_CREDITS", "25"),
    ])
    .await;
    assert_eq!(
        app.state
            .config()
            .traces
            .as_ref()
            .map(|t| t.endpoint.as_str()),
        Some(traces.endpoint.as_str())
    );

    // Registering queues the verification email (a job, run by the app's workers).
    let mut ada = app.browser();
    ada.register("ada@example.com", "a long enough password")
        .await;
    app.mail(1).await;
    let key = ada
        .get("/services/text_sentiment_analysis")
        .await
        .input_value("run_key")
        .unwrap();
    let page = ada
        .post(
            "/services/text_sentiment_analysis",
            &[("input", "What a lovely day"), ("run_key", &key)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);

    // The batch goes out when flushed (a blocking call: off the executor).
    let mut spans = Vec::new();
    for _ in 0..100 {
        tokio::task::spawn_blocking(quickscale_app_web::observability::flush_traces)
            .await
            .unwrap();
        spans = received.spans();
        if spans.iter().any(|s| s.name == "runs.claim_and_charge")
            && spans.iter().any(|s| s.name == "job deliver_email")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        received
            .0
            .lock()
            .unwrap()
            .iter()
            .all(|(service, _)| service == "quickscale-test")
    );

    // The paid run: request > run > the claim and charge (one store call, one transaction).
    let request = one(&spans, "request", |s| {
        attribute(s, "method").as_deref() == Some("POST")
            && attribute(s, "path").as_deref() == Some("/services/text_sentiment_analysis")
    });
    let run = one(&spans, "run", |s| s.trace_id == request.trace_id);
    assert_eq!(
        run.parent_span_id, request.span_id,
        "the run is the request's child"
    );
    assert_eq!(
        attribute(run, "service").as_deref(),
        Some("text_sentiment_analysis")
    );
    let charge = one(&spans, "runs.claim_and_charge", |s| {
        s.trace_id == request.trace_id
    });
    assert_eq!(
        charge.parent_span_id, run.span_id,
        "the charge is the run's child"
    );
    assert!(charge.start_time_unix_nano >= run.start_time_unix_nano);
    assert!(charge.end_time_unix_nano <= run.end_time_unix_nano);
    let finish = one(&spans, "runs.finish", |s| s.trace_id == request.trace_id);
    assert_eq!(finish.parent_span_id, run.span_id);

    // The email's job continues the trace of the registration that queued it.
    let register = one(&spans, "request", |s| {
        attribute(s, "method").as_deref() == Some("POST")
            && attribute(s, "path").as_deref() == Some("/register")
    });
    let jobs: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "job deliver_email")
        .collect();
    assert!(!jobs.is_empty(), "no job span");
    let job = jobs[0];
    assert_eq!(
        job.trace_id, register.trace_id,
        "the job joins the request's trace"
    );
    assert!(
        spans
            .iter()
            .any(|s| s.trace_id == register.trace_id && s.span_id == job.parent_span_id),
        "the job's parent is a span of the request"
    );
    assert!(job.start_time_unix_nano >= register.start_time_unix_nano);
}
