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
/// credits), `QS_SDK_TEST_POOR_KEY` (an account with none) and `QS_SDK_TEST_LIMITED_KEY` (the
/// first account's, for spending its request budget).
async fn app_and_keys() -> (Live, Vec<(&'static str, String)>) {
    let live = Live::start(&[("ENABLE_API", "true")]).await;
    let rich = browser();
    live.register(&rich, "sdk@example.com").await;
    live.fund("sdk@example.com", 1000).await;
    let key = live.make_key(&rich, "SDK tests").await;
    let limited = live.make_key(&rich, "SDK rate limit").await;
    let poor = browser();
    live.register(&poor, "poor@example.com").await;
    live.spend("poor@example.com", 100).await;
    let poor_key = live.make_key(&poor, "SDK tests").await;
    let env = vec![
        ("QUICKSCALE_BASE_URL", live.base.clone()),
        ("QUICKSCALE_API_KEY", key),
        ("QS_SDK_TEST_POOR_KEY", poor_key),
        ("QS_SDK_TEST_LIMITED_KEY", limited),
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
