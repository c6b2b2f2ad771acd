//! The SDKs' own test suites run against the app on a real port: sdks/python/tests with pytest
//! and sdks/typescript/test with node's test runner. Each suite lists services, runs a paid
//! service, reads the run and the balance back, gets a 402 when credits run out, a 429 whose
//! Retry-After the SDK respects, and retries a run under one idempotency key charging once.
//!
//! Needs node, npm and Python's venv: `scripts/sdks.sh --tools` installs the pinned tools into
//! the target directory (the test calls it). Without them the tests skip, unless
//! `QS_REQUIRE_SDK_TOOLS=1` (CI sets it).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use quickscale_adapters::testing::require::{Requirement, skip};
use support::live::{Live, browser};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The folder of the installed SDK tools, installed once per test run; `None` (the test
/// skips) when node, npm or Python's venv is missing.
fn tools() -> Option<PathBuf> {
    static TOOLS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = TOOLS.get_or_init(|| {
        for (program, arg) in [
            ("node", "--version"),
            ("npm", "--version"),
            ("python3", "--version"),
        ] {
            let runs = Command::new(program)
                .arg(arg)
                .output()
                .is_ok_and(|o| o.status.success());
            if !runs {
                return Err(format!("{program} is not installed"));
            }
        }
        let venv = Command::new("python3")
            .args(["-c", "import venv, ensurepip"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !venv {
            return Err("python3 has no venv/ensurepip (Debian: python3-venv)".into());
        }
        let output = Command::new(repository().join("scripts/sdks.sh"))
            .arg("--tools")
            .output()
            .map_err(|e| format!("scripts/sdks.sh did not start: {e}"))?;
        if !output.status.success() {
            // The tools are there but would not install: a failure, not a skip.
            panic!(
                "scripts/sdks.sh --tools failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(PathBuf::from(
            String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        ))
    });
    match found {
        Ok(path) => Some(path.clone()),
        Err(why) => {
            skip(Requirement::SdkTools, why);
            None
        }
    }
}

/// The app with the API on, and the keys a suite needs: `QUICKSCALE_API_KEY` (an account with
/// credits), `QS_SDK_TEST_POOR_KEY` (an account with none), `QS_SDK_TEST_LIMITED_KEY` (the
/// first account's, for spending its request budget) and `QS_SDK_TEST_CAPPED_KEY` (the first
/// account's, capped at 1 credit a month).
async fn app_and_keys() -> (Live, Vec<(&'static str, String)>) {
    let live = Live::start(&[("ENABLE_API", "true")]).await;
    let rich = browser();
    live.register(&rich, "sdk@example.com").await;
    live.fund("sdk@example.com", 1000).await;
    let key = live.make_key(&rich, "SDK tests").await;
    let limited = live.make_key(&rich, "SDK rate limit").await;
    let capped = live
        .make_key_with(&rich, "SDK capped", &[("monthly_cap", "1")])
        .await;
    let poor = browser();
    live.register(&poor, "poor@example.com").await;
    live.spend("poor@example.com", 100).await;
    let poor_key = live.make_key(&poor, "SDK tests").await;
    let env = vec![
        ("QUICKSCALE_BASE_URL", live.base.clone()),
        ("QUICKSCALE_API_KEY", key),
        ("QS_SDK_TEST_POOR_KEY", poor_key),
        ("QS_SDK_TEST_LIMITED_KEY", limited),
        ("QS_SDK_TEST_CAPPED_KEY", capped),
    ];
    (live, env)
}

/// Runs `command` to the end off the async runtime (the app answers it meanwhile); panics with
/// its output when it fails.
async fn run_suite(what: &str, mut command: Command) {
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "{report}\n{what} took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(output.status.success(), "{what} failed:\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_passes_its_tests_against_a_live_app() {
    let Some(tools) = tools() else {
        return;
    };
    let (_live, env) = app_and_keys().await;
    let sdk = repository().join("sdks/python");
    let mut command = Command::new(tools.join("venv/bin/python"));
    command
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(&sdk)
        .env("PYTHONPATH", &sdk)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(env);
    run_suite("pytest sdks/python/tests", command).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_sdk_passes_its_tests_against_a_live_app() {
    if tools().is_none() {
        return;
    }
    let (_live, env) = app_and_keys().await;
    let mut command = Command::new("node");
    command
        .args(["--test", "test/"])
        .current_dir(repository().join("sdks/typescript"))
        .envs(env);
    run_suite("node --test sdks/typescript/test", command).await;
}

/// The fenced blocks of docs/api.md's "Examples" section: (language, code), in order.
fn documented_examples() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(repository().join("docs/api.md")).unwrap();
    let start = doc.find("\n## Examples").expect("an Examples section");
    let section = &doc[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    section
        .split("\n```")
        .skip(1)
        .step_by(2)
        .map(|block| {
            let (language, code) = block.split_once('\n').unwrap();
            (language.trim().to_owned(), code.to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_examples_run_against_a_live_app() {
    let Some(tools) = tools() else {
        return;
    };
    let examples = documented_examples();
    let languages: Vec<&str> = examples.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        languages,
        ["sh", "sh", "python", "ts"],
        "curl, Python and TypeScript"
    );
    // The first block says where the address and the key come from; the harness sets them.
    assert!(examples[0].1.starts_with("export QUICKSCALE_BASE_URL="));
    let (live, env) = app_and_keys().await;
    let typescript = repository().join("sdks/typescript");
    let before = live.balance("sdk@example.com").await;
    for round in 0..2 {
        for (language, code) in &examples[1..] {
            let mut command = match language.as_str() {
                "sh" => {
                    let mut command = Command::new("bash");
                    command.args(["-euo", "pipefail", "-c", code]);
                    command
                }
                "python" => {
                    let mut command = Command::new(tools.join("venv/bin/python"));
                    command
                        .args(["-c", code])
                        .env("PYTHONPATH", repository().join("sdks/python"))
                        .env("PYTHONDONTWRITEBYTECODE", "1");
                    command
                }
                // Inside the package, so that it imports itself by its name as a user's program
                // imports the installed package.
                _ => {
                    let file = typescript.join(format!(".docs-example-{}.mjs", std::process::id()));
                    std::fs::write(&file, code).unwrap();
                    let mut command = Command::new("node");
                    command.arg(&file);
                    command
                }
            };
            command.envs(env.clone());
            let what = format!("the {language} example (round {round})");
            let output = tokio::task::spawn_blocking(move || command.output())
                .await
                .unwrap()
                .unwrap();
            let printed = String::from_utf8_lossy(&output.stdout).into_owned();
            println!(
                "{what}:\n{printed}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(output.status.success(), "{what} failed");
            assert!(printed.contains("succeeded"), "{what} ran the service");
            if language == "sh" {
                assert!(
                    printed.contains("started_at,service,status"),
                    "{what}: the CSV"
                );
            } else {
                assert!(
                    printed.contains(if round == 0 { " new" } else { " replayed" }),
                    "{what}: the second time is the first run"
                );
            }
        }
    }
    let _ =
        std::fs::remove_file(typescript.join(format!(".docs-example-{}.mjs", std::process::id())));
    // Three examples, each run twice under its own idempotency key: charged once each.
    assert_eq!(
        live.balance("sdk@example.com").await,
        before
            .checked_sub(quickscale_domain_credits::Credits::whole(3))
            .unwrap()
    );
}

/// The `language` block of docs/api.md's webhook section.
fn documented_webhook_block(language: &str) -> String {
    let doc = std::fs::read_to_string(repository().join("docs/api.md")).unwrap();
    let start = doc
        .find("\n## Webhooks")
        .expect("a Webhooks section in docs/api.md");
    let section = &doc[start..];
    let fence = format!("```{language}\n");
    let block = &section[section.find(&fence).expect("the language's block") + fence.len()..];
    block[..block.find("\n```").unwrap()].to_owned()
}

/// docs/api.md's Python handler accepts a webhook signed now by the app's signing function,
/// and refuses it under another secret or with a changed body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_webhook_handler_verifies_a_signed_event() {
    use quickscale_service_sdk::notify::webhook::sign;
    let Some(tools) = tools() else {
        return;
    };
    let secret = "whsec_documented-handler-test";
    let body = r#"{"id":"evt_1","type":"run.failed","created":"2026-05-28T20:26:40Z","data":{"id":"r","status":"failed"}}"#;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let header = sign(secret, now, body.as_bytes());
    let program = format!(
        "{}\nimport os, sys\nbody = os.environ['BODY'].encode()\nprint('status', handle(body, os.environ['HEADER']))\n",
        documented_webhook_block("python")
    );
    for (given_secret, given_body, expected) in [
        (secret, body, "run.failed r failed\nstatus 204"),
        ("whsec_another", body, "status 400"),
        (
            secret,
            &body.replace("failed", "succeeded") as &str,
            "status 400",
        ),
    ] {
        let output = Command::new(tools.join("venv/bin/python"))
            .args(["-c", &program])
            .env("PYTHONPATH", repository().join("sdks/python"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("QUICKSCALE_WEBHOOK_SECRET", given_secret)
            .env("BODY", given_body)
            .env("HEADER", &header)
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(printed.trim(), expected);
    }
}

/// docs/api.md's JavaScript receiver, run by node inside the SDK's package (as a user's program
/// imports the installed package): 204 for a webhook signed now by the app's signing function,
/// 400 under another secret or with a changed body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_javascript_receiver_verifies_a_signed_event() {
    use quickscale_service_sdk::notify::webhook::sign;
    if tools().is_none() {
        return;
    }
    let secret = "whsec_documented-receiver-test";
    let body = r#"{"id":"evt_2","type":"run.succeeded","created":"2026-05-28T20:26:40Z","data":{"id":"r2","status":"succeeded"}}"#;
    let file = repository()
        .join("sdks/typescript")
        .join(format!(".docs-webhook-{}.mjs", std::process::id()));
    std::fs::write(&file, documented_webhook_block("js")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut receiver = Command::new("node")
        .arg(&file)
        .env("PORT", port.to_string())
        .env("QUICKSCALE_WEBHOOK_SECRET", secret)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let post = async |signed_with: &str, sent: &str| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let header = sign(signed_with, now, body.as_bytes());
        for _ in 0..100 {
            let answer = client
                .post(format!("http://127.0.0.1:{port}/"))
                .header("QuickScale-Signature", &header)
                .body(sent.to_owned())
                .send()
                .await;
            if let Ok(answer) = answer {
                return answer.status().as_u16();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the documented receiver never listened");
    };
    let statuses = [
        post(secret, body).await,
        post("whsec_another", body).await,
        post(secret, &body.replace("r2", "r3")).await,
    ];
    receiver.kill().unwrap();
    let output = receiver.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&file);
    assert_eq!(
        statuses,
        [204, 400, 400],
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "run.succeeded r2 succeeded"
    );
}
