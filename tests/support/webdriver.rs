//! Just enough of the W3C WebDriver protocol to drive headless Chromium through chromedriver:
//! sessions, navigation, elements, typing, clicking, scripts and screenshots. It is plain JSON
//! over HTTP, sent with the reqwest the workspace already builds, so the browser tests add no
//! dependency (fantoccini and thirtyfour would add dozens of crates for the same calls).
//!
//! Chromium and chromedriver come from the system (Debian's `chromium` and `chromium-driver`).
//! When they are missing the tests skip (and the skip is recorded), or fail when
//! `QS_REQUIRE_BROWSER=1`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use quickscale_adapters::testing::require::{Requirement, skip};
use serde_json::{Value, json};

use super::{Running, free_port, http_client, spawn};

/// The key W3C WebDriver uses for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long to wait for something to appear on a page.
pub const WAIT: Duration = Duration::from_secs(20);

/// How often to look again while waiting.
pub const POLL: Duration = Duration::from_millis(50);

/// The installed browser, if any.
#[derive(Debug, Clone)]
pub struct Browser {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

fn which(program: &str) -> Option<PathBuf> {
    let output = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
}

impl Browser {
    /// Chromium and chromedriver from the PATH. Without them: `None` and a recorded skip, or a
    /// failure when `QS_REQUIRE_BROWSER=1`.
    pub fn find(test: &str) -> Option<Browser> {
        let chromium = which("chromium").or_else(|| which("chromium-browser"));
        let chromedriver = which("chromedriver");
        match (chromium, chromedriver) {
            (Some(chromium), Some(chromedriver)) => Some(Browser {
                chromium,
                chromedriver,
            }),
            _ => {
                skip(
                    Requirement::Browser,
                    &format!(
                        "not on the PATH for the {test} scenario (Debian: apt-get install \
                         chromium chromium-driver)"
                    ),
                );
                None
            }
        }
    }
}

/// A chromedriver process, stopped (with the browsers it started) when dropped.
#[derive(Debug)]
pub struct Driver {
    /// Kept for its guard: dropping it ends chromedriver and its browsers.
    _process: Running,
    base: String,
    http: reqwest::Client,
    browser: Browser,
    logs: PathBuf,
}

impl Driver {
    pub async fn start(browser: &Browser, logs: &Path) -> Driver {
        std::fs::create_dir_all(logs).unwrap();
        let port = free_port();
        let mut command = Command::new(&browser.chromedriver);
        command.arg(format!("--port={port}"));
        let mut process = spawn(command, logs.join("chromedriver.log"));
        let base = format!("http://127.0.0.1:{port}");
        let http = http_client(reqwest::Client::builder().timeout(Duration::from_secs(120)));
        let started = Instant::now();
        loop {
            if let Ok(response) = http.get(format!("{base}/status")).send().await
                && let Ok(status) = response.json::<Value>().await
                && status["value"]["ready"] == true
            {
                break;
            }
            if let Some(status) = process.child.try_wait().unwrap() {
                panic!("chromedriver exited with {status}:\n{}", process.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start:\n{}",
                process.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Driver {
            _process: process,
            base,
            http,
            browser: browser.clone(),
            logs: logs.to_path_buf(),
        }
    }

    /// A new browser window with its own fresh profile.
    pub async fn session(&self, options: &SessionOptions) -> Session {
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={},{}", options.width, options.height),
        ];
        let mut chrome = json!({
            "binary": self.browser.chromium,
            "prefs": {},
        });
        if !options.javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
            chrome["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        if options.mobile {
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": { "width": options.width, "height": options.height, "pixelRatio": 2.0, "touch": true },
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36",
            });
        }
        chrome["args"] = json!(args);
        let body = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": chrome,
                    "timeouts": { "pageLoad": 60_000, "script": 30_000, "implicit": 0 },
                    "goog:loggingPrefs": { "browser": "ALL" },
                }
            }
        });
        let response = self
            .http
            .post(format!("{}/session", self.base))
            .json(&body)
            .send()
            .await
            .expect("chromedriver answers");
        let value: Value = response.json().await.unwrap();
        let id = value["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| {
                panic!(
                    "no session: {value}\n{}",
                    std::fs::read_to_string(self.logs.join("chromedriver.log")).unwrap_or_default()
                )
            })
            .to_owned();
        let screenshots = options.screenshots.clone();
        std::fs::create_dir_all(&screenshots).unwrap();
        // Start from a clean folder: the numbering is the order of the steps.
        for entry in std::fs::read_dir(&screenshots).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "png") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Session {
            http: self.http.clone(),
            driver: self.base.clone(),
            url: format!("{}/session/{id}", self.base),
            screenshots,
            step: 0,
            _profile: profile,
            closed: false,
        }
    }
}

/// The WebDriver codes of the keys a keyboard-only user presses besides characters.
pub mod keys {
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const SHIFT: &str = "\u{E008}";
    pub const SPACE: &str = "\u{E00D}";
}

/// How a browser window looks and behaves.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub width: u32,
    pub height: u32,
    /// A phone: touch, a mobile user agent, the viewport exactly `width`×`height`.
    pub mobile: bool,
    pub javascript: bool,
    /// Where this session's screenshots go.
    pub screenshots: PathBuf,
}

impl SessionOptions {
    pub fn desktop(screenshots: PathBuf) -> Self {
        SessionOptions {
            width: 1280,
            height: 900,
            mobile: false,
            javascript: true,
            screenshots,
        }
    }
}

/// One browser window. Closed when dropped.
#[derive(Debug)]
pub struct Session {
    http: reqwest::Client,
    driver: String,
    url: String,
    screenshots: PathBuf,
    step: usize,
    _profile: tempfile::TempDir,
    closed: bool,
}

/// An element on the page, as WebDriver knows it.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Session {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let request = self
            .http
            .request(method.clone(), format!("{}{path}", self.url));
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let value: Value = response.json().await.unwrap();
        value["value"].clone()
    }

    async fn checked(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let value = self.call(method.clone(), path, body).await;
        if let Some(error) = value.get("error").and_then(Value::as_str) {
            panic!(
                "{method} {path}: {error}: {}",
                value["message"].as_str().unwrap_or_default()
            );
        }
        value
    }

    pub async fn goto(&self, url: &str) {
        self.checked(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.checked(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn title(&self) -> String {
        self.checked(reqwest::Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's HTML as the browser has it now.
    pub async fn source(&self) -> String {
        self.checked(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching a CSS selector, if there is one now.
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        value[ELEMENT].as_str().map(|id| Element(id.to_owned()))
    }

    /// Waits up to [`WAIT`] for an element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Some(element) = self.try_find(css).await {
                return element;
            }
            if started.elapsed() > WAIT {
                self.fail(&format!("no element {css} within {WAIT:?}"))
                    .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits up to [`WAIT`] for the text of the first element matching `css` to contain
    /// `expected`; returns the text.
    pub async fn wait_text(&self, css: &str, expected: &str) -> String {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            if let Some(element) = self.try_find(css).await {
                last = self.text_of(&element).await;
                if last.contains(expected) {
                    return last;
                }
            }
            if started.elapsed() > WAIT {
                self.fail(&format!(
                    "{css} did not show {expected:?} within {WAIT:?} (it shows {last:?})"
                ))
                .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the address bar's path (and query) starts with `path`.
    pub async fn wait_path(&self, path: &str) -> String {
        let started = Instant::now();
        loop {
            let url = self.current_url().await;
            let here = url
                .split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
                .unwrap_or_default();
            if here.starts_with(path) {
                return url;
            }
            if started.elapsed() > WAIT {
                self.fail(&format!("still on {url}, expected {path}")).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a screenshot, then panics with the page's address and text.
    pub async fn fail(&self, why: &str) -> ! {
        let shot = self.screenshots.join("FAILED.png");
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        if let Some(data) = png.as_str() {
            let _ = std::fs::write(&shot, base64_decode(data));
        }
        let url = self.current_url().await;
        let text = match self.try_find("body").await {
            Some(body) => self.text_of(&body).await,
            None => String::new(),
        };
        let console = self.console().await.join("\n");
        panic!(
            "{why}\nat {url} (screenshot {})\npage text:\n{text}\nbrowser console:\n{console}",
            shot.display()
        );
    }

    pub async fn text_of(&self, element: &Element) -> String {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{}/text", element.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The visible text of the first element matching `css` (waiting for it).
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.text_of(&element).await
    }

    pub async fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        self.checked(
            reqwest::Method::GET,
            &format!("/element/{}/attribute/{name}", element.0),
            None,
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    pub async fn displayed(&self, element: &Element) -> bool {
        self.checked(
            reqwest::Method::GET,
            &format!("/element/{}/displayed", element.0),
            None,
        )
        .await
            == true
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.click_element(&element).await;
    }

    pub async fn click_element(&self, element: &Element) {
        self.checked(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .await;
    }

    /// Clicks the first element matching `css` on a page that replaces parts of itself while it
    /// is looked at (an HTMX poll): when the element found was swapped out before the click
    /// landed, finds it again.
    pub async fn click_live(&self, css: &str) {
        let started = Instant::now();
        loop {
            let element = self.find(css).await;
            let value = self
                .call(
                    reqwest::Method::POST,
                    &format!("/element/{}/click", element.0),
                    Some(json!({})),
                )
                .await;
            match value.get("error").and_then(Value::as_str) {
                None => return,
                Some("stale element reference") if started.elapsed() < WAIT => {}
                Some(error) => self.fail(&format!("clicking {css}: {error}")).await,
            }
        }
    }

    /// Clears a field and types `text` into it, key by key.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.checked(
            reqwest::Method::POST,
            &format!("/element/{}/clear", element.0),
            Some(json!({})),
        )
        .await;
        self.checked(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Runs a script in the page (only with JavaScript on).
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.checked(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// The browser console's messages since the last call (CSP violations, script errors).
    pub async fn console(&self) -> Vec<String> {
        let value = self
            .call(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({ "type": "browser" })),
            )
            .await;
        value
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {}",
                            e["level"].as_str().unwrap_or_default(),
                            e["message"].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs a Chrome DevTools Protocol command.
    pub async fn devtools(&self, command: &str, params: Value) -> Value {
        self.checked(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({ "cmd": command, "params": params })),
        )
        .await
    }

    /// Lays the page out for a viewport of `width`×`height` CSS pixels, through DevTools, without
    /// reloading it; `mobile` also honours the page's viewport meta tag, as a phone does.
    pub async fn set_viewport(&self, width: u32, height: u32, mobile: bool) {
        self.devtools(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        )
        .await;
    }

    /// Presses keys on whatever has the focus, as a keyboard does: each entry of `keys` is one
    /// key ([`keys`] names the special ones), pressed and released in turn; `shift` holds Shift
    /// down around them all.
    pub async fn press(&self, keys: &[&str], shift: bool) {
        let mut actions = Vec::new();
        if shift {
            actions.push(json!({ "type": "keyDown", "value": keys::SHIFT }));
        }
        for key in keys {
            actions.push(json!({ "type": "keyDown", "value": key }));
            actions.push(json!({ "type": "keyUp", "value": key }));
        }
        if shift {
            actions.push(json!({ "type": "keyUp", "value": keys::SHIFT }));
        }
        self.checked(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .await;
        self.call(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Types `text` into whatever has the focus, key by key.
    pub async fn type_keys(&self, text: &str) {
        let keys: Vec<String> = text.chars().map(String::from).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.press(&keys, false).await;
    }

    /// Saves the whole page (up to 3,000 CSS pixels high) as `NN-name.png` in the session's
    /// folder, through DevTools; returns the file.
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        self.step += 1;
        let file = self
            .screenshots
            .join(format!("{:02}-{name}.png", self.step));
        let metrics = self.devtools("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let (width, height) = (
            size["width"].as_f64().unwrap_or(1280.0),
            size["height"].as_f64().unwrap_or(900.0).min(3000.0),
        );
        let shot = self
            .devtools(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 },
                }),
            )
            .await;
        let png = base64_decode(shot["data"].as_str().expect("base64 PNG"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(&file, png).unwrap();
        file
    }

    /// Ends the session (the browser quits).
    pub async fn close(mut self) {
        self.closed = true;
        let _ = self.http.delete(self.url.clone()).send().await.map(|_| ());
    }
}

impl Drop for Session {
    /// A test that failed midway still ends its browser, with a plain blocking request.
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let Some(host) = self.driver.strip_prefix("http://") else {
            return;
        };
        let path = self.url.trim_start_matches(&self.driver).to_owned();
        if let Ok(mut stream) = TcpStream::connect(host) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                stream,
                "DELETE {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            );
            let mut ignored = Vec::new();
            let _ = stream.read_to_end(&mut ignored);
        }
    }
}

/// Standard base64 (WebDriver screenshots), padding and line breaks tolerated.
pub fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn decodes_base64() {
    assert_eq!(base64_decode("aGVsbG8gd29ybGQ="), b"hello world");
    assert_eq!(base64_decode("iVBORw0KGgo="), b"\x89PNG\r\n\x1a\n");
    assert_eq!(base64_decode("YWJj\nZGVm"), b"abcdef");
}
