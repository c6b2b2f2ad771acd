//! `verify-ledger` on real databases (SQLite, and PostgreSQL when available): runs of every kind
//! match the ledger; a database corrupted three ways (a debit dropped, a second debit under
//! another key, two runs pointing at one debit) is reported by run and entry, including the
//! case where the totals still add up.

mod support;

use async_trait::async_trait;
use quickscale_app_web::App;
use quickscale_app_web::sdk::charges::{Mismatch, Problem};
use quickscale_app_web::sdk::{
    Credits, Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput,
};
use quickscale_app_web::verify::{LedgerReport, verify_ledger};
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, EntryId, IdempotencyKey, Operation, Reason,
};
use quickscale_service_sdk::usage::RunStatus;
use support::TestApp;
use uuid::Uuid;

/// A paid service whose model is always down: every run is refunded.
struct AlwaysDown;

#[async_trait]
impl Service for AlwaysDown {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("always_down", "Always down").cost(Credits::whole(2))
    }

    async fn execute(&self, _input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        Err(ServiceError::Upstream("the model is down".into()))
    }
}

/// A service dearer than any welcome bonus: its runs are rejected.
struct Dear;

#[async_trait]
impl Service for Dear {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("dear", "Dear").cost(Credits::whole(10_000))
    }

    async fn execute(&self, _input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        Ok(ServiceOutput::new("never"))
    }
}

/// The database under test, for raw SQL.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

macro_rules! raw {
    ($raw:expr, $sql:expr $(, $bind:expr)*) => {
        match $raw {
            Raw::Sqlite(pool) => {
                sqlx::query($sql)$(.bind($bind))*.execute(pool).await.unwrap();
            }
            Raw::Postgres(pool) => {
                sqlx::query($sql)$(.bind($bind))*.execute(pool).await.unwrap();
            }
        }
    };
}

impl Raw {
    async fn open(url: &str) -> Raw {
        if url.starts_with("sqlite:") {
            Raw::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        } else {
            Raw::Postgres(sqlx::PgPool::connect(url).await.unwrap())
        }
    }

    /// Deletes a ledger entry and its allocations, as a botched manual fix would.
    async fn drop_entry(&self, entry: EntryId) {
        raw!(
            self,
            "DELETE FROM credit_allocations WHERE entry_id = $1",
            entry.0
        );
        raw!(self, "DELETE FROM credit_entries WHERE id = $1", entry.0);
    }

    /// Makes a run name another entry as its charge.
    async fn point(&self, run: Uuid, entry: EntryId) {
        raw!(
            self,
            "UPDATE service_runs SET charge_entry = $1 WHERE id = $2",
            entry.0,
            run
        );
    }
}

/// A database with runs of every kind: Ada has two paid successes, a free one, a refunded
/// failure and a rejected run; Bob one paid success.
struct Seeded {
    app: TestApp,
    url: String,
    ada: AccountId,
    /// Ada's paid successful runs and their debits.
    paid: Vec<(Uuid, EntryId)>,
    _dir: tempfile::TempDir,
}

impl Seeded {
    async fn on(url: String, dir: tempfile::TempDir) -> Seeded {
        let app = TestApp::with_app(
            App::new("Verify").service(AlwaysDown).service(Dear),
            &[("DATABASE_URL", &url)],
        )
        .await;
        let mut paid = Vec::new();
        for email in ["ada@example.com", "bob@example.com"] {
            app.browser()
                .register(email, "a long enough password")
                .await;
        }
        let ada = app.user("ada@example.com").await.id;
        let bob = app.user("bob@example.com").await.id;
        let run = |user, slug: &'static str, key: &'static str| {
            let runner = app.state.runner().clone();
            async move {
                runner
                    .run(
                        user,
                        slug,
                        ServiceInput::Text("What a lovely, helpful product".into()),
                        IdempotencyKey::parse(key).unwrap(),
                    )
                    .await
            }
        };
        for key in ["paid-1", "paid-2"] {
            let outcome = run(ada, "text_sentiment_analysis", key).await.unwrap();
            assert_eq!(outcome.run.status, RunStatus::Succeeded);
            paid.push((outcome.run.id, outcome.run.charge.unwrap()));
        }
        let free = run(ada, "demo_free_service", "free").await.unwrap();
        assert_eq!(
            (free.run.status, free.run.charge),
            (RunStatus::Succeeded, None)
        );
        let failed = run(ada, "always_down", "down").await.unwrap();
        assert_eq!(
            (failed.run.status, failed.run.refunded),
            (RunStatus::Failed, Credits::whole(2))
        );
        assert!(run(ada, "dear", "dear").await.is_err(), "rejected");
        run(bob, "text_sentiment_analysis", "bob").await.unwrap();
        Seeded {
            app,
            url,
            ada: AccountId::new(ada.as_uuid()),
            paid,
            _dir: dir,
        }
    }

    async fn sqlite() -> Seeded {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("app.db").display());
        Seeded::on(url, dir).await
    }

    async fn postgres() -> Option<Seeded> {
        let url = quickscale_adapters::testing::postgres::test_database_url().await?;
        Some(Seeded::on(url, tempfile::tempdir().unwrap()).await)
    }

    async fn verify(&self) -> LedgerReport {
        let mut printed = Vec::new();
        let report = verify_ledger(self.app.state.stores(), |finding| {
            printed.push(finding.to_string())
        })
        .await
        .unwrap();
        assert_eq!(
            printed,
            report
                .findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            "every finding is reported as it is found"
        );
        report
    }

    /// A well-formed debit on Ada's account under `key`, through the ledger itself.
    async fn debit(&self, key: &str) -> EntryId {
        let op = Operation {
            key: IdempotencyKey::parse(key).unwrap(),
            actor: Actor::System,
            reason: Reason::parse("Ran Sentiment analysis").unwrap(),
            command: CreditCommand::Consume {
                amount: Credits::whole(1),
            },
        };
        self.app
            .state
            .credits()
            .execute(self.ada, op, self.app.state.clock().now())
            .await
            .unwrap()
            .entry
    }
}

/// A hold taken through the ledger (its row in the open holds is written by the database's
/// triggers): verify passes; the row lost, or kept after its release, is reported.
async fn open_holds_that_disagree_with_the_ledger_are_reported(seeded: Seeded) {
    let now = seeded.app.state.clock().now();
    let op = |key: &str, command| Operation {
        key: IdempotencyKey::parse(key).unwrap(),
        actor: Actor::System,
        reason: Reason::parse("A run that takes a while").unwrap(),
        command,
    };
    let credits = seeded.app.state.credits();
    let hold = |key: &'static str| {
        let op = op(
            key,
            CreditCommand::Hold {
                amount: Credits::whole(1),
            },
        );
        async move { credits.execute(seeded.ada, op, now).await.unwrap().entry }
    };
    let kept = hold("hold-kept").await;
    let released = hold("hold-released").await;
    credits
        .execute(
            seeded.ada,
            op("release", CreditCommand::Release { hold: released }),
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        credits.balance_and_held(seeded.ada, now).await.unwrap().1,
        Credits::whole(1)
    );
    let report = seeded.verify().await;
    assert!(report.is_clean(), "{:#?}", report.findings);

    let raw = Raw::open(&seeded.url).await;
    raw!(
        &raw,
        "DELETE FROM credit_open_holds WHERE entry_id = $1",
        kept.0
    );
    let account = seeded.ada.as_uuid();
    raw!(
        &raw,
        "INSERT INTO credit_open_holds (entry_id, account_id) VALUES ($1, $2)",
        released.0,
        account
    );
    let report = seeded.verify().await;
    let found: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].ends_with(&format!(
            "the open holds stored (entry {}) are not the ledger's (entry {})",
            released.0, kept.0
        )),
        "{found:?}"
    );
    assert!(report.summary().ends_with("open holds mismatched 1"));
    assert!(!report.is_clean());
}

fn mismatches(report: &LedgerReport) -> Vec<Mismatch> {
    report.mismatches().cloned().collect()
}

async fn runs_of_every_kind_match(seeded: Seeded) {
    let report = seeded.verify().await;
    assert!(report.is_clean(), "{:#?}", report.findings);
    let c = report.charges;
    assert_eq!(
        (c.runs, c.paid, c.free, c.refunded, c.uncharged, c.running),
        (6, 3, 1, 1, 1, 0)
    );
    assert_eq!((c.debits, c.reversals), (4, 1));
    // Two users plus the admin.
    assert_eq!(report.accounts, 3);
}

async fn a_dropped_debit_is_reported_by_run(seeded: Seeded) {
    let (run, debit) = seeded.paid[0];
    Raw::open(&seeded.url).await.drop_entry(debit).await;
    let report = seeded.verify().await;
    assert_eq!(
        mismatches(&report),
        vec![Mismatch {
            run: Some(run),
            entry: Some(debit),
            problem: Problem::ChargeNotFound,
        }]
    );
    assert!(!report.is_clean());
}

async fn a_second_debit_is_reported_by_run_even_when_the_totals_add_up(seeded: Seeded) {
    let (doubled, _) = seeded.paid[1];
    let second = seeded.debit(&format!("run:{doubled}:again")).await;
    let stray = seeded.debit("manual-debit").await;
    let report = seeded.verify().await;
    assert_eq!(report.violations().count(), 0, "the ledger itself is sound");
    assert_eq!(
        mismatches(&report),
        vec![
            Mismatch {
                run: Some(doubled),
                entry: Some(second),
                problem: Problem::Unclaimed {
                    amount: Credits::whole(1),
                    key: Some(format!("run:{doubled}:again")),
                },
            },
            Mismatch {
                run: None,
                entry: Some(stray),
                problem: Problem::Unclaimed {
                    amount: Credits::whole(1),
                    key: Some("manual-debit".into()),
                },
            },
        ]
    );

    // With a debit dropped as well, counting successes against debits balances; matching
    // them one by one does not.
    let (missing, debit) = seeded.paid[0];
    let raw = Raw::open(&seeded.url).await;
    raw.drop_entry(debit).await;
    raw.drop_entry(stray).await;
    let report = seeded.verify().await;
    let c = report.charges;
    assert_eq!(c.paid, c.debits - c.reversals, "the totals add up");
    let found = mismatches(&report);
    assert!(
        found
            .iter()
            .any(|m| m.run == Some(missing) && m.entry == Some(debit)),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|m| m.run == Some(doubled) && m.entry == Some(second)),
        "{found:#?}"
    );
}

async fn two_runs_on_one_debit_are_reported_by_run(seeded: Seeded) {
    let (first, shared) = seeded.paid[0];
    let (second, own) = seeded.paid[1];
    Raw::open(&seeded.url).await.point(second, shared).await;
    let report = seeded.verify().await;
    assert_eq!(report.violations().count(), 0, "the ledger itself is sound");
    assert_eq!(
        mismatches(&report),
        vec![
            Mismatch {
                run: Some(first),
                entry: Some(shared),
                problem: Problem::SharedCharge {
                    others: vec![second]
                },
            },
            Mismatch {
                run: Some(second),
                entry: Some(shared),
                problem: Problem::SharedCharge {
                    others: vec![first]
                },
            },
            Mismatch {
                run: Some(second),
                entry: Some(own),
                problem: Problem::Unclaimed {
                    amount: Credits::whole(1),
                    key: Some(format!("run:{second}")),
                },
            },
        ]
    );
    let printed = report.findings[0].to_string();
    assert!(
        printed.starts_with(&format!("ada@example.com: run {first}, entry {shared}:")),
        "{printed}"
    );
}

#[tokio::test]
async fn sqlite_runs_of_every_kind_match() {
    runs_of_every_kind_match(Seeded::sqlite().await).await;
}

#[tokio::test]
async fn sqlite_a_dropped_debit_is_reported_by_run() {
    a_dropped_debit_is_reported_by_run(Seeded::sqlite().await).await;
}

#[tokio::test]
async fn sqlite_a_second_debit_is_reported_by_run_even_when_the_totals_add_up() {
    a_second_debit_is_reported_by_run_even_when_the_totals_add_up(Seeded::sqlite().await).await;
}

#[tokio::test]
async fn sqlite_two_runs_on_one_debit_are_reported_by_run() {
    two_runs_on_one_debit_are_reported_by_run(Seeded::sqlite().await).await;
}

#[tokio::test]
async fn postgres_runs_of_every_kind_match() {
    let Some(seeded) = Seeded::postgres().await else {
        return;
    };
    runs_of_every_kind_match(seeded).await;
}

#[tokio::test]
async fn postgres_a_dropped_debit_is_reported_by_run() {
    let Some(seeded) = Seeded::postgres().await else {
        return;
    };
    a_dropped_debit_is_reported_by_run(seeded).await;
}

#[tokio::test]
async fn postgres_a_second_debit_is_reported_by_run_even_when_the_totals_add_up() {
    let Some(seeded) = Seeded::postgres().await else {
        return;
    };
    a_second_debit_is_reported_by_run_even_when_the_totals_add_up(seeded).await;
}

#[tokio::test]
async fn postgres_two_runs_on_one_debit_are_reported_by_run() {
    let Some(seeded) = Seeded::postgres().await else {
        return;
    };
    two_runs_on_one_debit_are_reported_by_run(seeded).await;
}

#[tokio::test]
async fn sqlite_open_holds_that_disagree_with_the_ledger_are_reported() {
    open_holds_that_disagree_with_the_ledger_are_reported(Seeded::sqlite().await).await;
}

#[tokio::test]
async fn postgres_open_holds_that_disagree_with_the_ledger_are_reported() {
    let Some(seeded) = Seeded::postgres().await else {
        return;
    };
    open_holds_that_disagree_with_the_ledger_are_reported(seeded).await;
}
