//! Traces over OTLP/HTTP: a local receiver (an HTTP server decoding what arrives with the
//! OpenTelemetry protocol's own types) gets the span tree of a paid run on SQLite (the request,
//! the run inside it, its store calls inside that), the span of a job continuing the trace of the
//! request that queued it, and the client spans of the outgoing calls (Stripe, through a proxy
//! in front of the Stripe stand-in; the language model; a user's webhook), each of whose servers
//! got a `traceparent` naming that span. A trusted caller's `traceparent` is continued, and the
//! JSON logs keep the ids spans record after they start (tests/logs.rs, here with traces on).
//!
//! The subscriber is one per process, so this file holds one test.

mod support;

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use support::TestApp;
use support::json_logs::{Capture, a_paid_run_is_logged_with_its_ids};
use tower::ServiceExt as _;

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
#[track_caller]
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

/// A request a stand-in server got: its path and `traceparent` header.
type SeenRequest = (String, Option<String>);

/// The requests a stand-in server got.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<SeenRequest>>>);

impl Seen {
    fn keep(&self, path: &str, headers: &axum::http::HeaderMap) {
        let traceparent = headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.0.lock().unwrap().push((path.to_owned(), traceparent));
    }

    /// The `traceparent` of every request to `path`.
    fn traceparents(&self, path: &str) -> Vec<Option<String>> {
        let seen = self.0.lock().unwrap();
        seen.iter()
            .filter(|(p, _)| p == path)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

/// Serves `router` on a free local port; its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

/// A proxy in front of `target` (the Stripe stand-in) that keeps what it forwards.
async fn recording_proxy(target: String, seen: Seen) -> String {
    let client = reqwest::Client::new();
    serve(axum::Router::new().fallback(move |request: Request<Body>| {
        let (client, target, seen) = (client.clone(), target.clone(), seen.clone());
        async move {
            let (parts, body) = request.into_parts();
            seen.keep(parts.uri.path(), &parts.headers);
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut forwarded = client.request(parts.method, format!("{target}{path}"));
            for (name, value) in &parts.headers {
                if name != "host" {
                    forwarded = forwarded.header(name, value);
                }
            }
            let answer = forwarded.body(body).send().await.unwrap();
            let status = answer.status();
            let kind = answer.headers().get("content-type").cloned();
            let body = answer.bytes().await.unwrap();
            let mut response = axum::response::Response::new(Body::from(body));
            *response.status_mut() = status;
            if let Some(kind) = kind {
                response.headers_mut().insert("content-type", kind);
            }
            response
        }
    }))
    .await
}

/// A language model's API (OpenAI's chat completions) that answers every request alike.
async fn model(seen: Seen) -> String {
    let base = serve(axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let seen = seen.clone();
            async move {
                seen.keep("/v1/chat/completions", &headers);
                axum::Json(serde_json::json!({
                    "choices": [{"message": {"role": "assistant", "content": "A summary."}}]
                }))
            }
        }),
    ))
    .await;
    format!("{base}/v1")
}

/// A user's webhook receiver.
async fn hook(seen: Seen) -> String {
    let base = serve(axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let seen = seen.clone();
            async move {
                seen.keep("/hook", &headers);
                StatusCode::OK
            }
        }),
    ))
    .await;
    format!("{base}/hook")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Asserts that `traceparent` names `span` (its trace, and it as the parent).
fn names(traceparent: &Option<String>, span: &Span) {
    let traceparent = traceparent.as_deref().expect("a traceparent header");
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(
        parts[1],
        hex(&span.trace_id),
        "the span's trace: {traceparent}"
    );
    assert_eq!(
        parts[2],
        hex(&span.span_id),
        "the span as the parent: {traceparent}"
    );
}

fn has_span(spans: &[Span], name: &str) -> bool {
    spans.iter().any(|s| s.name == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_runs_store_calls_jobs_and_outgoing_calls_are_traced() {
    let (url, received) = receiver().await;
    let traces = quickscale_app_web::config::TracesConfig {
        endpoint: format!("{url}/v1/traces"),
        service_name: "quickscale-test".to_owned(),
        trust_incoming: true,
    };
    let logs = Capture::default();
    let writer = logs.clone();
    assert!(
        quickscale_app_web::observability::install_logging_and_traces(
            quickscale_app_web::config::LogFormat::Json,
            move || writer.clone(),
            false,
            Some((&traces, tokio::runtime::Handle::current())),
        ),
        "the subscriber was installed"
    );
    let stripe =
        quickscale_stripe_fake::FakeStripe::start(quickscale_stripe_fake::Config::default())
            .await
            .unwrap();
    let (stripe_seen, model_seen, hook_seen) = (Seen::default(), Seen::default(), Seen::default());
    let stripe_base = recording_proxy(stripe.base_url.clone(), stripe_seen.clone()).await;
    let model_base = model(model_seen.clone()).await;
    let hook_url = hook(hook_seen.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/app.db", dir.path().display());
    let app = TestApp::with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &url),
        ("OTEL_TRUST_INCOMING_TRACEPARENT", "true"),
        ("DATABASE_URL", &database),
        ("WELCOME_CREDITS", "25"),
        ("ENABLE_STRIPE", "true"),
        ("STRIPE_SECRET_KEY", "sk_test_traces"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_traces"),
        ("STRIPE_API_BASE", &stripe_base),
        ("LLM_BASE_URL", &model_base),
        ("LLM_API_KEY", "test-key"),
        ("LLM_MODEL", "tiny"),
        ("ALLOW_PRIVATE_WEBHOOKS", "true"),
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

    // A paid run (its JSON log line keeps the user id the request span records late).
    let paid_run = a_paid_run_is_logged_with_its_ids(&app, &logs, "bea@example.com").await;

    // Registering queues the verification email (a job, run by the app's workers); the user's
    // webhook gets each run's end, and the model service calls the model.
    let mut ada = app.browser();
    ada.register("ada@example.com", "a long enough password")
        .await;
    app.mail(2).await;
    ada.get("/settings/notifications").await;
    let saved = ada
        .post(
            "/settings/notifications/webhook",
            &[
                ("url", &hook_url),
                ("current_password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let key = ada
        .get("/services/llm_text_service")
        .await
        .input_value("run_key")
        .unwrap();
    let summarized = ada
        .post(
            "/services/llm_text_service",
            &[("input", "Summarize: a long text."), ("run_key", &key)],
        )
        .await;
    assert_eq!(summarized.status, StatusCode::OK, "{}", summarized.body);

    // Buying credits calls Stripe (the stand-in, through the proxy).
    let billing = ada.get("/billing").await;
    let pack = billing.input_value("pack").unwrap();
    let form_key = billing.input_value("form_key").unwrap();
    let checkout = ada
        .post(
            "/billing/checkout",
            &[("pack", &pack), ("form_key", &form_key)],
        )
        .await;
    assert_eq!(checkout.status, StatusCode::SEE_OTHER, "{}", checkout.body);

    // A caller whose trace this request continues.
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let answer = app
        .router
        .clone()
        .oneshot(
            Request::get("/health")
                .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    // The request's span ends with its body.
    axum::body::to_bytes(answer.into_body(), 1 << 16)
        .await
        .unwrap();

    // The batch goes out when flushed (a blocking call: off the executor).
    let mut spans = Vec::new();
    for _ in 0..200 {
        tokio::task::spawn_blocking(quickscale_app_web::observability::flush_traces)
            .await
            .unwrap();
        spans = received.spans();
        if [
            "db.runs.finish",
            "job deliver_email",
            "POST webhook",
            "POST chat/completions",
        ]
        .iter()
        .all(|name| has_span(&spans, name))
            && !hook_seen.traceparents("/hook").is_empty()
            && spans.iter().any(|s| hex(&s.trace_id) == caller_trace)
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

    // The paid run: request > run > the claim and charge (one store call, one transaction) and
    // the run's end, each a database client span of the SQLite store.
    let request = one(&spans, "request", |s| {
        attribute(s, "request_id").as_deref() == Some(paid_run.as_str())
    });
    assert_eq!(attribute(request, "method").as_deref(), Some("POST"));
    let bea = support::user(&app.state, "bea@example.com")
        .await
        .id
        .to_string();
    assert_eq!(
        attribute(request, "user_id").as_deref(),
        Some(bea.as_str()),
        "recorded after the span started"
    );
    let run = one(&spans, "run", |s| s.trace_id == request.trace_id);
    assert_eq!(
        run.parent_span_id, request.span_id,
        "the run is the request's child"
    );
    assert_eq!(
        attribute(run, "service").as_deref(),
        Some("text_sentiment_analysis")
    );
    let charge = one(&spans, "db.runs.claim_and_charge", |s| {
        s.trace_id == request.trace_id
    });
    assert_eq!(
        charge.parent_span_id, run.span_id,
        "the charge is the run's child"
    );
    assert!(charge.start_time_unix_nano >= run.start_time_unix_nano);
    assert!(charge.end_time_unix_nano <= run.end_time_unix_nano);
    assert_eq!(attribute(charge, "db.system").as_deref(), Some("sqlite"));
    assert_eq!(
        attribute(charge, "db.operation").as_deref(),
        Some("claim_and_charge")
    );
    assert_eq!(charge.kind, 3, "a client span");
    let finish = one(&spans, "db.runs.finish", |s| s.trace_id == request.trace_id);
    assert_eq!(finish.parent_span_id, run.span_id);
    // The request's other store calls (the session, the user) are spans of the same trace.
    assert!(
        spans.iter().any(|s| s.trace_id == request.trace_id
            && s.name.starts_with("db.sessions.")
            && s.parent_span_id == request.span_id),
        "the session's store call in the request"
    );

    // The email's job continues the trace of the registration that queued it.
    let job = spans
        .iter()
        .find(|s| s.name == "job deliver_email")
        .unwrap();
    let register = one(&spans, "request", |s| {
        s.trace_id == job.trace_id
            && attribute(s, "method").as_deref() == Some("POST")
            && attribute(s, "path").as_deref() == Some("/register")
    });
    assert!(
        spans
            .iter()
            .any(|s| s.trace_id == register.trace_id && s.span_id == job.parent_span_id),
        "the job's parent is a span of the request"
    );
    assert!(job.start_time_unix_nano >= register.start_time_unix_nano);

    // Each outgoing call is a client span whose context its server got.
    let llm = one(&spans, "POST chat/completions", |_| true);
    assert_eq!(llm.kind, 3, "a client span");
    let calls = model_seen.traceparents("/v1/chat/completions");
    assert_eq!(calls.len(), 1);
    names(&calls[0], llm);

    let webhook = one(&spans, "POST webhook", |_| true);
    assert_eq!(
        attribute(webhook, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    let delivered = hook_seen.traceparents("/hook");
    assert_eq!(delivered.len(), 1);
    names(&delivered[0], webhook);
    assert!(
        spans.iter().any(|s| s.name == "job deliver_webhook"
            && s.trace_id == webhook.trace_id
            && s.span_id == webhook.parent_span_id),
        "the delivery's span is inside its job's"
    );

    for path in ["/v1/customers", "/v1/checkout/sessions"] {
        let call = one(&spans, &format!("POST {path}"), |_| true);
        assert_eq!(attribute(call, "url.path").as_deref(), Some(path));
        let sent = stripe_seen.traceparents(path);
        assert_eq!(sent.len(), 1, "{path}");
        names(&sent[0], call);
    }

    // The trusted caller's trace goes on in the app.
    let continued = one(&spans, "request", |s| {
        attribute(s, "path").as_deref() == Some("/health")
    });
    assert_eq!(hex(&continued.trace_id), caller_trace);
    assert_eq!(hex(&continued.parent_span_id), caller_span);
}
