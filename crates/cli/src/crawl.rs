//! `quickscale crawl`: proof from the outside. Signs in through the real login form (optional),
//! walks every same-origin link breadth-first and checks each page the way a careful visitor
//! would: the HTTP status, well-formed HTML with a title, every stylesheet, script and image
//! loading with the right content type, the front-end libraries the markup relies on, and no
//! template error text. Works against a local app or a deployed one.

mod html;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use serde_json::json;

use html::{AssetKind, AssetRef};

/// At most this many URLs that differ only in their query string (pages of a list, filters).
const MAX_QUERY_VARIANTS: usize = 5;

/// The front-end libraries QuickScale's layout uses, as their files name themselves.
const LIBRARIES: &[&str] = &["htmx", "alpine", "bulma"];

/// What `quickscale crawl` was asked to do.
#[derive(Debug)]
pub struct Options {
    pub url: String,
    pub login: Option<String>,
    pub password_env: Option<String>,
    pub admin: bool,
    pub max_pages: usize,
    pub json: Option<PathBuf>,
}

/// One fetched page (or redirect, or non-HTML resource reached by a link).
#[derive(Debug)]
struct PageReport {
    url: Url,
    from: Option<Url>,
    status: Option<u16>,
    ms: u128,
    content_type: String,
    location: Option<String>,
    title: Option<String>,
    problems: Vec<String>,
}

/// One stylesheet, script or image, fetched once however many pages use it.
#[derive(Debug, Clone)]
struct AssetReport {
    url: Url,
    kind: AssetKind,
    status: Option<u16>,
    ms: u128,
    content_type: String,
    bytes: usize,
    /// Why it is broken, if it is.
    problem: Option<String>,
    /// The front-end libraries named in its content (`htmx`, `alpine`, `bulma`).
    names: Vec<&'static str>,
}

#[derive(Debug, Default)]
struct Skipped {
    other_origin: HashSet<String>,
    not_followed: HashSet<String>,
    query_variants: usize,
    over_limit: usize,
}

struct Crawler {
    client: reqwest::Client,
    origin: Url,
    signed_in: bool,
    admin: bool,
    max_pages: usize,
    queue: VecDeque<(Url, Option<Url>)>,
    seen: HashSet<String>,
    variants: HashMap<String, usize>,
    pages: Vec<PageReport>,
    assets: HashMap<String, AssetReport>,
    asset_order: Vec<String>,
    skipped: Skipped,
    progress: Progress,
}

/// `quickscale crawl`.
pub fn run(options: Options) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(crawl(options))
}

async fn crawl(options: Options) -> anyhow::Result<ExitCode> {
    let start = Url::parse(&options.url)
        .or_else(|_| Url::parse(&format!("http://{}", options.url)))
        .with_context(|| format!("{} is not a URL (http://host:port)", options.url))?;
    if !matches!(start.scheme(), "http" | "https") || start.host().is_none() {
        bail!("{} is not an http:// or https:// URL", options.url);
    }
    if options.admin && options.login.is_none() {
        bail!("--admin needs --login EMAIL (an admin's email) and --password-env VAR");
    }
    if options.max_pages == 0 {
        bail!("--max-pages must be at least 1");
    }
    // reqwest is built without a default TLS provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("quickscale-crawl/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("creating the HTTP client")?;
    let origin = start.join("/").context("the site's root")?;
    let mut crawler = Crawler {
        client,
        origin,
        signed_in: false,
        admin: options.admin,
        max_pages: options.max_pages,
        queue: VecDeque::new(),
        seen: HashSet::new(),
        variants: HashMap::new(),
        pages: Vec::new(),
        assets: HashMap::new(),
        asset_order: Vec::new(),
        skipped: Skipped::default(),
        progress: Progress::new(),
    };

    let who = match &options.login {
        Some(email) => {
            let var = options
                .password_env
                .as_deref()
                .context("--login needs --password-env VAR: the variable holding the password")?;
            let password = std::env::var(var)
                .with_context(|| format!("the environment variable {var} is not set"))?;
            let landing = crawler.sign_in(email, &password).await?;
            eprintln!(
                "Signed in as {email}{}",
                if options.admin { " (admin)" } else { "" }
            );
            crawler.enqueue(&landing, None);
            if options.admin {
                let admin = crawler.origin.join("/admin")?;
                crawler.check_admin(&admin, email).await?;
                crawler.enqueue(&admin, None);
            }
            if options.admin {
                format!("admin {email}")
            } else {
                format!("user {email}")
            }
        }
        None => "a visitor".to_owned(),
    };
    crawler.enqueue(&start, None);
    // QuickScale's health check is linked from nowhere; a deployed app must answer it.
    crawler.enqueue(&crawler.origin.join("/health")?, None);
    eprintln!(
        "Crawling {} as {who}, up to {} pages…",
        crawler.origin, crawler.max_pages
    );
    let started = Instant::now();
    crawler.walk().await;
    crawler.progress.finish();
    let elapsed = started.elapsed();

    let failures = crawler.print_summary(elapsed);
    if let Some(path) = &options.json {
        let report = crawler.json(&who, elapsed, failures);
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("JSON report: {}", path.display());
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

impl Crawler {
    fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.origin.scheme()
            && url.host_str() == self.origin.host_str()
            && url.port_or_known_default() == self.origin.port_or_known_default()
    }

    fn is_login(url: &Url) -> bool {
        url.path().trim_end_matches('/') == "/login"
    }

    /// Queues a page unless it was seen, leaves the site, signs out or is out of bounds.
    fn enqueue(&mut self, url: &Url, from: Option<&Url>) {
        let mut url = url.clone();
        url.set_fragment(None);
        if !self.same_origin(&url) {
            // Other sites, and the offline Stripe stand-in on a port of its own.
            let mut shown = url.clone();
            shown.set_query(None);
            self.skipped.other_origin.insert(shown.to_string());
            return;
        }
        let path = url.path().to_owned();
        let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let not_followed = last == "logout"
            || last == "signout"
            || path.starts_with("/webhooks/")
            || (!self.admin && (path == "/admin" || path.starts_with("/admin/")));
        if not_followed {
            self.skipped.not_followed.insert(path);
            return;
        }
        let key = url.to_string();
        if self.seen.contains(&key) {
            return;
        }
        if url.query().is_some() {
            let count = self.variants.entry(path).or_default();
            if *count >= MAX_QUERY_VARIANTS {
                self.skipped.query_variants += 1;
                return;
            }
            *count += 1;
        }
        self.seen.insert(key);
        self.queue.push_back((url, from.cloned()));
    }

    /// GET /login, fill the form that has a password field, POST it with its hidden fields
    /// (the CSRF token). Returns where the app sends a signed-in user.
    async fn sign_in(&mut self, email: &str, password: &str) -> anyhow::Result<Url> {
        let login = self.origin.join("/login")?;
        let response = self
            .client
            .get(login.clone())
            .header(ACCEPT, "text/html")
            .send()
            .await
            .with_context(|| format!("cannot reach {login}"))?;
        let status = response.status();
        if !status.is_success() {
            bail!("GET {login} answered {status}: no login page to sign in with");
        }
        let body = response.text().await?;
        let form = LoginForm::find(&body)
            .with_context(|| format!("{login} has no form with a password field"))?;
        let action = login.join(&form.action)?;
        let mut fields = form.hidden;
        fields.push((form.email_field, email.to_owned()));
        fields.push((form.password_field, password.to_owned()));
        let response = self
            .client
            .post(action.clone())
            .form(&fields)
            .send()
            .await
            .with_context(|| format!("cannot reach {action}"))?;
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        match location {
            Some(location) if status.is_redirection() => {
                let landing = action.join(&location)?;
                if Self::is_login(&landing) {
                    bail!("signing in as {email} sent back to the login page ({location})");
                }
                self.signed_in = true;
                Ok(landing)
            }
            _ => {
                let said = alert_text(&body).unwrap_or_else(|| format!("HTTP {status}"));
                bail!("signing in as {email} failed: {said}")
            }
        }
    }

    async fn check_admin(&self, admin: &Url, email: &str) -> anyhow::Result<()> {
        let response = self.client.get(admin.clone()).send().await?;
        let status = response.status();
        if status != 200 {
            bail!("signed in, but {admin} answered {status}: is {email} an admin?");
        }
        Ok(())
    }

    async fn walk(&mut self) {
        while let Some((url, from)) = self.queue.pop_front() {
            if self.pages.len() >= self.max_pages {
                self.skipped.over_limit = self.queue.len() + 1;
                break;
            }
            let path = shown(&url, &self.origin);
            self.progress
                .update(self.pages.len() + 1, self.queue.len(), &path);
            let report = self.visit(url, from).await;
            self.progress.line(&report, &path);
            self.pages.push(report);
        }
    }

    async fn visit(&mut self, url: Url, from: Option<Url>) -> PageReport {
        let mut report = PageReport {
            url: url.clone(),
            from,
            status: None,
            ms: 0,
            content_type: String::new(),
            location: None,
            title: None,
            problems: Vec::new(),
        };
        let started = Instant::now();
        let response = self
            .client
            .get(url.clone())
            .header(
                ACCEPT,
                "text/html,application/xhtml+xml;q=0.9,application/json;q=0.8,*/*;q=0.5",
            )
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                report.ms = started.elapsed().as_millis();
                report
                    .problems
                    .push(format!("request failed: {}", causes(&error)));
                return report;
            }
        };
        let status = response.status();
        report.status = Some(status.as_u16());
        report.content_type = header(&response, CONTENT_TYPE);
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await;
        report.ms = started.elapsed().as_millis();
        let body = match body {
            Ok(body) => body,
            Err(error) => {
                report
                    .problems
                    .push(format!("reading the body failed: {}", causes(&error)));
                return report;
            }
        };

        if status.is_redirection() {
            let Some(location) = location else {
                report
                    .problems
                    .push(format!("{status} without a Location header"));
                return report;
            };
            match url.join(&location) {
                Ok(target) => {
                    if self.signed_in && Self::is_login(&target) {
                        report.problems.push(format!(
                            "redirected to the login page while signed in ({location}): the \
                             session was lost, or the page refuses this account"
                        ));
                    }
                    self.enqueue(&target, Some(&url));
                }
                Err(error) => report.problems.push(format!(
                    "a Location that is not a URL ({location}): {error}"
                )),
            }
            report.location = Some(location);
            return report;
        }
        if !status.is_success() {
            report.problems.push(match status.as_u16() {
                404 => "HTTP 404: a link to a page that does not exist".to_owned(),
                429 => "HTTP 429: rate limited".to_owned(),
                _ => format!("HTTP {status}"),
            });
            return report;
        }
        let is_html = report
            .content_type
            .to_ascii_lowercase()
            .contains("text/html");
        if !is_html {
            if body.is_empty() && status != 204 {
                report.problems.push("an empty response".to_owned());
            }
            return report;
        }
        let text = String::from_utf8_lossy(&body);
        self.check_html(&url, &text, &mut report).await;
        report
    }

    async fn check_html(&mut self, url: &Url, text: &str, report: &mut PageReport) {
        let analysis = html::analyze(text);
        report.problems.extend(analysis.problems.iter().cloned());
        report.title = analysis.title.clone();

        let mut loaded: Vec<AssetReport> = Vec::new();
        for AssetRef { kind, url: raw } in &analysis.assets {
            let Ok(asset_url) = url.join(raw) else {
                report
                    .problems
                    .push(format!("{} URL {raw} is not valid", kind.name()));
                continue;
            };
            if !self.same_origin(&asset_url) {
                continue;
            }
            let asset = self.asset(asset_url, *kind).await;
            if let Some(problem) = &asset.problem {
                report.problems.push(format!(
                    "{} {}: {problem}",
                    kind.name(),
                    shown(&asset.url, &self.origin)
                ));
            }
            loaded.push(asset);
        }
        // A library counts when its file is named after it and says what it is (a broken one
        // is reported with the assets).
        let library = |kind: AssetKind, name: &str| {
            loaded.iter().find(|a| {
                a.kind == kind
                    && a.url
                        .path()
                        .rsplit('/')
                        .next()
                        .is_some_and(|file| file.to_ascii_lowercase().contains(name))
                    && (a.problem.is_some() || a.names.contains(&name))
            })
        };
        if let Some(attribute) = &analysis.htmx_attribute
            && library(AssetKind::Script, "htmx").is_none()
        {
            report.problems.push(format!(
                "uses htmx (the {attribute} attribute) but loads no htmx script"
            ));
        }
        if let Some(attribute) = &analysis.alpine_attribute
            && library(AssetKind::Script, "alpine").is_none()
        {
            report.problems.push(format!(
                "uses Alpine (the {attribute} attribute) but loads no Alpine script"
            ));
        }
        if let Some(class) = &analysis.bulma_class
            && library(AssetKind::Stylesheet, "bulma").is_none()
        {
            report.problems.push(format!(
                "uses Bulma (the {class} class) but loads no Bulma stylesheet"
            ));
        }

        for link in &analysis.links {
            let lower = link.to_ascii_lowercase();
            if link.is_empty()
                || link.starts_with('#')
                || ["mailto:", "tel:", "javascript:", "data:"]
                    .iter()
                    .any(|s| lower.starts_with(s))
            {
                continue;
            }
            match url.join(link) {
                Ok(target) => self.enqueue(&target, Some(url)),
                Err(_) => report
                    .problems
                    .push(format!("a link that is not a URL: {link}")),
            }
        }
    }

    /// Fetches an asset once, then answers from memory.
    async fn asset(&mut self, url: Url, kind: AssetKind) -> AssetReport {
        let key = format!("{}|{url}", kind.name());
        if let Some(known) = self.assets.get(&key) {
            return known.clone();
        }
        let started = Instant::now();
        let mut report = AssetReport {
            url: url.clone(),
            kind,
            status: None,
            ms: 0,
            content_type: String::new(),
            bytes: 0,
            problem: None,
            names: Vec::new(),
        };
        match self.client.get(url).send().await {
            Err(error) => report.problem = Some(format!("request failed: {}", causes(&error))),
            Ok(response) => {
                let status = response.status();
                report.status = Some(status.as_u16());
                report.content_type = header(&response, CONTENT_TYPE);
                let body = response.bytes().await.unwrap_or_default();
                report.bytes = body.len();
                let content = String::from_utf8_lossy(&body).to_ascii_lowercase();
                report.names = LIBRARIES
                    .iter()
                    .copied()
                    .filter(|name| content.contains(name))
                    .collect();
                report.problem = if status != 200 {
                    Some(format!("HTTP {status}"))
                } else if !kind.accepts(&report.content_type) {
                    Some(format!(
                        "served as {}, not as {} {}",
                        if report.content_type.is_empty() {
                            "(no Content-Type)"
                        } else {
                            &report.content_type
                        },
                        if kind == AssetKind::Image { "an" } else { "a" },
                        kind.name()
                    ))
                } else if body.is_empty() {
                    Some("empty".to_owned())
                } else {
                    None
                };
            }
        }
        report.ms = started.elapsed().as_millis();
        self.assets.insert(key.clone(), report.clone());
        self.asset_order.push(key);
        report
    }

    /// Prints the table and the totals; returns how many pages and assets failed.
    fn print_summary(&self, elapsed: Duration) -> usize {
        let rows: Vec<(String, String, String)> = self
            .pages
            .iter()
            .map(|page| {
                let mut url = shown(&page.url, &self.origin);
                if let Some(location) = &page.location {
                    url = format!("{url} → {location}");
                }
                (
                    url,
                    page.status
                        .map_or_else(|| "—".to_owned(), |s| s.to_string()),
                    page.ms.to_string(),
                )
            })
            .collect();
        let width = rows
            .iter()
            .map(|r| r.0.chars().count())
            .max()
            .unwrap_or(3)
            .clamp(3, 70);
        println!();
        println!("{:<width$}  STATUS  {:>6}  PROBLEMS", "URL", "MS");
        for (page, (url, status, ms)) in self.pages.iter().zip(&rows) {
            let url = clip(url, width);
            let first = page.problems.first().map_or("ok", String::as_str);
            println!("{url:<width$}  {status:>6}  {ms:>6}  {first}");
            for problem in page.problems.iter().skip(1) {
                println!("{:<width$}  {:>6}  {:>6}  {problem}", "", "", "");
            }
        }
        let failed_pages = self.pages.iter().filter(|p| !p.problems.is_empty()).count();
        let broken_assets: Vec<&AssetReport> = self
            .asset_order
            .iter()
            .filter_map(|k| self.assets.get(k))
            .filter(|a| a.problem.is_some())
            .collect();
        let redirects = self.pages.iter().filter(|p| p.location.is_some()).count();
        let slowest = self.pages.iter().max_by_key(|p| p.ms);
        println!();
        println!(
            "{} ({}), {}, in {:.1} s{}",
            count(self.pages.len(), "page"),
            count(redirects, "redirect"),
            count(self.assets.len(), "asset"),
            elapsed.as_secs_f64(),
            slowest.map_or_else(String::new, |p| format!(
                "; slowest {} ms ({})",
                p.ms,
                shown(&p.url, &self.origin)
            ))
        );
        if !self.skipped.other_origin.is_empty() {
            let mut others: Vec<&String> = self.skipped.other_origin.iter().collect();
            others.sort();
            println!(
                "Not followed, other origins: {}",
                others
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !self.skipped.not_followed.is_empty() {
            let mut paths: Vec<&String> = self.skipped.not_followed.iter().collect();
            paths.sort();
            println!(
                "Not followed, by rule (sign-out, webhooks{}): {}",
                if self.admin { "" } else { ", admin pages" },
                paths
                    .iter()
                    .take(10)
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if self.skipped.query_variants > 0 {
            println!(
                "Not followed: {} more query-string variants of pages already visited \
                 ({MAX_QUERY_VARIANTS} per path)",
                self.skipped.query_variants
            );
        }
        if self.skipped.over_limit > 0 {
            println!(
                "Stopped at --max-pages {}: {} not visited",
                self.max_pages,
                count(self.skipped.over_limit, "queued page")
            );
        }
        for asset in &broken_assets {
            println!(
                "Broken {} {}: {}",
                asset.kind.name(),
                shown(&asset.url, &self.origin),
                asset.problem.as_deref().unwrap_or_default()
            );
        }
        let failures = failed_pages + broken_assets.len();
        if self.pages.is_empty() {
            println!("✗ no page was crawled");
            return 1;
        }
        if failures == 0 {
            println!("✓ no problems found");
        } else {
            println!(
                "✗ {failed_pages} of {} with problems{}",
                count(self.pages.len(), "page"),
                if broken_assets.is_empty() {
                    String::new()
                } else {
                    format!(", {} broken", count(broken_assets.len(), "asset"))
                }
            );
        }
        failures
    }

    fn json(&self, who: &str, elapsed: Duration, failures: usize) -> serde_json::Value {
        let pages: Vec<serde_json::Value> = self
            .pages
            .iter()
            .map(|p| {
                json!({
                    "url": p.url.as_str(),
                    "from": p.from.as_ref().map(Url::as_str),
                    "status": p.status,
                    "ms": p.ms,
                    "content_type": p.content_type,
                    "location": p.location,
                    "title": p.title,
                    "ok": p.problems.is_empty(),
                    "problems": p.problems,
                })
            })
            .collect();
        let assets: Vec<serde_json::Value> = self
            .asset_order
            .iter()
            .filter_map(|k| self.assets.get(k))
            .map(|a| {
                json!({
                    "url": a.url.as_str(),
                    "kind": a.kind.name(),
                    "status": a.status,
                    "ms": a.ms,
                    "content_type": a.content_type,
                    "bytes": a.bytes,
                    "ok": a.problem.is_none(),
                    "problem": a.problem,
                })
            })
            .collect();
        let mut other: Vec<&String> = self.skipped.other_origin.iter().collect();
        other.sort();
        let mut not_followed: Vec<&String> = self.skipped.not_followed.iter().collect();
        not_followed.sort();
        json!({
            "origin": self.origin.as_str(),
            "as": who,
            "ok": failures == 0 && !self.pages.is_empty(),
            "failures": failures,
            "elapsed_ms": elapsed.as_millis(),
            "pages": pages,
            "assets": assets,
            "skipped": {
                "other_origins": other,
                "not_followed": not_followed,
                "query_variants": self.skipped.query_variants,
                "over_limit": self.skipped.over_limit,
            },
        })
    }
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// `1 page`, `2 pages`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// An error and its causes, on one line: reqwest's own message says only which request failed.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A URL as shown in the table: its path and query when it is on the crawled site.
fn shown(url: &Url, origin: &Url) -> String {
    if url.origin() == origin.origin() {
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    } else {
        url.to_string()
    }
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// The sign-in form of a login page: where it posts, its hidden fields, and the names of its
/// email and password fields.
#[derive(Debug)]
struct LoginForm {
    action: String,
    hidden: Vec<(String, String)>,
    email_field: String,
    password_field: String,
}

impl LoginForm {
    fn find(page: &str) -> Option<LoginForm> {
        let lower = page.to_ascii_lowercase();
        let mut from = 0;
        while let Some(start) = lower[from..].find("<form").map(|i| i + from) {
            let end = lower[start..]
                .find("</form")
                .map_or(page.len(), |i| i + start);
            let form = &page[start..end];
            from = end;
            let tag = &form[..form.find('>').unwrap_or(form.len())];
            let action = attribute(tag, "action").unwrap_or_default();
            let mut hidden = Vec::new();
            let mut email_field = None;
            let mut password_field = None;
            let form_lower = form.to_ascii_lowercase();
            let mut at = 0;
            while let Some(i) = form_lower[at..].find("<input").map(|i| i + at) {
                let close = form[i..].find('>').map_or(form.len(), |e| e + i);
                let input = &form[i..close];
                at = close;
                let Some(name) = attribute(input, "name") else {
                    continue;
                };
                let kind = attribute(input, "type")
                    .unwrap_or_else(|| "text".to_owned())
                    .to_ascii_lowercase();
                match kind.as_str() {
                    "hidden" => hidden.push((name, attribute(input, "value").unwrap_or_default())),
                    "password" if password_field.is_none() => password_field = Some(name),
                    "email" | "text" if email_field.is_none() => email_field = Some(name),
                    _ => {}
                }
            }
            if let (Some(password_field), Some(email_field)) = (password_field, email_field) {
                return Some(LoginForm {
                    action,
                    hidden,
                    email_field,
                    password_field,
                });
            }
        }
        None
    }
}

/// The value of `name="…"` in a tag, entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| i + from) {
        from = i + name.len();
        let before_ok = i > 0 && lower.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_at = tag.len() - rest.len() + 1;
        let value = tag[value_at..].trim_start();
        let (quote, body) = match value.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &value[1..]),
            _ => (None, value),
        };
        let end = match quote {
            Some(q) => body.find(q).unwrap_or(body.len()),
            None => body
                .find(|c: char| c.is_ascii_whitespace() || c == '>')
                .unwrap_or(body.len()),
        };
        return Some(html::decode_entities(&body[..end]));
    }
    None
}

/// The text of the first `role="alert"` element (the login page's error).
fn alert_text(page: &str) -> Option<String> {
    let at = page.find("role=\"alert\"")?;
    let start = at + page[at..].find('>')? + 1;
    let end = start + page[start..].find('<')?;
    let text = html::decode_entities(page[start..end].trim());
    (!text.is_empty()).then_some(text)
}

/// Progress on stderr: one updating line on a terminal, one line per page otherwise.
struct Progress {
    terminal: bool,
}

impl Progress {
    fn new() -> Self {
        Progress {
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn update(&self, n: usize, queued: usize, path: &str) {
        if self.terminal {
            let path = clip(path, 60);
            eprint!("\r\x1b[2K  [{n} visited, {queued} queued] {path}");
            let _ = std::io::stderr().flush();
        }
    }

    fn line(&self, page: &PageReport, path: &str) {
        if !self.terminal {
            eprintln!(
                "  {} {} {} ms {}",
                if page.problems.is_empty() {
                    "✓"
                } else {
                    "✗"
                },
                page.status
                    .map_or_else(|| "—".to_owned(), |s| s.to_string()),
                page.ms,
                path
            );
        }
    }

    fn finish(&self) {
        if self.terminal {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_login_form_and_its_hidden_fields() {
        let page = r#"<form method="get" action="/search"><input name="q"></form>
            <form method="post" action="/login" novalidate>
              <input type="hidden" name="csrf_token" value="a&amp;b">
              <input type="hidden" name="next" value="">
              <input class="input" id="email" name="email" type="email" value="">
              <input class="input" id="password" name="password" type="password" required>
            </form>"#;
        let form = LoginForm::find(page).unwrap();
        assert_eq!(form.action, "/login");
        assert_eq!(
            form.hidden,
            vec![
                ("csrf_token".to_owned(), "a&b".to_owned()),
                ("next".to_owned(), String::new())
            ]
        );
        assert_eq!(form.email_field, "email");
        assert_eq!(form.password_field, "password");
        assert!(LoginForm::find("<form><input name=q></form>").is_none());
    }

    #[test]
    fn reads_attributes() {
        let tag = r#"<input data-name="x" name='csrf' value=abc>"#;
        assert_eq!(attribute(tag, "name").as_deref(), Some("csrf"));
        assert_eq!(attribute(tag, "value").as_deref(), Some("abc"));
        assert_eq!(attribute(tag, "type"), None);
    }

    #[test]
    fn reads_the_alert() {
        let page = r#"<div class="notification" role="alert">Wrong email &amp; password.</div>"#;
        assert_eq!(alert_text(page).as_deref(), Some("Wrong email & password."));
    }

    fn crawler(admin: bool) -> Crawler {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Crawler {
            client: reqwest::Client::new(),
            origin: Url::parse("http://127.0.0.1:8000/").unwrap(),
            signed_in: false,
            admin,
            max_pages: 10,
            queue: VecDeque::new(),
            seen: HashSet::new(),
            variants: HashMap::new(),
            pages: Vec::new(),
            assets: HashMap::new(),
            asset_order: Vec::new(),
            skipped: Skipped::default(),
            progress: Progress { terminal: false },
        }
    }

    #[test]
    fn follows_only_safe_same_origin_links() {
        let mut c = crawler(false);
        let base = Url::parse("http://127.0.0.1:8000/").unwrap();
        for link in [
            "/about",
            "/about#team",
            "/logout",
            "/admin/users",
            "http://127.0.0.1:9999/pay/cs_1",
            "https://example.com/",
            "/webhooks/stripe",
        ] {
            c.enqueue(&base.join(link).unwrap(), Some(&base));
        }
        let queued: Vec<String> = c.queue.iter().map(|(u, _)| u.path().to_owned()).collect();
        assert_eq!(queued, vec!["/about"]);
        assert!(
            c.skipped
                .other_origin
                .contains("http://127.0.0.1:9999/pay/cs_1")
        );
        assert!(c.skipped.not_followed.contains("/logout"));
        assert!(c.skipped.not_followed.contains("/admin/users"));

        let mut c = crawler(true);
        c.enqueue(&base.join("/admin/users").unwrap(), None);
        for page in 0..10 {
            c.enqueue(
                &base.join(&format!("/admin/audit?page={page}")).unwrap(),
                None,
            );
        }
        assert_eq!(c.queue.len(), 1 + MAX_QUERY_VARIANTS);
        assert_eq!(c.skipped.query_variants, 10 - MAX_QUERY_VARIANTS);
    }
}
