//! The API answers as its OpenAPI document says: Schemathesis generates requests from the
//! document (valid and invalid ones), sends them to the app on a real port over SQLite, and
//! checks every answer (no 5xx, documented statuses, content types, headers and bodies; valid
//! data accepted, invalid data refused).
//!
//! Needs Schemathesis for `python3` (`python3 -m pip install schemathesis`). Without it the test
//! is skipped, unless `QS_REQUIRE_SCHEMATHESIS=1` (CI sets it). `QS_SCHEMATHESIS_SECONDS`
//! (default 40) bounds the run; `QS_SCHEMATHESIS_SEED` picks another seed and
//! `QS_SCHEMATHESIS_ARGS` adds options (`--report har`) for a longer hunt by hand;
//! `QS_SCHEMATHESIS_DATABASE=postgres` runs it over PostgreSQL instead of SQLite.

mod support;

use std::path::Path;
use std::process::Command;

use support::live::{Live, browser};

/// Accounts, each with the most keys a user may hold: every key has its own request budget.
const ACCOUNTS: usize = 3;
const KEYS_PER_ACCOUNT: usize = 10;

/// `python3 -m schemathesis.cli`, when Schemathesis is installed for `python3`.
fn schemathesis() -> Option<Command> {
    let found = Command::new("python3")
        .args(["-m", "schemathesis.cli", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if found {
        let mut command = Command::new("python3");
        command.args(["-m", "schemathesis.cli"]);
        return Some(command);
    }
    quickscale_adapters::testing::require::skip(
        quickscale_adapters::testing::require::Requirement::Schemathesis,
        "not installed for python3: python3 -m pip install schemathesis",
    );
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_as_its_openapi_document_says() {
    let Some(mut command) = schemathesis() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let database = if std::env::var("QS_SCHEMATHESIS_DATABASE").as_deref() == Ok("postgres") {
        quickscale_adapters::testing::postgres::test_database_url()
            .await
            .expect("PostgreSQL for QS_SCHEMATHESIS_DATABASE=postgres")
    } else {
        format!("sqlite://{}", data.path().join("app.db").display())
    };
    let live = Live::start(&[("ENABLE_API", "true"), ("DATABASE_URL", &database)]).await;
    let mut keys = Vec::new();
    for account in 0..ACCOUNTS {
        let email = format!("api{account}@example.com");
        let client = browser();
        live.register(&client, &email).await;
        live.fund(&email, 1_000_000).await;
        for n in 0..KEYS_PER_ACCOUNT {
            keys.push(live.make_key(&client, &format!("Schemathesis {n}")).await);
        }
    }

    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis");
    let seconds = std::env::var("QS_SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "40".into());
    let seed = std::env::var("QS_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20260411".into());
    command
        .arg("--no-color")
        .arg("--config-file")
        .arg(here.join("config.toml"))
        .args(["run", &live.url("/api/v1/openapi.json")])
        .args(["--checks", "all", "--max-time", &seconds, "--seed", &seed])
        .args(["--workers", "2", "--max-failures", "30"])
        .args(
            std::env::var("QS_SCHEMATHESIS_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .current_dir(data.path())
        .env("SCHEMATHESIS_HOOKS", here.join("hooks.py"))
        .env("QS_API_KEYS", keys.join(","));
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("st runs");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}\n{}", String::from_utf8_lossy(&output.stderr));
    println!("Schemathesis took {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        output.status.success(),
        "Schemathesis found answers that do not match the document (see above)"
    );
}
