//! Two app instances on one PostgreSQL database, each running its job workers as `serve` does:
//! with the mail server down, then back, every email is delivered exactly once (the queue, not
//! each process, owns a delivery), also with the queue in Redis (`QUEUE=redis`, the data still
//! in the one database); a Stripe webhook event delivered to both at once, and again later,
//! grants its credits once; an event whose processing failed is retried by the inbox sweep both
//! run, as one job, and processed once.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use quickscale_adapters::jobs::{Enqueue, JobState};
use quickscale_adapters::testing::gateway::ScriptedGateway;
use quickscale_adapters::testing::postgres::test_database_url;
use quickscale_adapters::testing::redis::{delete_prefixed, test_redis_url};
use quickscale_app_web::App;
use quickscale_app_web::queue::{Chore, Job, webhook_key};
use quickscale_domain_billing::{EventStatus, PaymentQuery, WebhookEvent, sign};
use quickscale_domain_credits::{AccountId, Credits, GrantKind};
use quickscale_domain_kernel::outbox::retry_delay;
use quickscale_domain_kernel::{Clock, EmailMessage, FixedClock, MailError, Mailer};
use support::live::{Live, browser, wait_until};

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
        let stored = first.outbox().await;
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
        second
            .outbox()
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
    for stored in first.outbox().await {
        assert_eq!(
            stored.attempts, 2,
            "{}: one failure, one delivery",
            stored.message.to
        );
    }
    [first, second]
}

/// The webhook secret both instances verify with (one Stripe account).
const SECRET: &str = "whsec_two_instances";

/// Starts an instance with billing on: the same database and the same processor (the scripted
/// gateway) as the others, its own clock's time.
async fn billing_instance(
    url: &str,
    gateway: &Arc<ScriptedGateway>,
    clock: &Arc<FixedClock>,
) -> Live {
    Live::start_app(
        App::new("Live")
            .with_gateway(gateway.clone(), SECRET)
            .with_clock(clock.clone()),
        &[("DATABASE_URL", url), ("ENABLE_STRIPE", "true")],
    )
    .await
}

/// Starts buying the first pack on `app` as the user signed in on `client`; returns the
/// checkout session.
async fn checkout(app: &Live, client: &reqwest::Client) -> String {
    let redirect = app.checkout(client).await;
    assert_eq!(redirect.status(), 303);
    let location = redirect.headers()["location"].to_str().unwrap();
    location.rsplit('/').next().unwrap().to_owned()
}

/// Posts `event` to `app`'s webhook endpoint, signed as the processor signs it at `clock`'s time.
async fn deliver(app: &Live, event: &WebhookEvent, clock: &FixedClock) -> u16 {
    let signature = sign(
        event.payload.as_bytes(),
        SECRET,
        clock.now().unix_timestamp(),
    );
    reqwest::Client::new()
        .post(app.url("/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(event.payload.clone())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// What a purchase left behind for `email`: the purchase grants, the payments and the receipts.
async fn purchase_records(app: &Live, email: &str) -> (usize, usize, usize) {
    let user = app.user(email).await;
    let grants = app
        .state
        .credits()
        .open_grants(AccountId::new(user.id.as_uuid()))
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g.kind == GrantKind::Purchase)
        .count();
    let repo = app.state.billing().unwrap().billing.repository().clone();
    let (payments, _) = repo
        .payments(&PaymentQuery {
            user: Some(user.id.as_uuid()),
            limit: 100,
            ..PaymentQuery::default()
        })
        .await
        .unwrap();
    let receipts = app
        .outbox()
        .await
        .iter()
        .filter(|m| m.message.to == email && m.message.subject.contains("receipt"))
        .count();
    (grants, payments.len(), receipts)
}

/// The queue's jobs (done or not) that processed or retry `event`.
async fn webhook_jobs(app: &Live, event: &str) -> Vec<String> {
    let prefix = format!("webhook:{event}:");
    let mut keys = Vec::new();
    for state in [None, Some(JobState::Done)] {
        for job in app.state.jobs().queue().list(state, 0, 500).await.unwrap() {
            if let Some(key) = job.key.filter(|k| k.starts_with(&prefix)) {
                keys.push(key);
            }
        }
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_event_delivered_to_both_instances_grants_its_credits_once() {
    let Some(url) = test_database_url().await else {
        return;
    };
    let gateway = Arc::new(ScriptedGateway::default());
    let clock = Arc::new(FixedClock::at(time::OffsetDateTime::now_utc()));
    let first = billing_instance(&url, &gateway, &clock).await;
    let second = billing_instance(&url, &gateway, &clock).await;
    let (ada, bob) = (browser(), browser());
    first.register(&ada, "ada@example.com").await;
    second.register(&bob, "bob@example.com").await;

    // The same event reaches both instances at the same moment (the processor retried, or a
    // load balancer sent it twice), then once more later: its effect happens once.
    let session = checkout(&first, &ada).await;
    let paid = gateway.pay(&session);
    let (a, b) = tokio::join!(
        deliver(&first, &paid, &clock),
        deliver(&second, &paid, &clock)
    );
    assert_eq!((a, b), (200, 200));
    support::wait_for_inbox(&first.state, &paid.id, 2).await;
    assert_eq!(second.balance("ada@example.com").await, Credits::whole(200));
    assert_eq!(deliver(&second, &paid, &clock).await, 200);
    let stored = support::wait_for_inbox(&first.state, &paid.id, 3).await;
    assert_eq!(stored.status, EventStatus::Processed, "{stored:?}");
    assert_eq!(first.balance("ada@example.com").await, Credits::whole(200));
    assert_eq!(
        purchase_records(&first, "ada@example.com").await,
        (1, 1, 1),
        "one grant, one payment, one receipt"
    );

    // An event whose processing fails (the processor cannot be reached to read the session):
    // kept with its error, and retried once it is due by the inbox sweeps both instances run,
    // as one job (keyed by the event and its attempts).
    let session = checkout(&second, &bob).await;
    gateway.set_down(true);
    let paid = gateway.pay(&session);
    assert_eq!(deliver(&first, &paid, &clock).await, 200);
    let failed = support::wait_for_inbox(&first.state, &paid.id, 1).await;
    assert_eq!(failed.status, EventStatus::Failed, "{failed:?}");
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("outage"),
        "{failed:?}"
    );
    assert_eq!(second.balance("bob@example.com").await, Credits::whole(100));
    gateway.set_down(false);
    clock.advance(quickscale_domain_billing::retry_delay(0) + time::Duration::SECOND);
    // Besides their scheduled ticks (one sweep job per tick for all instances), each instance
    // sweeps now, at the same moment: both find the event due and queue its retry.
    let sweep = || Job::Chore {
        chore: Chore::SweepWebhookInbox,
    };
    let (a, b) = tokio::join!(
        first.state.jobs().push(sweep(), Enqueue::now()),
        second.state.jobs().push(sweep(), Enqueue::now())
    );
    a.unwrap();
    b.unwrap();
    let retried = support::wait_for_inbox(&second.state, &paid.id, 2).await;
    assert_eq!(retried.status, EventStatus::Processed, "{retried:?}");
    second
        .wait_for_balance("bob@example.com", Credits::whole(200))
        .await;
    // Another sweep (every 10 s) passes on both: nothing is processed again.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(support::inbox_attempts(&first.state, &paid.id).await, 2);
    assert_eq!(
        webhook_jobs(&first, &paid.id).await,
        [webhook_key(&paid.id, 1)],
        "one retry job, whichever instance swept first"
    );
    assert_eq!(
        purchase_records(&second, "bob@example.com").await,
        (1, 1, 1),
        "one grant, one payment, one receipt"
    );
    assert_eq!(first.balance("ada@example.com").await, Credits::whole(200));
    second.stop().await;
    first.stop().await;
}
