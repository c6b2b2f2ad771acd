//! Error reports: opt-in with `SENTRY_DSN` (the `sentry` crate, default features off, sending
//! with the workspace's `reqwest` on the app's runtime). A 5xx answer is reported with its
//! request id, method and route template; a panic with its message and place, and with the
//! request's id and route when it happens while a request (or the run it started) is going.
//! Every event goes through [`scrub`] first: no request body, cookies, headers or query string,
//! no user but an id, and email addresses, passwords, tokens and keys in any text redacted.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use sentry::protocol::{Event, Exception, Level};
use sentry::{ClientOptions, Envelope, Hub, Transport, TransportFactory, TransportOptions};

/// The client, once reports are on (one per process).
static CLIENT: OnceLock<sentry::ClientInitGuard> = OnceLock::new();

/// How long one report may take to send.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether error reports are on in this process.
pub(crate) fn reports_on() -> bool {
    CLIENT.get().is_some()
}

/// Turns error reports on for `dsn` (checked when the configuration was read), sending on
/// `runtime`, and reports panics from then on. Once per process: later calls return false.
pub fn install_error_reports(dsn: &str, runtime: tokio::runtime::Handle) -> Result<bool, String> {
    if reports_on() {
        return Ok(false);
    }
    let dsn: sentry::types::Dsn = dsn.parse().map_err(|e| format!("SENTRY_DSN: {e}"))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .build()
        .map_err(|e| format!("the error report client: {e}"))?;
    let mut options = ClientOptions::default();
    options.dsn = Some(dsn);
    options.release = Some(env!("CARGO_PKG_VERSION").into());
    options.send_default_pii = false;
    options.before_send = Some(Arc::new(|event| Some(scrub(event))));
    options.transport = Some(Arc::new(Factory { client, runtime }));
    if CLIENT.set(sentry::init(options)).is_err() {
        return Ok(false);
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report_panic(info);
        previous(info);
    }));
    Ok(true)
}

/// Sends the reports still queued (blocks up to `timeout`).
pub fn flush_error_reports(timeout: Duration) -> bool {
    match CLIENT.get() {
        Some(guard) => guard.flush(Some(timeout)),
        None => true,
    }
}

/// A hub for one request, tagged with its id, method and route: a panic while it is current
/// (the request's future, or a run it started with the hub bound) carries them.
pub(crate) fn request_hub(request_id: &str, method: &str, route: &str) -> Arc<Hub> {
    let hub = Arc::new(Hub::new_from_top(Hub::main()));
    hub.configure_scope(|scope| {
        scope.set_tag("request_id", request_id);
        scope.set_tag("method", method);
        scope.set_tag("route", route);
    });
    hub
}

/// Reports a 5xx answer (the cause, when `AppError` logged one, is on the hub's scope).
pub(crate) fn report_server_error(hub: &Hub, status: u16) {
    let mut event = Event {
        level: Level::Error,
        message: Some(format!("the app answered {status}")),
        ..Event::default()
    };
    event.tags.insert("status".into(), status.to_string());
    hub.capture_event(event);
}

fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    let place = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let mut event = Event {
        level: Level::Fatal,
        message: Some(message.clone()),
        ..Event::default()
    };
    event.exception.values.push(Exception {
        ty: "panic".into(),
        value: Some(message),
        module: Some(place),
        ..Exception::default()
    });
    Hub::with_active(|hub| hub.capture_event(event));
}

/// The transport: each envelope posted to the DSN's envelope endpoint from the app's runtime;
/// `flush` waits for those in flight.
struct Factory {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl TransportFactory for Factory {
    fn create_transport_with_options(&self, options: TransportOptions) -> Arc<dyn Transport> {
        Arc::new(HttpTransport {
            client: self.client.clone(),
            runtime: self.runtime.clone(),
            url: options.dsn.envelope_api_url().to_string(),
            auth: options.dsn.to_auth(Some(&options.user_agent)).to_string(),
            in_flight: Arc::new((Mutex::new(0), Condvar::new())),
        })
    }
}

struct HttpTransport {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
    url: String,
    auth: String,
    /// Envelopes being sent, and a signal when that drops to none.
    in_flight: Arc<(Mutex<usize>, Condvar)>,
}

impl Transport for HttpTransport {
    fn send_envelope(&self, envelope: Envelope) {
        let mut body = Vec::new();
        if envelope.to_writer(&mut body).is_err() {
            return;
        }
        let in_flight = Arc::clone(&self.in_flight);
        *in_flight
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        let request = self
            .client
            .post(&self.url)
            .header("X-Sentry-Auth", &self.auth)
            .header("Content-Type", "application/x-sentry-envelope")
            .body(body);
        self.runtime.spawn(async move {
            match request.send().await {
                Ok(answer) if answer.status().is_success() => {}
                Ok(answer) => eprintln!("error report refused: HTTP {}", answer.status()),
                Err(error) => eprintln!("error report not sent: {error}"),
            }
            let (count, idle) = &*in_flight;
            let mut count = count
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *count -= 1;
            idle.notify_all();
        });
    }

    fn flush(&self, timeout: Duration) -> bool {
        let (count, idle) = &*self.in_flight;
        let count = count
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        idle.wait_timeout_while(count, timeout, |n| *n > 0)
            .map(|(n, _)| *n == 0)
            .unwrap_or(false)
    }
}

/// Field names whose values are never sent.
const SECRET_NAMES: [&str; 9] = [
    "password",
    "passwd",
    "token",
    "secret",
    "key",
    "cookie",
    "authorization",
    "email",
    "session",
];

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| name.contains(s))
}

/// What an event keeps: no request body, cookies, headers or query string; no user but an id;
/// extra and tag values under secret-sounding names dropped; emails, secrets after `password=`,
/// `token:` and the like, bearer tokens and Stripe-style keys redacted in every text.
pub(crate) fn scrub(mut event: Event<'static>) -> Event<'static> {
    if let Some(request) = event.request.as_mut() {
        request.data = None;
        request.cookies = None;
        request.query_string = None;
        request.headers = BTreeMap::new();
        request.env = BTreeMap::new();
        if let Some(url) = request.url.as_mut() {
            url.set_query(None);
        }
    }
    if let Some(user) = event.user.take() {
        event.user = user.id.map(|id| sentry::protocol::User {
            id: Some(id),
            ..sentry::protocol::User::default()
        });
    }
    event.extra.retain(|name, _| !is_secret_name(name));
    for value in event.extra.values_mut() {
        if let Some(text) = value.as_str() {
            *value = redact(text).into();
        }
    }
    event
        .tags
        .retain(|name, _| name == "request_id" || !is_secret_name(name));
    event.message = event.message.take().map(|m| redact(&m));
    if let Some(logentry) = event.logentry.as_mut() {
        logentry.message = redact(&logentry.message);
        logentry.params.clear();
    }
    for exception in &mut event.exception.values {
        exception.value = exception.value.take().map(|v| redact(&v));
    }
    for crumb in &mut event.breadcrumbs.values {
        crumb.message = crumb.message.take().map(|m| redact(&m));
        crumb.data.clear();
    }
    event
}

/// Prefixes of secrets that stand on their own (Stripe keys, webhook secrets, API keys).
const SECRET_PREFIXES: [&str; 5] = ["sk_", "rk_", "pk_", "whsec_", "qs_"];

/// Words in a text after which the next word is a secret (`password=...`, `"token": "..."`).
const SECRET_WORDS: [&str; 7] = [
    "password",
    "passwd",
    "token",
    "secret",
    "authorization",
    "bearer",
    "api_key",
];

/// `text` with email addresses, the values after secret-sounding names (`password=...`,
/// `"token": "..."`, `Authorization: Bearer ...`) and secret-looking words replaced.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut hide_next = false;
    for piece in split_keeping(text) {
        if piece.chars().all(is_separator) {
            out.push_str(piece);
            continue;
        }
        let lower = piece.to_ascii_lowercase();
        if hide_next {
            out.push_str("[redacted]");
            // `Authorization: Bearer <token>`: the token after the scheme too.
            hide_next = lower == "bearer";
        } else if piece.contains('@') && piece.rsplit('@').next().is_some_and(|d| d.contains('.')) {
            out.push_str("[email]");
        } else if SECRET_PREFIXES.iter().any(|p| piece.starts_with(p)) && piece.len() > 8 {
            out.push_str("[redacted]");
        } else {
            out.push_str(piece);
            hide_next = SECRET_WORDS.iter().any(|s| lower.ends_with(s));
        }
    }
    out
}

/// Characters between words: a name and its value are split on `=`, `:`, quotes and spaces.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '=' | ':'
                | '"'
                | '\''
                | ','
                | ';'
                | '('
                | ')'
                | '<'
                | '>'
                | '{'
                | '}'
                | '['
                | ']'
                | '&'
                | '?'
        )
}

/// `text` cut into words and runs of separators, in order.
fn split_keeping(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_word: Option<bool> = None;
    for (i, c) in text.char_indices() {
        let word = !is_separator(c);
        if in_word.is_some_and(|w| w != word) {
            pieces.push(&text[start..i]);
            start = i;
        }
        in_word = Some(word);
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_passwords_tokens_and_keys_are_redacted() {
        let text = "login of ada@example.com failed: password=hunter2hunter2, \
                    {\"token\": \"abc123def456\"} Authorization: Bearer eyJhbGciOi.x.y \
                    with sk_live_51Habcdefgh and whsec_0123456789; run 0190-aa took 3 ms";
        let clean = redact(text);
        for secret in [
            "ada@example.com",
            "hunter2hunter2",
            "abc123def456",
            "eyJhbGciOi",
            "sk_live_51Habcdefgh",
            "whsec_0123456789",
        ] {
            assert!(!clean.contains(secret), "{secret} left in {clean}");
        }
        assert!(clean.contains("[email]"), "{clean}");
        assert!(clean.contains("run 0190-aa took 3 ms"), "{clean}");
        assert!(
            clean.starts_with("login of [email] failed: password=[redacted]"),
            "{clean}"
        );
    }

    #[test]
    fn an_event_keeps_no_request_data_and_no_user_but_its_id() {
        let mut event = Event {
            message: Some("no account for bob@example.org".into()),
            ..Event::default()
        };
        event.request = Some(sentry::protocol::Request {
            url: "https://app.example/reset?token=abcdef".parse().ok(),
            data: Some("password=secret-pass".into()),
            cookies: Some("qs_session=abc".into()),
            query_string: Some("token=abcdef".into()),
            headers: BTreeMap::from([("Authorization".into(), "Bearer x".into())]),
            ..sentry::protocol::Request::default()
        });
        event.user = Some(sentry::protocol::User {
            id: Some("0190".into()),
            email: Some("bob@example.org".into()),
            ..sentry::protocol::User::default()
        });
        event.extra.insert("password".into(), "secret-pass".into());
        event.extra.insert("attempt".into(), 2.into());
        event
            .extra
            .insert("cause".into(), "no user ada@example.com".into());
        event.tags.insert("request_id".into(), "6f1c".into());
        event.tags.insert("session".into(), "abc".into());
        let clean = scrub(event);
        let text = serde_json::to_string(&clean).unwrap();
        for secret in [
            "bob@example.org",
            "ada@example.com",
            "secret-pass",
            "abcdef",
            "qs_session",
            "Bearer x",
        ] {
            assert!(!text.contains(secret), "{secret} left in {text}");
        }
        assert_eq!(clean.user.and_then(|u| u.id).as_deref(), Some("0190"));
        assert_eq!(
            clean.tags.get("request_id").map(String::as_str),
            Some("6f1c")
        );
        assert!(clean.extra.contains_key("attempt"));
        assert_eq!(clean.extra["cause"], "no user [email]");
    }
}
