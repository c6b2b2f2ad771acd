//! An in-process client for the router: keeps the session cookie and reads CSRF tokens from
//! pages, like a browser would.

#![allow(dead_code)]

pub mod api;
pub mod json_logs;
pub mod live;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use quickscale_adapters::mail::MemoryMailer;
use quickscale_adapters::memory::PlainTextHasher;
use quickscale_app_web::{App, AppState, Config};
use tower::ServiceExt;

pub const SECRET: &str = "test-secret-key-test-secret-key-0123456789";

/// The app on in-memory stores, with instant hashing and a mailer that keeps messages.
pub struct TestApp {
    /// The app's router, each request coming from 127.0.0.1.
    pub router: Router,
    /// The app's router as `build` returns it (for serving on a real socket).
    unlayered: Router,
    pub state: AppState,
    pub mailer: Arc<MemoryMailer>,
    pub dir: tempfile::TempDir,
}

/// The user with this email (panics when there is none).
pub async fn user(state: &AppState, email: &str) -> quickscale_domain_identity::User {
    state
        .users()
        .by_email(&email.parse().expect("a valid email"))
        .await
        .expect("the user store answers")
        .unwrap_or_else(|| panic!("no user {email}"))
}

/// The credit balance of the user with this email, now.
pub async fn balance(state: &AppState, email: &str) -> quickscale_domain_credits::Credits {
    let user = user(state, email).await;
    state
        .credits()
        .balance(
            quickscale_domain_credits::AccountId::new(user.id.as_uuid()),
            state.clock().now(),
        )
        .await
        .expect("the credit store answers")
        .total
}

/// How many times the webhook inbox has finished processing an event so far (each processing
/// ends processed or failed, and counts one attempt); 0 when the event has not arrived.
pub async fn inbox_attempts(state: &AppState, event_id: &str) -> u32 {
    state
        .billing()
        .expect("billing is on")
        .billing
        .repository()
        .event(event_id)
        .await
        .expect("the inbox answers")
        .map_or(0, |stored| stored.attempts)
}

/// Waits until the webhook inbox has finished processing `event_id` `attempts` times in all
/// (see [`inbox_attempts`]) and returns it as stored. Processing runs in the background after
/// the webhook is answered: a test that asserts "nothing changed" after a delivery waits for
/// this, not for a while, so that a slow second grant cannot land after the check.
pub async fn wait_for_inbox(
    state: &AppState,
    event_id: &str,
    attempts: u32,
) -> quickscale_domain_billing::InboxEvent {
    let repo = state
        .billing()
        .expect("billing is on")
        .billing
        .repository()
        .clone();
    for _ in 0..1000 {
        if let Some(stored) = repo.event(event_id).await.expect("the inbox answers")
            && stored.attempts >= attempts
        {
            return stored;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!(
        "the inbox did not finish processing {event_id} {attempts} time(s): {:?}",
        repo.event(event_id).await
    );
}

impl TestApp {
    #[allow(dead_code)] // not every test binary looks users up
    pub async fn user(&self, email: &str) -> quickscale_domain_identity::User {
        user(&self.state, email).await
    }

    /// POSTs a payment processor event to `/webhooks/stripe`, signed with `secret` at `at`.
    #[allow(dead_code)] // only the billing test binaries send webhooks
    pub async fn webhook(
        &self,
        event: &quickscale_domain_billing::WebhookEvent,
        secret: &str,
        at: i64,
    ) -> StatusCode {
        let request = Request::builder()
            .method("POST")
            .uri("/webhooks/stripe")
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                "Stripe-Signature",
                quickscale_domain_billing::sign(event.payload.as_bytes(), secret, at),
            )
            .body(Body::from(event.payload.clone()))
            .unwrap();
        self.router.clone().oneshot(request).await.unwrap().status()
    }

    /// The router as `build` returns it, to serve with `quickscale_app_web::serve_router`.
    #[allow(dead_code)] // not every test binary serves on a socket
    pub fn unlayered_router(&self) -> Router {
        self.unlayered.clone()
    }

    pub async fn new() -> Self {
        Self::with(&[]).await
    }

    pub async fn with(extra: &[(&str, &str)]) -> Self {
        Self::with_app(App::new("Test App"), extra).await
    }

    pub async fn with_app(app: App, extra: &[(&str, &str)]) -> Self {
        Self::with_files(app, &[], extra).await
    }

    /// An app whose project folder holds `files` (path, text) before it starts: template and
    /// static file overrides.
    pub async fn with_files(app: App, files: &[(&str, &str)], extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let mut pairs = vec![
            ("SECRET_KEY", SECRET),
            ("DATABASE_URL", "memory"),
            ("ADMIN_PASSWORD", "admin-password-1"),
            // Workers look for due jobs often enough that tests wait little for emails, and
            // seldom enough not to add noise to the timing comparisons.
            ("JOBS_POLL_MS", "100"),
        ];
        pairs.extend_from_slice(extra);
        let config = Config::from_pairs(dir.path(), "Test App", &pairs).unwrap();
        let mailer = Arc::new(MemoryMailer::default());
        let built = app
            .with_hasher(Arc::new(PlainTextHasher))
            .with_mailer(mailer.clone())
            .build(config)
            .await
            .unwrap();
        quickscale_app_web::onboarding::ensure_admin(&built.state)
            .await
            .unwrap();
        // The job workers, as `serve` runs them (email delivery is a job); they stop with the
        // test's runtime. `WORKERS=false`: web only, as `serve` does (another process works).
        if built.state.config().jobs.workers {
            tokio::spawn(quickscale_app_web::run_workers(
                built.state.clone(),
                tokio_util::sync::CancellationToken::new(),
            ));
        }
        TestApp {
            // Requests come from this machine, as from a browser on the developer's laptop.
            router: built.router.clone().layer(axum::middleware::map_request(
                |mut request: axum::extract::Request| async move {
                    request.extensions_mut().insert(axum::extract::ConnectInfo(
                        std::net::SocketAddr::from(([127, 0, 0, 1], 50_000)),
                    ));
                    request
                },
            )),
            unlayered: built.router,
            state: built.state,
            mailer,
            dir,
        }
    }

    /// The messages the mailer delivered, once at least `count` of them arrived (delivery
    /// happens in the background, after the outbox stored them).
    pub async fn mail(&self, count: usize) -> Vec<quickscale_domain_kernel::EmailMessage> {
        for _ in 0..200 {
            let sent = self.mailer.sent();
            if sent.len() >= count {
                return sent;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!(
            "only {} of {count} emails were delivered",
            self.mailer.sent().len()
        );
    }

    /// Waits for a delivered email that matches.
    pub async fn mail_matching(
        &self,
        wanted: impl Fn(&quickscale_domain_kernel::EmailMessage) -> bool,
    ) -> quickscale_domain_kernel::EmailMessage {
        for _ in 0..200 {
            if let Some(found) = self.mailer.sent().into_iter().find(|m| wanted(m)) {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!(
            "no matching email among {:?}",
            self.mailer
                .sent()
                .iter()
                .map(|m| &m.subject)
                .collect::<Vec<_>>()
        );
    }

    /// The link in the last email sent to `to` whose path starts with `path`.
    pub async fn link_to(&self, to: &str, path: &str) -> String {
        for _ in 0..200 {
            let found = self
                .mailer
                .sent()
                .iter()
                .rev()
                .filter(|m| m.to == to)
                .find_map(|m| {
                    let start = m.text.find(&format!("http://127.0.0.1:8000{path}"))?;
                    let link = m.text[start..].split_whitespace().next()?;
                    Some(link.trim_start_matches("http://127.0.0.1:8000").to_owned())
                });
            if let Some(link) = found {
                return link;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no email to {to} with a link to {path}");
    }

    pub fn browser(&self) -> Browser {
        Browser {
            router: self.router.clone(),
            cookie: None,
            csrf_cookie: None,
            csrf: None,
            forwarded_for: None,
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The text of the element with this id as a reader sees it: tags dropped, spaces
    /// collapsed (`<p id="x">100 <span>credits</span></p>` reads "100 credits").
    pub fn text_of(&self, id: &str) -> Option<String> {
        let at = self.body.find(&format!("id=\"{id}\""))?;
        let open = self.body[..at].rfind('<')? + 1;
        let tag: String = self.body[open..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let start = self.body[at..].find('>')? + at + 1;
        let end = self.body[start..].find(&format!("</{tag}>"))? + start;
        let mut text = String::new();
        let mut in_tag = false;
        for c in self.body[start..end].chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// The balance the dashboard shows: "100 credits available".
    pub fn balance(&self) -> Option<String> {
        self.text_of("balance-total")
    }

    /// The value of the first `<input name="NAME" ... value="...">`.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        let start = self.body.find(&marker)?;
        let tag_end = self.body[start..].find('>')? + start;
        let tag = &self.body[start..tag_end];
        let value_at = tag.find("value=\"")? + 7;
        let value_end = tag[value_at..].find('"')? + value_at;
        Some(tag[value_at..value_end].to_owned())
    }
}

/// A browser: the session cookie, the visitor's CSRF cookie, the last CSRF token seen.
pub struct Browser {
    router: Router,
    /// The session cookie (`qs_session=...`).
    pub cookie: Option<String>,
    /// The visitor's CSRF cookie (`qs_csrf=...`).
    pub csrf_cookie: Option<String>,
    pub csrf: Option<String>,
    /// Sent as `X-Forwarded-For`, as a reverse proxy would.
    pub forwarded_for: Option<String>,
}

impl Browser {
    async fn send(&mut self, request: Request<Body>) -> Page {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            let cookie = value.to_str().unwrap();
            let pair = cookie.split(';').next().unwrap().to_owned();
            if pair.starts_with("qs_csrf=") {
                self.csrf_cookie = Some(pair);
            } else if pair.ends_with('=') || cookie.contains("Max-Age=0") {
                self.cookie = None;
            } else {
                self.cookie = Some(pair);
            }
        }
        let body = String::from_utf8(
            to_bytes(response.into_body(), 10 << 20)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        let page = Page {
            status,
            headers,
            body,
        };
        if let Some(token) = page.input_value("csrf_token").filter(|t| !t.is_empty()) {
            self.csrf = Some(token);
        }
        page
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost");
        let cookies: Vec<&str> = [&self.cookie, &self.csrf_cookie]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !cookies.is_empty() {
            builder = builder.header(header::COOKIE, cookies.join("; "));
        }
        if let Some(address) = &self.forwarded_for {
            builder = builder.header("x-forwarded-for", address);
        }
        builder
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.request("GET", path).body(Body::empty()).unwrap();
        self.send(request).await
    }

    pub async fn get_htmx(&mut self, path: &str) -> Page {
        let request = self
            .request("GET", path)
            .header("HX-Request", "true")
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// Posts a form with the last CSRF token seen (like submitting the form on the page).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        let token = self.csrf.clone().unwrap_or_default();
        fields.push(("csrf_token", &token));
        self.post_raw(path, &fields, false).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)], htmx: bool) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let mut request = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if htmx {
            request = request.header("HX-Request", "true");
            if let Some(token) = &self.csrf {
                request = request.header("X-CSRF-Token", token);
            }
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Posts a multipart form (a file upload) with the CSRF token in the query string, as the
    /// upload form does without JavaScript.
    pub async fn post_file(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Page {
        let boundary = "qs-test-boundary-7f3a";
        let mut body: Vec<u8> = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
        }
        let (filename, content_type, bytes) = file;
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"input\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let token = self.csrf.clone().unwrap_or_default();
        let request = self
            .request("POST", &format!("{path}?csrf_token={token}"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Registers and lands on the dashboard.
    pub async fn register(&mut self, email: &str, password: &str) -> Page {
        self.get("/register").await;
        let page = self
            .post(
                "/register",
                &[
                    ("email", email),
                    ("display_name", ""),
                    ("password", password),
                    ("password_confirmation", password),
                ],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "registration failed: {}",
            page.body
        );
        self.get("/dashboard").await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Page {
        self.get("/login").await;
        self.post(
            "/login",
            &[
                ("email", email),
                ("password", password),
                ("next", "/dashboard"),
            ],
        )
        .await
    }
}

impl TestApp {
    /// A browser whose requests come from `address` instead of 127.0.0.1: per-client limits
    /// (sign-in attempts) count it apart from every other browser.
    pub fn browser_at(&self, address: [u8; 4]) -> Browser {
        Browser {
            router: self.unlayered.clone().layer(axum::middleware::map_request(
                move |mut request: axum::extract::Request| async move {
                    request.extensions_mut().insert(axum::extract::ConnectInfo(
                        std::net::SocketAddr::from((address, 50_000)),
                    ));
                    request
                },
            )),
            cookie: None,
            csrf_cookie: None,
            csrf: None,
            forwarded_for: None,
        }
    }
}

/// Text as an HTML attribute holds it, unescaped (`&#x2F;dashboard` reads `/dashboard`).
pub fn unescape_html(text: &str) -> String {
    text.replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
