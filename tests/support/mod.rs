//! The one harness of the tests from the outside: the workspace's paths, `quickscale` and Cargo
//! as a user runs them, every file under a folder, processes that are cleaned up even when a test
//! fails, generated projects (built once per run, in the workspace's `target/`, reusing the
//! compiled dependencies) and their real binary on a free port, a browser over plain HTTP, a
//! real one over WebDriver, and the web app's own test support (the app in-process on a port).

#![cfg_attr(not(unix), allow(dead_code))]

/// The web app's own test support, shared with its crate-level tests (`crates/app-web/tests`):
/// the app in-process on a real port, over whatever database it is given.
#[path = "../../crates/app-web/tests/support/mod.rs"]
pub mod app_web;
#[cfg(unix)]
pub mod webdriver;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const ADMIN_EMAIL: &str = "owner@example.com";
pub const ADMIN_PASSWORD: &str = "owner-password-123";
pub const PASSWORD: &str = "a long enough password";

pub fn workspace() -> PathBuf {
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")).unwrap()
}

/// Where Cargo puts the workspace's builds.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| workspace().join("target"), PathBuf::from)
}

pub fn scratch() -> PathBuf {
    target_dir().join("tmp/quickscale-cli-tests")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `quickscale` in `dir`, as a user runs it: from the checkout it was built from
/// (`QUICKSCALE_PATH` unset), with the rest of the environment the tests were given.
pub fn quickscale(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quickscale"));
    command.current_dir(dir).env_remove("QUICKSCALE_PATH");
    command
}

/// `quickscale` in `dir` for a command that builds the project (`up`, `migrate`, `services`,
/// `check` ...): in the tests' target directory, where the dependencies are compiled already.
pub fn quickscale_building(dir: &Path) -> Command {
    let mut command = quickscale(dir);
    command.env("CARGO_TARGET_DIR", target_dir());
    command
}

/// Every file under `dir`, relative to it, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = quickscale_cli::walk::files_under(dir)
        .unwrap()
        .iter()
        .map(|path| {
            path.strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    found.sort();
    found
}

/// Every file under `dir` with its content: equal snapshots mean nothing was written.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    quickscale_cli::walk::files_under(dir)
        .unwrap()
        .into_iter()
        .map(|path| {
            let content = std::fs::read(&path).unwrap();
            (path.strip_prefix(dir).unwrap().to_path_buf(), content)
        })
        .collect()
}

/// Reports a measurement: `MEASURE ...` in the test's output and, when `QS_MEASURE_LOG` names a
/// file, a line appended to it. The test harness shows a passing test's output to nobody, so
/// `.ci/run` sets that file and prints it.
pub fn measure(line: String) {
    eprintln!("MEASURE {line}");
    if let Some(path) = std::env::var_os("QS_MEASURE_LOG").filter(|p| !p.is_empty()) {
        use std::io::Write as _;
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut log| log.write_all(format!("{line}\n").as_bytes()));
        if let Err(error) = appended {
            eprintln!("QS_MEASURE_LOG: {error}");
        }
    }
}

/// Cargo in the generated project, offline, sharing the workspace's target directory.
pub fn cargo(dir: &Path, args: &[&str]) -> Output {
    let started = Instant::now();
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    let output = quickscale_cli::cargo_env::without_cargo_context(&mut command)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo runs");
    measure(format!(
        "cargo {} in {}: {:.1} s",
        args.join(" "),
        dir.file_name().unwrap_or_default().to_string_lossy(),
        started.elapsed().as_secs_f64()
    ));
    assert!(
        output.status.success(),
        "cargo {args:?} failed:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

#[derive(Debug)]
pub struct Generated {
    pub dir: PathBuf,
    pub binary: PathBuf,
}

/// A project built once per run of the tests under `name` (by `build`); every later call with
/// that name gets the same project. A failure is kept, so that the other tests that need the
/// project report it instead of building again.
pub fn built_once(name: &str, build: impl FnOnce() -> Generated) -> &'static Generated {
    type Built = OnceLock<Result<Generated, String>>;
    static PROJECTS: Mutex<BTreeMap<String, &'static Built>> = Mutex::new(BTreeMap::new());
    let cell: &'static Built = PROJECTS
        .lock()
        .unwrap()
        .entry(name.to_owned())
        .or_insert_with(|| Box::leak(Box::default()));
    let built = cell.get_or_init(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(build)).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default()
        })
    });
    match built {
        Ok(generated) => generated,
        Err(why) => panic!("generating and building the project {name} failed: {why}"),
    }
}

/// A project named `name`, as `quickscale init` writes it, built once per run of the tests.
/// Each subject passes its own name, so that no two rewrite the same folder or share its data.
pub fn project(name: &str) -> &'static Generated {
    built_once(name, || generate(name))
}

/// Writes the project `name` with `quickscale init` into the scratch folder (anew) and returns
/// its folder.
pub fn init(name: &str) -> PathBuf {
    let dir = scratch().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let output = quickscale(dir.parent().unwrap())
        .args(["init", name])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    dir
}

fn generate(name: &str) -> Generated {
    let dir = init(name);
    cargo(&dir, &["build"]);
    Generated::built(dir)
}

impl Generated {
    /// The project in `dir`, whose binary (named like the folder) was built in the tests'
    /// target directory.
    pub fn built(dir: PathBuf) -> Generated {
        let name = dir.file_name().unwrap().to_owned();
        Generated {
            binary: target_dir().join("debug").join(name),
            dir,
        }
    }

    /// The project's binary serving on `port` over `database_url`, with the seeded admin, as
    /// `quickscale up` and the Dockerfile run it, `env` on top; its output goes to `log`. It
    /// does not wait for the app to answer.
    pub fn serve(
        &self,
        port: u16,
        database_url: &str,
        env: &[(&str, &str)],
        log: PathBuf,
    ) -> Running {
        let mut command = Command::new(&self.binary);
        command
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .current_dir(&self.dir)
            .env("DATABASE_URL", database_url)
            .env("ADMIN_EMAIL", ADMIN_EMAIL)
            .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            // A fixed malloc mmap threshold, as `quickscale up` and the Dockerfile set.
            .env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072")
            .envs(env.iter().copied());
        spawn(command, log)
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running process, killed with its whole process group when dropped (so a failing test
/// leaves nothing behind).
#[derive(Debug)]
pub struct Running {
    pub child: Child,
    pub log: PathBuf,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal and waits for the exit code.
    pub fn stop(mut self, signal: &str) -> Option<i32> {
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

/// The resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
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

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn spawn(mut command: Command, log: PathBuf) -> Running {
    let file = std::fs::File::create(&log).unwrap();
    command
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .stdin(Stdio::null());
    // A group of its own, so that the guard can end it with everything it started.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    Running {
        child: command.spawn().expect("the process starts"),
        log,
    }
}

/// A generated app running on a fresh SQLite database, with its admin seeded.
#[derive(Debug)]
pub struct App {
    pub port: u16,
    /// Kept for their guards: dropping the app stops it and removes its data.
    _process: Running,
    _data: tempfile::TempDir,
}

impl App {
    /// Starts the project's binary with `env` on top of the defaults, and waits for /health.
    pub async fn start(project: &Generated, env: &[(&str, &str)]) -> App {
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let url = format!("sqlite://{}", data.path().join("app.db").display());
        let mut process = project.serve(port, &url, env, data.path().join("app.log"));
        wait_for_ok(
            &mut process,
            &format!("http://127.0.0.1:{port}/health"),
            Duration::from_secs(60),
        )
        .await;
        App {
            port,
            _process: process,
            _data: data,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// Polls until `url` answers 200; panics with the log when the process exits or time runs out.
pub async fn wait_for_ok(running: &mut Running, url: &str, timeout: Duration) -> Duration {
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
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// reqwest is built without a default TLS provider: install ring's first.
pub fn http_client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    builder.build().unwrap()
}

/// A browser over plain HTTP: a cookie jar, no automatic redirects, the last CSRF token seen.
#[derive(Debug)]
pub struct HttpBrowser {
    client: reqwest::Client,
    base: String,
    /// The CSRF token of the last page that had one.
    pub csrf: String,
}

#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: String,
    pub body: String,
}

impl Page {
    /// The value of the first `<input name="NAME" ... value="...">`.
    pub fn input(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no input {name} in:\n{}", self.body));
        let tag = &self.body[start..start + self.body[start..].find('>').unwrap()];
        let value = &tag[tag.find("value=\"").expect("a value") + 7..];
        value[..value.find('"').unwrap()].to_owned()
    }

    pub fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The balance the dashboard shows (`<p id="balance-total" ...>100 <span>credits available`).
    pub fn balance(&self) -> String {
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

impl HttpBrowser {
    pub fn new(port: u16) -> Self {
        HttpBrowser {
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

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    /// Submits a form on the last page, with its CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
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

    /// Uploads a file as a service's form does: multipart, with the CSRF token of the last page
    /// in the query string (the app does not look for it in a multipart body).
    pub async fn upload(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, Vec<u8>),
    ) -> Page {
        let (filename, content_type, bytes) = file;
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str(content_type)
            .unwrap();
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text((*name).to_owned(), (*value).to_owned());
        }
        let response = self
            .client
            .post(format!("{}{path}?csrf_token={}", self.base, self.csrf))
            .multipart(form.part("input", part))
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    /// Registers `email` and lands on the dashboard.
    pub async fn register(&mut self, email: &str, name: &str) {
        self.get("/register").await;
        let registered = self
            .post(
                "/register",
                &[
                    ("email", email),
                    ("display_name", name),
                    ("password", PASSWORD),
                    ("password_confirmation", PASSWORD),
                ],
            )
            .await;
        assert_eq!(registered.status, 303, "{}", registered.body);
    }

    /// Runs a text service from its page.
    pub async fn run_service(&mut self, slug: &str, input: &str) -> Page {
        let page = self.get(&format!("/services/{slug}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let run_key = page.input("run_key");
        let result = self
            .post(
                &format!("/services/{slug}"),
                &[("input", input), ("run_key", &run_key)],
            )
            .await;
        assert_eq!(result.status, 200, "{}", result.body);
        result
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) {
        self.get("/login").await;
        let signed_in = self
            .post(
                "/login",
                &[("email", email), ("password", password), ("next", "")],
            )
            .await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    }
}
