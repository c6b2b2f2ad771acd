//! `quickscale generate-service` and `quickscale services`, from the outside.
//!
//! One project is generated, given a service of every kind (and a free one) with
//! `generate-service`, built in the workspace's `target/`, tested with its own `cargo test` (the
//! generated services' unit tests must run and pass) and checked with clippy; then its real
//! binary is started and each new service is run over HTTP like a browser: forms with their CSRF
//! token, an upload with the token in the query string, JSON. The refusals (bad names, a name already taken, a bad
//! price, no project) are checked on a project that is never built: they must change no file.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const PASSWORD: &str = "a long enough password";

fn workspace() -> PathBuf {
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")).unwrap()
}

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

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        workspace()
            .join("crates/service-sdk/tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// `quickscale` in `dir`, as a user would run it (builds go to the workspace's target/).
fn quickscale(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quickscale"));
    command
        .current_dir(dir)
        .env_remove("QUICKSCALE_PATH")
        .env("CARGO_TARGET_DIR", target_dir());
    command
}

/// `quickscale generate-service ARGS` in `dir`.
fn generate_service(dir: &Path, args: &[&str]) -> Output {
    quickscale(dir)
        .arg("generate-service")
        .args(args)
        .output()
        .unwrap()
}

/// Cargo in a generated project, offline, sharing the workspace's target directory, without
/// the variables `cargo test` set for this process (ring's build script watches some of them:
/// left in, they would recompile it and everything above it).
fn cargo(dir: &Path, args: &[&str]) -> Output {
    let started = Instant::now();
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
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
        "MEASURE cargo {} in the generated project: {:.1} s",
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

/// Every file under `dir` with its content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().to_path_buf();
                files.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// The services generated for the tests: (name, kind and price arguments).
const GENERATED: &[(&str, &[&str])] = &[
    ("word_stats", &[]),
    ("photo_size", &["--kind", "image", "--cost", "2.5"]),
    (
        "record_summary",
        &[
            "--kind",
            "data",
            "--cost",
            "3",
            "--description",
            "Fields, types and numbers of your records.",
        ],
    ),
    ("plain_english", &["--kind", "llm", "--cost", "4"]),
    ("free_words", &["--free", "--category", "Freebies"]),
];

struct Generated {
    dir: PathBuf,
    binary: PathBuf,
}

/// A project with a generated service of every kind, built and tested once for this file.
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
    let dir = scratch().join("services-app");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let output = quickscale(dir.parent().unwrap())
        .args(["init", "services-app"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    for (name, args) in GENERATED {
        let started = Instant::now();
        // From a subfolder: the project is found from anywhere inside it.
        let mut all = vec![*name];
        all.extend_from_slice(args);
        let output = generate_service(&dir.join("src"), &all);
        assert!(
            output.status.success(),
            "generate-service {all:?}: {}",
            text(&output.stderr)
        );
        eprintln!(
            "MEASURE generate-service {name}: {} ms",
            started.elapsed().as_millis()
        );
        let said = text(&output.stdout);
        assert!(said.contains(&format!("src/services/{name}.rs")), "{said}");
    }
    cargo(&dir, &["build"]);
    let tests = cargo(&dir, &["test"]);
    let report = text(&tests.stdout);
    for (name, _) in GENERATED {
        let test = format!("services::{name}::tests::runs_from_the_project_registry ... ok");
        assert!(report.contains(&test), "{test} in:\n{report}");
    }
    // Every kind's own tests ran, not only the registry one.
    for test in [
        "services::word_stats::tests::refuses_text_without_words ... ok",
        "services::photo_size::tests::reads_png_and_jpeg_dimensions_from_the_bytes ... ok",
        "services::photo_size::tests::refuses_what_is_not_an_image_before_charging ... ok",
        "services::record_summary::tests::summarises_each_field ... ok",
        "services::record_summary::tests::refuses_input_that_is_not_an_array_of_records ... ok",
        "services::plain_english::tests::a_model_failure_fails_the_run_so_it_is_refunded ... ok",
        "services::title_case::tests::runs_as_a_service_next_to_the_built_ins ... ok",
        "lists_the_project_services_next_to_the_built_ins ... ok",
        "every_project_service_has_its_page ... ok",
    ] {
        assert!(report.contains(test), "{test} in:\n{report}");
    }
    assert!(!report.contains("FAILED"), "{report}");
    // The generated code is warning-free, for rustc and for clippy.
    cargo(&dir, &["clippy", "--all-targets", "--", "-D", "warnings"]);
    Generated {
        binary: target_dir().join("debug/services-app"),
        dir,
    }
}

/// A running process, killed with its process group when dropped.
struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the generated app on a fresh SQLite database and waits for /health.
async fn start_app(data: &Path) -> (Running, u16) {
    let project = project();
    let port = free_port();
    let mut command = Command::new(&project.binary);
    let log = data.join("app.log");
    let file = std::fs::File::create(&log).unwrap();
    command
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .current_dir(&project.dir)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", data.join("app.db").display()),
        )
        .env("ADMIN_PASSWORD", "owner-password-123")
        .env("RUST_LOG", "warn")
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .stdin(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut app = Running {
        child: command.spawn().expect("the app starts"),
        log,
    };
    let client = http_client(reqwest::Client::builder());
    let started = Instant::now();
    loop {
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            && response.status() == 200
        {
            return (app, port);
        }
        if let Some(status) = app.child.try_wait().unwrap() {
            panic!("the app exited with {status}:\n{}", app.log());
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no answer:\n{}",
            app.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// reqwest is built without a default TLS provider: install ring's first.
fn http_client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    builder.build().unwrap()
}

struct Page {
    status: u16,
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
}

/// A browser: a cookie jar, no automatic redirects, and the last CSRF token seen.
struct Browser {
    client: reqwest::Client,
    base: String,
    csrf: String,
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
        let body = response.text().await.unwrap();
        let page = Page { status, body };
        if page.has("name=\"csrf_token\"") {
            self.csrf = page.input("csrf_token");
        }
        page
    }

    async fn get(&mut self, path: &str) -> Page {
        let url = format!("{}{path}", self.base);
        let response = self.client.get(url).send().await.unwrap();
        self.read(response).await
    }

    /// Submits a form with the CSRF token of the last page.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut fields = fields.to_vec();
        let token = self.csrf.clone();
        fields.push(("csrf_token", &token));
        let url = format!("{}{path}", self.base);
        let response = self.client.post(url).form(&fields).send().await.unwrap();
        self.read(response).await
    }

    /// Uploads a file as the service form does: multipart, the CSRF token in the query string.
    async fn upload(&mut self, path: &str, run_key: &str, file: (&str, &str, Vec<u8>)) -> Page {
        let (filename, content_type, bytes) = file;
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str(content_type)
            .unwrap();
        let form = reqwest::multipart::Form::new()
            .text("run_key", run_key.to_owned())
            .part("input", part);
        let url = format!("{}{path}?csrf_token={}", self.base, self.csrf);
        let response = self.client.post(url).multipart(form).send().await.unwrap();
        self.read(response).await
    }

    /// Opens a service's page and submits `input` with a fresh run key.
    async fn run(&mut self, slug: &str, input: &str) -> (Page, String) {
        let page = self.get(&format!("/services/{slug}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let key = page.input("run_key");
        let result = self
            .post(
                &format!("/services/{slug}"),
                &[("input", input), ("run_key", &key)],
            )
            .await;
        (result, key)
    }

    async fn balance(&mut self) -> String {
        let dashboard = self.get("/dashboard").await;
        let at = dashboard
            .body
            .find(" credits available")
            .unwrap_or_else(|| panic!("no balance on:\n{}", dashboard.body));
        let before = &dashboard.body[..at];
        before[before
            .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap()
            + 1..]
            .to_owned()
    }
}

#[tokio::test]
async fn every_kind_of_generated_service_runs_in_the_app_and_charges_its_price() {
    let data = tempfile::tempdir().unwrap();
    let (app, port) = start_app(data.path()).await;
    let mut ada = Browser::new(port);
    ada.get("/register").await;
    let registered = ada
        .post(
            "/register",
            &[
                ("email", "ada@example.com"),
                ("display_name", "Ada"),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    assert_eq!(ada.balance().await, "100");

    // The marketplace lists the new services with their prices and categories; the LLM one
    // is hidden, as the app has no language model to give it.
    let market = ada.get("/services").await;
    for slug in ["word_stats", "photo_size", "record_summary", "free_words"] {
        assert!(
            market.has(&format!("href=\"/services/{slug}\"")),
            "{slug}:\n{}",
            market.body
        );
    }
    assert!(!market.has("plain_english"), "{}", market.body);
    assert!(market.has("2.50 credits"), "{}", market.body);
    assert!(market.has("Freebies"), "{}", market.body);
    assert!(market.has("Fields, types and numbers of your records."));
    assert_eq!(ada.get("/services/plain_english").await.status, 404);

    // Text: one credit.
    let (result, key) = ada.run("word_stats", "the cat and the hat\nthe end").await;
    assert_eq!(result.status, 200, "{}", result.body);
    assert!(result.has("7 words in 2 lines"), "{}", result.body);
    assert!(result.has("<td>the</td><td>3</td>"), "{}", result.body);
    assert!(result.has("99</span> credits remaining"), "{}", result.body);
    // The same form sent again is the same run: shown again, not charged again.
    let again = ada
        .post(
            "/services/word_stats",
            &[("input", "the cat and the hat\nthe end"), ("run_key", &key)],
        )
        .await;
    assert!(again.has("already submitted"), "{}", again.body);
    assert_eq!(ada.balance().await, "99");
    // No words: refused before any charge.
    let (refused, _) = ada.run("word_stats", "?! ...").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.has("There are no words to count"),
        "{}",
        refused.body
    );
    assert_eq!(ada.balance().await, "99");

    // Image: an upload, 2.50 credits, dimensions from the bytes.
    let page = ada.get("/services/photo_size").await;
    assert!(page.has("enctype=\"multipart/form-data\""), "{}", page.body);
    let png = ada
        .upload(
            "/services/photo_size",
            &page.input("run_key"),
            ("grey.png", "image/png", fixture("grey.png")),
        )
        .await;
    assert_eq!(png.status, 200, "{}", png.body);
    assert!(png.has("PNG image, 10 × 20 pixels"), "{}", png.body);
    assert!(png.has("portrait") && png.has("1:2"), "{}", png.body);
    assert!(png.has("96.50</span> credits remaining"), "{}", png.body);
    let jpeg = ada
        .upload(
            "/services/photo_size",
            &png.input("run_key"),
            ("photo.jpg", "image/jpeg", fixture("photo-with-exif.jpg")),
        )
        .await;
    assert!(jpeg.has("JPEG image, 64 × 48 pixels"), "{}", jpeg.body);
    assert!(jpeg.has("4:3"), "{}", jpeg.body);
    assert!(jpeg.has("94</span> credits remaining"), "{}", jpeg.body);
    let fake = ada
        .upload(
            "/services/photo_size",
            &jpeg.input("run_key"),
            ("fake.jpg", "image/jpeg", fixture("not-an-image.jpg")),
        )
        .await;
    assert_eq!(fake.status, 422, "{}", fake.body);
    assert!(fake.has("This is not a PNG or JPEG image"), "{}", fake.body);
    let gif = ada
        .upload(
            "/services/photo_size",
            &fake.input("run_key"),
            ("anim.gif", "image/gif", b"GIF89a\x01\0\x01\0".to_vec()),
        )
        .await;
    assert_eq!(gif.status, 422, "{}", gif.body);
    assert!(gif.has("image/gif are not accepted"), "{}", gif.body);
    assert_eq!(ada.balance().await, "94");

    // Data: JSON records, three credits.
    let records = r#"[{"name": "Ada", "age": 36}, {"name": "Alan", "age": 41, "city": "London"},
                      {"name": "Grace", "age": 85}]"#;
    let (summary, _) = ada.run("record_summary", records).await;
    assert_eq!(summary.status, 200, "{}", summary.body);
    assert!(
        summary.has("3 records, 3 fields (1 numeric)"),
        "{}",
        summary.body
    );
    assert!(
        summary.has("<td>age</td><td>3</td><td>number</td><td>36</td><td>85</td><td>54</td>"),
        "{}",
        summary.body
    );
    assert!(
        summary.has("91</span> credits remaining"),
        "{}",
        summary.body
    );
    let (not_records, _) = ada.run("record_summary", r#"{"name": "Ada"}"#).await;
    assert_eq!(not_records.status, 422, "{}", not_records.body);
    assert!(
        not_records.has("Give a JSON array of records"),
        "{}",
        not_records.body
    );
    let (not_json, _) = ada.run("record_summary", "name,age").await;
    assert_eq!(not_json.status, 422, "{}", not_json.body);
    assert!(not_json.has("That is not valid JSON"), "{}", not_json.body);
    assert_eq!(ada.balance().await, "91");

    // Free: runs and is recorded, charges nothing.
    let (free, _) = ada.run("free_words", "one two two").await;
    assert_eq!(free.status, 200, "{}", free.body);
    assert!(free.has("3 words in 1 line"), "{}", free.body);
    assert!(free.has("Charged 0 credits"), "{}", free.body);
    assert!(free.has("91</span> credits remaining"), "{}", free.body);
    assert_eq!(ada.balance().await, "91");
    let history = ada.get("/dashboard").await;
    for name in ["Word stats", "Photo size", "Record summary", "Free words"] {
        assert!(
            history.has(name),
            "{name} in the history:\n{}",
            history.body
        );
    }
    drop(app);
}

#[test]
fn services_list_and_check_name_what_the_app_registers() {
    let project = project();
    let run = |args: &[&str]| {
        let output = quickscale(&project.dir)
            .arg("services")
            .args(args)
            .output()
            .unwrap();
        (
            output.status.success(),
            text(&output.stdout),
            text(&output.stderr),
        )
    };
    let (ok, listing, errors) = run(&["list"]);
    assert!(ok, "{errors}");
    let line = |slug: &str| {
        listing
            .lines()
            .find(|l| l.split_whitespace().next() == Some(slug))
            .unwrap_or_else(|| panic!("{slug} in:\n{listing}"))
            .to_owned()
    };
    assert!(line("photo_size").contains("2.50 credits"), "{listing}");
    assert!(line("photo_size").contains("file"), "{listing}");
    assert!(line("record_summary").contains("json"), "{listing}");
    assert!(line("free_words").contains("free"), "{listing}");
    assert!(line("word_stats").contains("text"), "{listing}");
    assert!(line("data_validator").contains("Data"), "{listing}");
    assert!(!listing.contains("plain_english"), "{listing}");

    let (ok, said, errors) = run(&["check", "record_summary"]);
    assert!(ok, "{errors}");
    assert!(said.contains("every descriptor is valid"), "{said}");
    assert!(said.contains("✓ record_summary is registered"), "{said}");

    let (ok, _, errors) = run(&["check", "plain_english"]);
    assert!(!ok);
    assert!(
        errors.contains("plain_english is not registered"),
        "{errors}"
    );
    assert!(errors.contains("register_llm"), "{errors}");

    let (ok, _, errors) = run(&["check", "no_such_service"]);
    assert!(!ok);
    assert!(
        errors.contains("no_such_service is not registered"),
        "{errors}"
    );
    assert!(
        errors.contains("quickscale generate-service no_such_service"),
        "{errors}"
    );
}

#[test]
fn refusals_write_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let output = quickscale(parent.path())
        .args(["init", "refusals-app"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let dir = parent.path().join("refusals-app");
    let before = snapshot(&dir);

    let long_name = "a".repeat(65);
    let long_description = "d".repeat(501);
    let cases: &[(&[&str], &str)] = &[
        (&["WordCount"], "capital letter 'W' (try \"word_count\")"),
        (&["word-count"], "a hyphen (try \"word_count\")"),
        (&["1word"], "does not start with a letter"),
        (&["w"], "shorter than 2"),
        (&[&long_name], "more than 64"),
        (&["../escape"], "the character '.'"),
        (&["match"], "Rust keyword"),
        (&["std"], "crate the project uses"),
        (&["word_"], "ends with an underscore"),
        (&["data_validator"], "built-in services"),
        (&["llm_text_service", "--kind", "llm"], "built-in services"),
        (&["title_case"], "already exists"),
        (&["refusals_app"], "this project's own crate name"),
        (&["priced", "--cost", "-1"], "negative"),
        (&["priced", "--cost", "10001"], "above the maximum"),
        (&["priced", "--cost", "1.234"], "more than two decimals"),
        (&["priced", "--cost", "lots"], "not a number"),
        (&["priced", "--cost", "2", "--free"], "cannot be used with"),
        (&["priced", "--kind", "video"], "invalid value 'video'"),
        (&["described", "--description", "two\nlines"], "one line"),
        (
            &["described", "--description", &long_description],
            "at most 500",
        ),
        (&["described", "--category", "  "], "--category is empty"),
    ];
    for (args, reason) in cases {
        let output = generate_service(&dir, args);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
        assert_eq!(snapshot(&dir), before, "{args:?} changed the project");
    }

    // A name already taken by a generated service, or by the slug of another service.
    let first = generate_service(&dir, &["dup_service", "--kind", "data"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let with_one = snapshot(&dir);
    assert_ne!(with_one, before);
    for args in [&["dup_service"][..], &["dup_service", "--kind", "llm"]] {
        let again = generate_service(&dir, args);
        assert!(!again.status.success());
        assert!(
            text(&again.stderr).contains("src/services/dup_service.rs already exists"),
            "{}",
            text(&again.stderr)
        );
        assert_eq!(snapshot(&dir), with_one, "a duplicate changed the project");
    }
    let services = dir.join("src/services");
    std::fs::write(
        services.join("other.rs"),
        "// ServiceDescriptor::new(\"taken_slug\", \"Taken\")\n",
    )
    .unwrap();
    let with_other = snapshot(&dir);
    let taken = generate_service(&dir, &["taken_slug"]);
    assert!(!taken.status.success());
    assert!(
        text(&taken.stderr).contains("already declares a service with the slug taken_slug"),
        "{}",
        text(&taken.stderr)
    );
    assert_eq!(snapshot(&dir), with_other);

    // Without the marker line there is nowhere to register: refused before writing anything.
    let module = std::fs::read_to_string(services.join("mod.rs")).unwrap();
    std::fs::write(
        services.join("mod.rs"),
        module.replace("// quickscale:services", ""),
    )
    .unwrap();
    let without_marker = snapshot(&dir);
    let output = generate_service(&dir, &["unplaced"]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("no `// quickscale:services` line"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(snapshot(&dir), without_marker);

    // Outside a project.
    let elsewhere = tempfile::tempdir().unwrap();
    let output = generate_service(elsewhere.path(), &["word_counter"]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("not inside a QuickScale project"),
        "{}",
        text(&output.stderr)
    );
    assert!(snapshot(elsewhere.path()).is_empty());
    let output = quickscale(elsewhere.path())
        .args(["services", "list"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("not inside a QuickScale project"));
}
