//! Tests that need something a machine may lack (PostgreSQL, a Docker engine, a browser, an SMTP
//! server, Stripe's Python library, Redis) skip without it, unless a `QS_REQUIRE_*` switch makes its absence a failure.
//!
//! A skipped test still reports "ok" to `cargo test`, so a skip is never silent: [`skip`] prints
//! it and appends a line to the file named by `QS_SKIP_LOG`, which `scripts/test.sh` sets,
//! empties before the run and prints after it.

use std::io::Write as _;

/// Something a test needs from the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// A PostgreSQL server (`TEST_DATABASE_URL`, or the local server binaries).
    Postgres,
    /// A Docker engine with the tests' PostgreSQL image, when the PostgreSQL harness is asked for
    /// a container (`QS_POSTGRES_VIA=docker`, see [`super::postgres`]).
    Docker,
    /// Chromium and chromedriver, for the browser tests.
    Browser,
    /// Python's aiosmtpd, a real SMTP server for the SMTP adapter's tests.
    SmtpSink,
    /// Stripe's Python library, which checks the offline stand-in's signatures and objects.
    PythonStripe,
    /// Schemathesis, which checks the JSON API against its OpenAPI document.
    Schemathesis,
    /// The SDKs' own test suites and the API examples: node and npm, and Python's venv
    /// (`scripts/sdks.sh --tools` installs the rest).
    SdkTools,
    /// A Redis server (`TEST_REDIS_URL`, or the local `redis-server`), for the rate limits
    /// shared through Redis.
    Redis,
    /// Prometheus (Debian's `prometheus` package), which scrapes a running app's metrics.
    Prometheus,
    /// nginx (Debian's `nginx-light`) and `systemd-analyze`, which check the generated
    /// project's deploy/ files (the reverse proxy's configuration, the systemd unit).
    DeployTools,
}

impl Requirement {
    pub const ALL: [Requirement; 10] = [
        Requirement::Postgres,
        Requirement::Docker,
        Requirement::Browser,
        Requirement::SmtpSink,
        Requirement::PythonStripe,
        Requirement::Schemathesis,
        Requirement::SdkTools,
        Requirement::Redis,
        Requirement::Prometheus,
        Requirement::DeployTools,
    ];

    /// The environment variable that makes it required.
    pub fn switch(self) -> &'static str {
        match self {
            Requirement::Postgres => "QS_REQUIRE_POSTGRES",
            Requirement::Docker => "QS_REQUIRE_DOCKER",
            Requirement::Browser => "QS_REQUIRE_BROWSER",
            Requirement::SmtpSink => "QS_REQUIRE_SMTP_SINK",
            Requirement::PythonStripe => "QS_REQUIRE_PYTHON_STRIPE",
            Requirement::Schemathesis => "QS_REQUIRE_SCHEMATHESIS",
            Requirement::SdkTools => "QS_REQUIRE_SDK_TOOLS",
            Requirement::Redis => "QS_REQUIRE_REDIS",
            Requirement::Prometheus => "QS_REQUIRE_PROMETHEUS",
            Requirement::DeployTools => "QS_REQUIRE_DEPLOY_TOOLS",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Requirement::Postgres => "PostgreSQL",
            Requirement::Docker => "a Docker engine with the PostgreSQL test image",
            Requirement::Browser => "chromium and chromedriver",
            Requirement::SmtpSink => "aiosmtpd",
            Requirement::PythonStripe => "Stripe's Python library",
            Requirement::Schemathesis => "Schemathesis",
            Requirement::SdkTools => "the SDK test tools (node, npm, python3 with venv)",
            Requirement::Redis => "a Redis server",
            Requirement::Prometheus => "Prometheus",
            Requirement::DeployTools => "nginx and systemd-analyze",
        }
    }
}

/// Whether the machine must provide `requirement`: its switch is `1` or `true` (in any case).
/// Anything else, or no switch, means a test may skip without it. The one reader of the
/// `QS_REQUIRE_*` switches.
pub fn required(requirement: Requirement) -> bool {
    switch_is_on(std::env::var(requirement.switch()).ok().as_deref())
}

/// What a switch's value means.
pub fn switch_is_on(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim() == "1" || v.trim().eq_ignore_ascii_case("true"))
}

/// The calling test cannot run because `requirement` is missing (`why`). Panics when it is
/// required; otherwise prints the skip and records it in the skip log, and the caller returns.
pub fn skip(requirement: Requirement, why: &str) {
    let switch = requirement.switch();
    if required(requirement) {
        panic!(
            "{} is required ({switch} is on) but missing: {why}",
            requirement.label()
        );
    }
    // One line per skip, whatever the reason's own lines.
    let why = why.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = format!(
        "{test}: {label} missing ({why}); {switch}=1 makes this a failure",
        test = current_test(),
        label = requirement.label()
    );
    eprintln!("SKIPPED {line}");
    if let Some(path) = std::env::var_os("QS_SKIP_LOG").filter(|p| !p.is_empty())
        && let Err(error) = record(std::path::Path::new(&path), &line)
    {
        panic!("cannot record the skip in {}: {error}", path.display());
    }
}

/// Appends `line` to the skip log in one write, so that lines of tests running in parallel do
/// not interleave.
fn record(log: &std::path::Path, line: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?
        .write_all(format!("{line}\n").as_bytes())
}

/// "binary::test" for the test running on this thread, as far as it can be told.
fn current_test() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|stem| match stem.rsplit_once('-') {
            // Cargo names test binaries "<name>-<hash>".
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_owned(),
            _ => stem,
        })
        .unwrap_or_else(|| "a test".to_owned());
    match std::thread::current().name() {
        Some(test) if test != "main" => format!("{binary}::{test}"),
        _ => binary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_and_true_turn_a_switch_on() {
        for on in ["1", "true", "TRUE", "True", " 1 "] {
            assert!(switch_is_on(Some(on)), "{on:?}");
        }
        for off in ["0", "false", "yes", "", "2", "on"] {
            assert!(!switch_is_on(Some(off)), "{off:?}");
        }
        assert!(!switch_is_on(None));
    }

    #[test]
    fn skips_are_appended_to_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("skipped.log");
        record(&log, "first").unwrap();
        record(&log, "second").unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "first\nsecond\n");
    }
}
