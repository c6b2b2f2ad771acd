//! Faults survived: PostgreSQL stopped and restarted under load. The app answers 503 with a
//! clear page while the database is away, refuses a run submitted during the outage without
//! charging it, finishes a run the outage interrupted with one charge, recovers by itself, and
//! the ledger matches every run with its debit.

use std::time::Duration;

use async_trait::async_trait;
use quickscale_adapters::testing::postgres::Cluster;
use quickscale_app_web::App;
use quickscale_app_web::sdk::usage::charge_key;
use quickscale_app_web::sdk::{
    Credits, Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput,
};
use quickscale_domain_credits::{AccountId, EntryKind};

use crate::support::app_web::live::{Live, browser, hidden};

const SENTIMENT: &str = "/services/text_sentiment_analysis";
const SLOW: &str = "/services/slow_echo";

/// A paid service that takes a while: long enough to stop the database in the middle of it.
struct SlowEcho;

#[async_trait]
impl Service for SlowEcho {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("slow_echo", "Slow echo").cost(Credits::whole(1))
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        Ok(ServiceOutput::new(input.as_text().unwrap_or_default()))
    }
}

/// A service form as the browser holds it once the page is loaded.
struct Form {
    run_key: String,
    csrf_token: String,
}

async fn open_form(app: &Live, client: &reqwest::Client, path: &str) -> Form {
    let page = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    Form {
        run_key: hidden(&body, "run_key"),
        csrf_token: hidden(&body, "csrf_token"),
    }
}

/// Submits the form; returns the status and the page.
async fn submit(app: &Live, client: &reqwest::Client, path: &str, form: &Form) -> (u16, String) {
    let fields = [
        ("input", "Lovely"),
        ("run_key", form.run_key.as_str()),
        ("csrf_token", form.csrf_token.as_str()),
    ];
    let response = client
        .post(app.url(path))
        .form(&fields)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

/// Runs the sentiment service once, with the database up; returns the HTTP status.
async fn run(app: &Live, client: &reqwest::Client) -> u16 {
    let form = open_form(app, client, SENTIMENT).await;
    let (status, body) = submit(app, client, SENTIMENT, &form).await;
    assert!(status != 200 || body.contains("Charged 1 credit"), "{body}");
    status
}

/// What the books say about one user: balance, debits, runs.
#[derive(Debug, PartialEq)]
struct Books {
    balance: Credits,
    debits: usize,
    runs: usize,
}

async fn books(app: &Live, email: &str) -> Books {
    let user = app.user(email).await;
    let snapshot = app
        .state
        .credits()
        .snapshot(AccountId::new(user.id.as_uuid()))
        .await
        .unwrap();
    let runs = app
        .state
        .stores()
        .usage
        .charges(user.id, None, 1000)
        .await
        .unwrap();
    Books {
        balance: app.balance(email).await,
        debits: snapshot
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Consume)
            .count(),
        runs: runs.len(),
    }
}

/// Waits until a run of `email` is charged and still running (its service executing).
async fn charged_and_running(app: &Live, email: &str) {
    let user = app.user(email).await;
    let account = AccountId::new(user.id.as_uuid());
    for _ in 0..200 {
        let far = app.state.clock().now() + time::Duration::hours(1);
        let running = app.state.stores().usage.unfinished(far, 10).await.unwrap();
        let entries = app.state.credits().snapshot(account).await.unwrap().entries;
        let charged = running.iter().any(|run| {
            run.user == user.id
                && entries
                    .iter()
                    .any(|e| e.idempotency_key.as_ref() == Some(&charge_key(run.id)))
        });
        if charged {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the slow run never started");
}

async fn wait_for_health(app: &Live, client: &reqwest::Client) {
    for _ in 0..100 {
        if client
            .get(app.url("/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the app did not recover");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_gives_503_pages_refuses_runs_and_the_app_recovers_without_restart() {
    let Some(cluster) = Cluster::start_or_skip() else {
        return;
    };
    let url = cluster.url();
    let app = Live::start_app(
        App::new("Live").service(SlowEcho),
        &[("DATABASE_URL", &url), ("DATABASE_MAX_CONNECTIONS", "8")],
    )
    .await;
    let ada = browser();
    app.register(&ada, "ada@example.com").await;
    let mut succeeded = 0;
    for _ in 0..5 {
        if run(&app, &ada).await == 200 {
            succeeded += 1;
        }
    }
    assert_eq!(succeeded, 5);

    // The form is on the screen when the database goes away.
    let form = open_form(&app, &ada, SENTIMENT).await;
    let before = books(&app, "ada@example.com").await;
    assert_eq!(
        before,
        Books {
            balance: Credits::whole(95),
            debits: 5,
            runs: 5
        }
    );

    // Load while the database goes away and comes back.
    let load = {
        let (base_app, client) = (app.base.clone(), ada.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_secs(6) {
                let page = client.get(format!("{base_app}/dashboard")).send().await;
                statuses.push(page.map_or(0, |r| r.status().as_u16()));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            statuses
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.stop().unwrap();
    let down = ada.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(down.status(), 503);
    let body = down.text().await.unwrap();
    assert!(body.contains("Temporarily unavailable"), "{body}");
    assert!(body.contains("Nothing was changed"));
    assert_eq!(
        ada.get(app.url("/health")).send().await.unwrap().status(),
        503
    );
    let (status, body) = submit(&app, &ada, SENTIMENT, &form).await;
    assert_eq!(status, 503, "a run during the outage is refused: {body}");
    assert!(body.contains("Nothing was changed"), "{body}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.restart().unwrap();

    // The app recovers by itself, and the refused run changed nothing.
    wait_for_health(&app, &ada).await;
    let statuses = load.await.unwrap();
    assert!(statuses.contains(&503), "the outage was seen: {statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 503].contains(s)),
        "only 200 and 503 during the outage: {statuses:?}"
    );
    assert_eq!(books(&app, "ada@example.com").await, before);
    // The same form, sent again once the database is back, runs once.
    let (status, body) = submit(&app, &ada, SENTIMENT, &form).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Charged 1 credit"), "{body}");
    succeeded += 1;

    // The database stops while a run executes, and is back before the runner gives up
    // recording its end: the run is charged once and recorded as it ended.
    let slow = open_form(&app, &ada, SLOW).await;
    let running = {
        let (client, base) = (ada.clone(), app.base.clone());
        let fields = [
            ("input", "still here".to_owned()),
            ("run_key", slow.run_key.clone()),
            ("csrf_token", slow.csrf_token.clone()),
        ];
        tokio::spawn(async move {
            let response = client
                .post(format!("{base}{SLOW}"))
                .form(&fields)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            )
        })
    };
    charged_and_running(&app, "ada@example.com").await;
    cluster.stop().unwrap();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    cluster.restart().unwrap();
    let (status, body) = running.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Charged 1 credit"), "{body}");
    assert!(body.contains("still here"), "{body}");
    succeeded += 1;

    wait_for_health(&app, &ada).await;
    for _ in 0..3 {
        if run(&app, &ada).await == 200 {
            succeeded += 1;
        }
    }
    assert_eq!(succeeded, 10);

    // The books: each run matched with its one debit, nothing lost, nothing twice.
    let after = books(&app, "ada@example.com").await;
    assert_eq!(
        after,
        Books {
            balance: Credits::whole(90),
            debits: 10,
            runs: 10
        }
    );
    let report = quickscale_app_web::verify::verify_ledger(app.state.stores(), |_| {})
        .await
        .unwrap();
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!((report.charges.paid, report.charges.running), (10, 0));
}

/// A mail server that is down for the first attempts.
#[derive(Default)]
struct FlakyMailServer {
    failures_left: std::sync::Mutex<u32>,
    delivered: std::sync::Mutex<Vec<quickscale_domain_kernel::EmailMessage>>,
}

#[async_trait::async_trait]
impl quickscale_domain_kernel::Mailer for FlakyMailServer {
    async fn send(
        &self,
        message: &quickscale_domain_kernel::EmailMessage,
    ) -> Result<(), quickscale_domain_kernel::MailError> {
        let mut left = self.failures_left.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            return Err(quickscale_domain_kernel::MailError {
                message: "connection refused".into(),
                retryable: true,
            });
        }
        self.delivered.lock().unwrap().push(message.clone());
        Ok(())
    }
}

#[tokio::test]
async fn emails_queued_while_the_mail_server_is_down_are_sent_when_it_is_back() {
    use std::sync::Arc;
    let server = Arc::new(FlakyMailServer {
        failures_left: std::sync::Mutex::new(2),
        ..Default::default()
    });
    let clock = Arc::new(quickscale_domain_identity::FixedClock::at(
        time::OffsetDateTime::now_utc(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let config = quickscale_app_web::Config::from_pairs(
        dir.path(),
        "Faults",
        &[
            ("SECRET_KEY", "fault-test-secret-key-0123456789abcdef"),
            ("DATABASE_URL", "memory"),
        ],
    )
    .unwrap();
    let built = quickscale_app_web::App::new("Faults")
        .with_hasher(Arc::new(quickscale_adapters::memory::PlainTextHasher))
        .with_mailer(server.clone())
        .with_clock(clock.clone())
        .build(config)
        .await
        .unwrap();
    let state = built.state;
    let message = quickscale_domain_kernel::EmailMessage {
        to: "ada@example.com".into(),
        reply_to: None,
        subject: "Reset your password".into(),
        text: "link".into(),
        html: None,
    };
    // The user's action succeeds at once: the message is stored (and its delivery queued,
    // for workers, which this app does not run: this process delivers it itself).
    state.mailer().send(&message).await.unwrap();
    state.outbox_mailer().deliver_due().await;
    let outbox = state
        .stores()
        .outbox
        .list(&Default::default())
        .await
        .unwrap();
    assert_eq!(
        outbox[0].status.as_str(),
        "failed",
        "the first attempt failed"
    );
    assert_eq!(outbox[0].last_error.as_deref(), Some("connection refused"));
    // Nothing is retried before its time; then the worker's pass retries.
    state.outbox_mailer().deliver_due().await;
    assert_eq!(
        state
            .stores()
            .outbox
            .list(&Default::default())
            .await
            .unwrap()[0]
            .attempts,
        1
    );
    clock.advance(time::Duration::minutes(2));
    state.outbox_mailer().deliver_due().await;
    assert!(server.delivered.lock().unwrap().is_empty(), "still down");
    clock.advance(time::Duration::minutes(5));
    state.outbox_mailer().deliver_due().await;
    assert_eq!(
        server.delivered.lock().unwrap().len(),
        1,
        "sent once the server is back"
    );
    let stored = state
        .stores()
        .outbox
        .list(&Default::default())
        .await
        .unwrap();
    assert_eq!((stored[0].status.as_str(), stored[0].attempts), ("sent", 3));
    state.outbox_mailer().deliver_due().await;
    assert_eq!(
        server.delivered.lock().unwrap().len(),
        1,
        "never sent twice"
    );
}
