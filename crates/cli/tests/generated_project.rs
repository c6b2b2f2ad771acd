//! The generator test: `quickscale init` a project, build it, run its own tests, start its real
//! binary and click through the five-minute journey over HTTP like a browser, on SQLite and on
//! PostgreSQL; then `quickscale up`, `migrate`, `create-admin` and `check` on it.
//!
//! The project is built once per run of this file, in the workspace's `target/` (so it reuses
//! the compiled dependencies), under `target/tmp/quickscale-cli-tests/`.

#![cfg(unix)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const ADMIN_EMAIL: &str = "owner@example.com";
const ADMIN_PASSWORD: &str = "owner-password-123";
const PASSWORD: &str = "a long enough password";

fn workspace() -> PathBuf {
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")).unwrap()
}

/// Where Cargo puts the workspace's builds.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| workspace().join("target"), PathBuf::from)
}

fn scratch() -> PathBuf {
    target_dir().join("tmp/quickscale-cli-tests")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `quickscale ARGS` in `dir`, as a user would run it.
fn quickscale(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quickscale"));
    command.current_dir(dir).env_remove("QUICKSCALE_PATH");
    command
}

/// Cargo in the generated project, offline, sharing the workspace's target directory.
fn cargo(dir: &Path, args: &[&str]) -> Output {
    let started = Instant::now();
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // Without the variables `cargo test` set for this process, as from a shell: ring's build
    // script watches some of them, and a difference recompiles it and all that depends on it.
    // (The same list as `quickscale` removes before it runs Cargo.)
    for (key, _) in std::env::vars() {
        let set_by_cargo = key == "CARGO"
            || key == "OUT_DIR"
            || key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_EXE_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_MANIFEST_LINKS",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .contains(&key.as_str());
        if set_by_cargo {
            command.env_remove(key);
        }
    }
    let output = command
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo runs");
    eprintln!(
        "cargo {} in the generated project: {:.1} s",
        args.join(" "),
        started.elapsed().as_secs_f64()
    );
    assert!(
        output.status.success(),
        "cargo {args:?} failed:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

struct Generated {
    dir: PathBuf,
    binary: PathBuf,
}

/// The project, generated, built and tested once for all the tests of this file.
fn project() -> &'static Generated {
    static PROJECT: OnceLock<Result<Generated, String>> = OnceLock::new();
    let generated = PROJECT.get_or_init(|| {
        // A failure is kept, so that the other tests report it instead of building again.
        std::panic::catch_unwind(generate).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default()
        })
    });
    match generated {
        Ok(generated) => generated,
        Err(why) => panic!("generating and building the project failed: {why}"),
    }
}

fn generate() -> Generated {
    let dir = scratch().join("journey-app");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let output = quickscale(dir.parent().unwrap())
        .args(["init", "journey-app"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    cargo(&dir, &["build"]);
    let tests = cargo(&dir, &["test"]);
    let report = text(&tests.stdout);
    assert!(
        report.contains("runs_as_a_service_next_to_the_built_ins ... ok"),
        "{report}"
    );
    assert!(
        report.contains("serves_the_home_page_and_the_health_check ... ok"),
        "{report}"
    );
    Generated {
        binary: target_dir().join("debug/journey-app"),
        dir,
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running process, killed when dropped (so a failing test leaves nothing behind).
struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal and waits for the exit code.
    fn stop(mut self, signal: &str) -> Option<i32> {
        Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "did not stop within 20 s after SIG{signal}:\n{}",
            self.log()
        );
    }
}

impl Drop for Running {
    /// Kills the whole process group: `quickscale up` and the app it started.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
                .status();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn spawn(mut command: Command, log: PathBuf) -> Running {
    let file = std::fs::File::create(&log).unwrap();
    command
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .stdin(Stdio::null());
    // A group of its own, so that the guard can end it with everything it started.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    Running {
        child: command.spawn().expect("the process starts"),
        log,
    }
}

/// Starts the generated app on `port` with `database_url`, logging to `data_dir`.
fn start_app(port: u16, database_url: &str, data_dir: &Path) -> Running {
    let project = project();
    let mut command = Command::new(&project.binary);
    command
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .current_dir(&project.dir)
        .env("DATABASE_URL", database_url)
        .env("ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn")
        // As `quickscale up` and the Dockerfile run it (a fixed malloc mmap threshold).
        .env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072");
    spawn(command, data_dir.join("app.log"))
}

/// Polls until `url` answers 200; panics with the log when the process exits or time runs out.
async fn wait_for_ok(running: &mut Running, url: &str, timeout: Duration) -> Duration {
    let started = Instant::now();
    let client = http_client(reqwest::Client::builder());
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status() == 200
        {
            return started.elapsed();
        }
        if let Some(status) = running.child.try_wait().unwrap() {
            panic!("exited with {status} before answering:\n{}", running.log());
        }
        assert!(
            started.elapsed() < timeout,
            "no answer from {url} within {timeout:?}:\n{}",
            running.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// A browser: a cookie jar, no automatic redirects, and the last CSRF token seen.
struct Browser {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

struct Page {
    status: u16,
    location: String,
    body: String,
}

impl Page {
    /// The value of the first `<input name="NAME" ... value="...">`.
    fn input(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no input {name} in:\n{}", self.body));
        let tag = &self.body[start..start + self.body[start..].find('>').unwrap()];
        let value = &tag[tag.find("value=\"").expect("a value") + 7..];
        value[..value.find('"').unwrap()].to_owned()
    }

    fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The balance the dashboard shows (`<p id="balance-total" ...>100 <span>credits available`).
    fn balance(&self) -> String {
        let at = self
            .body
            .find("id=\"balance-total\"")
            .unwrap_or_else(|| panic!("no balance on:\n{}", self.body));
        let element = &self.body[at..];
        element[element.find('>').unwrap() + 1..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect()
    }
}

/// reqwest is built without a default TLS provider: install ring's first.
fn http_client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    builder.build().unwrap()
}

impl Browser {
    fn new(port: u16) -> Self {
        Browser {
            client: http_client(
                reqwest::Client::builder()
                    .cookie_store(true)
                    .redirect(reqwest::redirect::Policy::none()),
            ),
            base: format!("http://127.0.0.1:{port}"),
            csrf: String::new(),
        }
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.unwrap();
        let page = Page {
            status,
            location,
            body,
        };
        if page.has("name=\"csrf_token\"") {
            self.csrf = page.input("csrf_token");
        }
        page
    }

    async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    /// Submits a form on the last page, with its CSRF token.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut fields = fields.to_vec();
        let token = self.csrf.clone();
        fields.push(("csrf_token", &token));
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        self.read(response).await
    }
}

/// The five-minute journey against a running app.
async fn journey(port: u16) {
    let email = "ada@example.com";
    let mut ada = Browser::new(port);
    let home = ada.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.has("Journey App"), "{}", home.body);

    ada.get("/register").await;
    assert!(!ada.csrf.is_empty(), "the form carries a CSRF token");
    let registered = ada
        .post(
            "/register",
            &[
                ("email", email),
                ("display_name", "Ada"),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    assert_eq!(registered.location, "/dashboard");
    let dashboard = ada.get("/dashboard").await;
    assert_eq!(dashboard.balance(), "100");

    let service = ada.get("/services/text_sentiment_analysis").await;
    assert_eq!(service.status, 200);
    let run_key = service.input("run_key");
    let result = ada
        .post(
            "/services/text_sentiment_analysis",
            &[("input", "I love this product"), ("run_key", &run_key)],
        )
        .await;
    assert_eq!(result.status, 200, "{}", result.body);
    assert!(result.has("Positive"), "{}", result.body);
    assert!(result.has("99</span> credits remaining"), "{}", result.body);

    let mut admin = Browser::new(port);
    admin.get("/login").await;
    let signed_in = admin
        .post(
            "/login",
            &[
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("next", "/dashboard"),
            ],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let users = admin.get(&format!("/admin/users?q={email}")).await;
    assert_eq!(users.status, 200, "{}", users.body);
    let link = "href=\"/admin/users/";
    let at = users.body.find(link).expect("a link to the user") + link.len();
    let id = &users.body[at..at + users.body[at..].find('"').unwrap()];
    assert_eq!(id.len(), 36, "a UUID: {id}");
    for (action, amount, reason) in [
        ("add", "5", "Goodwill for the outage"),
        ("remove", "2", "Correction of a double grant"),
    ] {
        let detail = admin.get(&format!("/admin/users/{id}")).await;
        assert!(detail.has(email), "{}", detail.body);
        let key = detail.input("key");
        let adjusted = admin
            .post(
                &format!("/admin/users/{id}/credits"),
                &[
                    ("action", action),
                    ("amount", amount),
                    ("reason", reason),
                    ("key", &key),
                ],
            )
            .await;
        assert_eq!(adjusted.status, 303, "{action}: {}", adjusted.body);
    }

    let dashboard = ada.get("/dashboard").await;
    assert_eq!(dashboard.balance(), "102");
    assert!(
        dashboard.has("Goodwill for the outage"),
        "{}",
        dashboard.body
    );
    assert!(
        dashboard.has("Correction of a double grant"),
        "{}",
        dashboard.body
    );

    // The project's own service, listed next to the built-ins, runs and charges its credit.
    let services = ada.get("/services").await;
    assert!(
        services.has("href=\"/services/title_case\""),
        "{}",
        services.body
    );
    assert!(services.has("Title case"));
    let page = ada.get("/services/title_case").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let run_key = page.input("run_key");
    let result = ada
        .post(
            "/services/title_case",
            &[("input", "the return of the king"), ("run_key", &run_key)],
        )
        .await;
    assert_eq!(result.status, 200, "{}", result.body);
    assert!(result.has("The Return of the King"), "{}", result.body);
    assert!(
        result.has("101</span> credits remaining"),
        "{}",
        result.body
    );

    let health = ada.get("/health").await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn the_journey_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("app.db").display());
    let port = free_port();
    let mut app = start_app(port, &url, data.path());
    let first_start = wait_for_ok(
        &mut app,
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(60),
    )
    .await;
    journey(port).await;
    let rss = rss_kib(app.pid());
    assert_eq!(app.stop("TERM"), Some(0), "a clean shutdown on SIGTERM");

    // Again on the same database, migrations already applied: how fast does it start?
    let port = free_port();
    let started = Instant::now();
    let mut app = start_app(port, &url, data.path());
    let mut listening = None;
    while listening.is_none() && started.elapsed() < Duration::from_secs(30) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            listening = Some(started.elapsed());
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let ready = wait_for_ok(
        &mut app,
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(30),
    )
    .await;
    let ready = ready + listening.unwrap_or_default();
    eprintln!(
        "MEASURE sqlite: first start to /health 200 {} ms (fresh database); restart to a \
         listening socket {} ms, to /health 200 {} ms; idle RSS after the journey {} KiB",
        first_start.as_millis(),
        listening.map_or(0, |l| l.as_millis()),
        ready.as_millis(),
        rss.unwrap_or(0)
    );
    drop(app);
}

#[tokio::test]
async fn the_journey_on_postgres() {
    let Some(url) = quickscale_adapters::testing::postgres::test_database_url().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut app = start_app(port, &url, data.path());
    let started = wait_for_ok(
        &mut app,
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(60),
    )
    .await;
    journey(port).await;
    eprintln!(
        "MEASURE postgres: start to /health 200 {} ms; RSS after the journey {} KiB",
        started.as_millis(),
        rss_kib(app.pid()).unwrap_or(0)
    );
    assert_eq!(app.stop("TERM"), Some(0));
}

/// `quickscale up` in a freshly generated project: the build happens inside `up`; Ctrl-C sent
/// to `up` alone stops the app cleanly.
#[tokio::test]
async fn init_then_up_serves_the_app_and_stops_on_ctrl_c() {
    project(); // the shared dependencies are compiled: this measures a warm start.
    let parent = scratch().join("up");
    let _ = std::fs::remove_dir_all(&parent);
    std::fs::create_dir_all(&parent).unwrap();
    let started = Instant::now();
    let output = quickscale(&parent)
        .args(["init", "up-shop"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let port = free_port();
    let mut command = quickscale(&parent.join("up-shop"));
    command
        .args(["up", "--port", &port.to_string()])
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env_remove("QUICKSCALE_TARGET_DIR");
    let mut up = spawn(command, parent.join("up.log"));
    wait_for_ok(
        &mut up,
        &format!("http://127.0.0.1:{port}/"),
        Duration::from_secs(300),
    )
    .await;
    let log = up.log();
    let compiled: Vec<&str> = log
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Compiling "))
        .collect();
    eprintln!(
        "MEASURE quickscale init + up to the first HTTP 200 (warm target dir): {:.1} s; up \
         compiled {compiled:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        log.contains(&format!("http://127.0.0.1:{port}")),
        "the banner names the URL:\n{log}"
    );
    assert!(log.contains("admin@example.com"), "{log}");
    assert!(
        target_dir().join("debug/up-shop").is_file(),
        "built in the shared target directory"
    );
    assert_eq!(up.stop("INT"), Some(0), "Ctrl-C stops the app cleanly");
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the app is gone"
    );
    let _ = std::fs::remove_dir_all(&parent);
}

/// `up` returns the app's own failure: a bad configuration or an unreachable database.
#[test]
fn up_propagates_the_app_failure() {
    let project = project();
    let run = |env: &[(&str, &str)]| {
        let mut command = quickscale(&project.dir);
        command
            .args(["up", "--port", &free_port().to_string()])
            .env("CARGO_TARGET_DIR", target_dir());
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    };
    let output = run(&[("SECRET_KEY", "too-short")]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("SECRET_KEY"), "{stderr}");

    let output = run(&[(
        "DATABASE_URL",
        "postgres://nobody:nothing@127.0.0.1:1/missing",
    )]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("cannot connect to PostgreSQL"), "{stderr}");
}

/// `migrate`, `create-admin` and `check` run the binary's commands in the project.
#[test]
fn migrate_create_admin_and_check() {
    let project = project();
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("admin.db").display());
    let port = free_port().to_string();
    let run = |args: &[&str]| {
        let output = quickscale(&project.dir.join("src"))
            .args(args)
            .env("CARGO_TARGET_DIR", target_dir())
            .env("DATABASE_URL", &url)
            .env("PORT", &port)
            .env("QS_TEST_PASSWORD", "boss-password-123")
            .output()
            .unwrap();
        let said = text(&output.stdout) + &text(&output.stderr);
        assert!(output.status.success(), "{args:?}: {said}");
        said
    };
    assert!(run(&["migrate"]).contains("Migrations applied (SQLite)"));
    let said = run(&["create-admin", "--email", "boss@example.com"]);
    assert!(
        said.contains("Admin account created: boss@example.com"),
        "{said}"
    );
    assert!(said.contains("Password (shown once)"), "{said}");
    let said = run(&[
        "create-admin",
        "--email",
        "deputy@example.com",
        "--password-env",
        "QS_TEST_PASSWORD",
    ]);
    assert!(!said.contains("Password (shown once)"), "{said}");
    let said = run(&["check"]);
    for tick in [
        "✓ cargo",
        "✓ project journey-app",
        "✓ the project builds",
        "✓ configuration is valid",
        "✓ SQLite database reachable",
    ] {
        assert!(said.contains(tick), "{tick} in {said}");
    }
    let said = run(&["verify-ledger"]);
    assert!(said.contains("the ledger balances"), "{said}");
    // Billing maintenance reaches the app, which says billing is off here.
    let output = quickscale(&project.dir)
        .args(["billing", "reconcile", "--limit", "10"])
        .env("CARGO_TARGET_DIR", target_dir())
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("billing is off"),
        "{}",
        text(&output.stderr)
    );

    // A failing check says so and exits non-zero.
    let output = quickscale(&project.dir)
        .arg("check")
        .env("CARGO_TARGET_DIR", target_dir())
        .env(
            "DATABASE_URL",
            "postgres://nobody:nothing@127.0.0.1:1/missing",
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
}
