//! Faults survived: PostgreSQL stopped and restarted under load. The app answers 503 with a
//! clear page while the database is away, recovers by itself, and the ledger shows no lost or
//! double charge.

mod support;

use std::time::Duration;

use quickscale_adapters::testing::postgres::Cluster;
use quickscale_domain_credits::{AccountId, Credits, EntryKind, verify};
use support::live::{Live, browser, hidden};

fn cluster() -> Option<Cluster> {
    match Cluster::start() {
        Ok(cluster) => Some(cluster),
        Err(why) if std::env::var("QS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!("PostgreSQL is required: {why}")
        }
        Err(why) => {
            eprintln!("skipping: {why}");
            None
        }
    }
}

/// Runs the sentiment service once; returns the HTTP status.
async fn run(app: &Live, client: &reqwest::Client) -> u16 {
    let Ok(page) = client
        .get(app.url("/services/text_sentiment_analysis"))
        .send()
        .await
    else {
        return 0;
    };
    if page.status() != 200 {
        return page.status().as_u16();
    }
    let body = page.text().await.unwrap_or_default();
    let form = [
        ("input", "Lovely"),
        ("run_key", &hidden(&body, "run_key")),
        ("csrf_token", &hidden(&body, "csrf_token")),
    ];
    client
        .post(app.url("/services/text_sentiment_analysis"))
        .form(&form)
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_gives_503_pages_and_the_app_recovers_without_restart() {
    let Some(cluster) = cluster() else { return };
    let url = cluster.url();
    let app = Live::start(&[("DATABASE_URL", &url), ("DATABASE_MAX_CONNECTIONS", "8")]).await;
    let ada = browser();
    app.register(&ada, "ada@example.com").await;
    let mut succeeded = 0;
    for _ in 0..5 {
        if run(&app, &ada).await == 200 {
            succeeded += 1;
        }
    }
    assert_eq!(succeeded, 5);

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
    assert_eq!(
        run(&app, &ada).await,
        503,
        "a run during the outage is refused, not half done"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.restart().unwrap();

    // The app recovers by itself.
    let mut recovered = false;
    for _ in 0..100 {
        if ada
            .get(app.url("/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the app did not recover");
    let statuses = load.await.unwrap();
    assert!(statuses.contains(&503), "the outage was seen: {statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 503].contains(s)),
        "only 200 and 503 during the outage: {statuses:?}"
    );
    for _ in 0..3 {
        if run(&app, &ada).await == 200 {
            succeeded += 1;
        }
    }
    assert_eq!(succeeded, 8);

    // The books: one debit per successful run, nothing lost, nothing twice.
    let user = app.user("ada@example.com").await;
    let account = AccountId::new(user.id.as_uuid());
    let snapshot = app.state.credits().snapshot(account).await.unwrap();
    assert!(verify(&snapshot).is_empty(), "{:?}", verify(&snapshot));
    let debits = snapshot
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Consume)
        .count();
    assert_eq!(debits, succeeded);
    assert_eq!(
        app.balance("ada@example.com").await,
        Credits::whole(100 - succeeded as u32)
    );
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
    // The user's action succeeds at once: the message is stored.
    state.mailer().send(&message).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
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
