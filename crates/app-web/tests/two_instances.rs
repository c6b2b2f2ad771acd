//! Two app instances on one PostgreSQL database, each running its job workers as `serve` does:
//! with the mail server down, then back, every email is delivered exactly once (the queue, not
//! each process, owns a delivery). The same with the queue in Redis (`QUEUE=redis`), the data
//! still in the one database.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use quickscale_adapters::jobs::JobState;
use quickscale_adapters::testing::postgres::test_database_url;
use quickscale_adapters::testing::redis::{delete_prefixed, test_redis_url};
use quickscale_app_web::App;
use quickscale_domain_kernel::outbox::retry_delay;
use quickscale_domain_kernel::{
    EmailMessage, FixedClock, MailError, Mailer, OutboxMessage, OutboxQuery,
};
use support::live::Live;

/// A mail server that refuses connections until it is brought up.
#[derive(Default)]
struct MailSink {
    up: AtomicBool,
    refused: AtomicU32,
    delivered: Mutex<Vec<EmailMessage>>,
}

#[async_trait]
impl Mailer for MailSink {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        if !self.up.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(MailError {
                message: "connection refused".into(),
                retryable: true,
            });
        }
        self.delivered.lock().unwrap().push(message.clone());
        Ok(())
    }
}

fn message(n: usize) -> EmailMessage {
    EmailMessage {
        to: format!("user{n}@example.com"),
        reply_to: None,
        subject: format!("Message {n}"),
        text: "hello".into(),
        html: None,
    }
}

async fn outbox(app: &Live) -> Vec<OutboxMessage> {
    app.state
        .stores()
        .outbox
        .list(&OutboxQuery {
            limit: 100,
            ..OutboxQuery::default()
        })
        .await
        .unwrap()
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_email_once_when_the_mail_server_comes_back() {
    let Some(url) = test_database_url().await else {
        return;
    };
    let [first, second] = deliver_each_email_once(&[("DATABASE_URL", &url)]).await;
    assert!(!first.state.jobs().queue().is_redis());
    second.stop().await;
    first.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_a_redis_queue_deliver_each_email_once() {
    let (Some(url), Some(redis)) = (test_database_url().await, test_redis_url().await) else {
        return;
    };
    // Keys of this test's own, deleted at the end.
    let prefix = format!("test-instances-{}:", uuid::Uuid::new_v4().simple());
    let [first, second] = deliver_each_email_once(&[
        ("DATABASE_URL", &url),
        ("QUEUE", "redis"),
        ("REDIS_URL", &redis),
        ("REDIS_PREFIX", &prefix),
    ])
    .await;
    // The jobs went through Redis: the first attempts, the deliveries and the sweeps are done
    // there, and the database's queue holds nothing.
    let queue = first.state.jobs().queue();
    assert!(queue.is_redis());
    let done = queue
        .state_counts()
        .await
        .unwrap()
        .into_iter()
        .find(|(state, _)| *state == JobState::Done)
        .unwrap()
        .1;
    assert!(done >= 8, "{done} jobs done in Redis");
    let sql_jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM apalis.jobs")
        .fetch_one(&sqlx::PgPool::connect(&url).await.unwrap())
        .await
        .unwrap();
    assert_eq!(sql_jobs, 0);
    second.stop().await;
    first.stop().await;
    delete_prefixed(&redis, &prefix).await.unwrap();
}

/// Starts two instances with `settings`; four messages are stored (two by each) while the mail
/// server is down, then it comes back: each is delivered once. Returns the running instances.
async fn deliver_each_email_once(settings: &[(&str, &str)]) -> [Live; 2] {
    let sink = Arc::new(MailSink::default());
    let clock = Arc::new(FixedClock::at(time::OffsetDateTime::now_utc()));
    let start = |sink: Arc<MailSink>, clock: Arc<FixedClock>| async move {
        Live::start_app(
            App::new("Live").with_mailer(sink).with_clock(clock),
            settings,
        )
        .await
    };
    let first = start(Arc::clone(&sink), Arc::clone(&clock)).await;
    let second = start(Arc::clone(&sink), Arc::clone(&clock)).await;

    // Four messages, two stored by each instance, while the mail server is down.
    for n in 0..4 {
        let app = if n % 2 == 0 { &first } else { &second };
        app.state.mailer().send(&message(n)).await.unwrap();
    }
    wait_until("a first attempt at each message", async || {
        let stored = outbox(&first).await;
        stored.len() == 4 && stored.iter().all(|m| m.attempts == 1)
    })
    .await;
    assert_eq!(
        sink.refused.load(Ordering::SeqCst),
        4,
        "one attempt per message"
    );

    // The server is back and the retries are due: the next sweep queues each message once.
    sink.up.store(true, Ordering::SeqCst);
    clock.advance(retry_delay(1) + time::Duration::SECOND);
    wait_until("every message sent", async || {
        outbox(&second)
            .await
            .iter()
            .all(|m| m.status.as_str() == "sent")
    })
    .await;
    // Another sweep (every 10 s) passes: nothing is sent again.
    tokio::time::sleep(Duration::from_secs(11)).await;

    let mut subjects: Vec<String> = sink
        .delivered
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.subject.clone())
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        ["Message 0", "Message 1", "Message 2", "Message 3"],
        "each message delivered exactly once"
    );
    assert_eq!(sink.refused.load(Ordering::SeqCst), 4);
    for stored in outbox(&first).await {
        assert_eq!(
            stored.attempts, 2,
            "{}: one failure, one delivery",
            stored.message.to
        );
    }
    [first, second]
}
