//! Telling users a run ended: signed webhooks to a local receiver (verified with the public
//! `verify_signature`), retries with growing waits, private addresses refused, replay, the
//! secret shown once, the completion email of a background run, and one delivery with two
//! instances on one PostgreSQL database.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use quickscale_adapters::testing::postgres::test_database_url;
use quickscale_service_sdk::notify::webhook::{SIGNATURE_HEADER, verify_signature};
use quickscale_service_sdk::notify::{DeliveryStatus, RunEnded, RunResult, WebhookDelivery};
use quickscale_service_sdk::{Credits, ServiceInput};
use serde_json::{Value, json};
use support::live::{Live, PASSWORD, browser, hidden, wait_until};

/// A webhook receiver on a local port: answers with the planned statuses (then 200) and keeps
/// every request it got.
#[derive(Clone, Default)]
struct Receiver {
    plan: Arc<Mutex<VecDeque<u16>>>,
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    url: String,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    receiver.got.lock().unwrap().push((headers, body));
    let status = receiver.plan.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    async fn start(plan: &[u16]) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut receiver = Receiver {
            plan: Arc::new(Mutex::new(plan.iter().copied().collect())),
            ..Receiver::default()
        };
        receiver.url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    fn request(&self, n: usize) -> (HeaderMap, Bytes) {
        self.got.lock().unwrap()[n].clone()
    }
}

const EMAIL: &str = "hooks@example.com";

/// A signed-in user with credits, and the notifications page's form fields.
async fn signed_in(live: &Live) -> reqwest::Client {
    let client = browser();
    live.register(&client, EMAIL).await;
    live.fund(EMAIL, 100).await;
    client
}

/// Registers `url` as the user's webhook on the settings page; the response's status and body.
async fn post_webhook(live: &Live, client: &reqwest::Client, url: &str) -> (u16, String) {
    let page = get_page(live, client, "/settings/notifications").await;
    let form = [
        ("url", url),
        ("current_password", PASSWORD),
        ("csrf_token", &hidden(&page, "csrf_token")),
    ];
    let response = client
        .post(live.url("/settings/notifications/webhook"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Ticks "Email me when a background run finishes" on the settings page.
async fn ask_for_emails(live: &Live, client: &reqwest::Client) {
    let page = get_page(live, client, "/settings/notifications").await;
    let response = client
        .post(live.url("/settings/notifications/email"))
        .form(&[
            ("email_background_runs", "on"),
            ("csrf_token", &hidden(&page, "csrf_token")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
}

/// The emails in the outbox (every email is stored there first) whose subject names `about`.
async fn mails_about(live: &Live, about: &str) -> Vec<quickscale_domain_kernel::EmailMessage> {
    live.outbox()
        .await
        .into_iter()
        .map(|m| m.message)
        .filter(|m| m.subject.contains(about))
        .collect()
}

async fn get_page(live: &Live, client: &reqwest::Client, path: &str) -> String {
    let response = client.get(live.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// Runs the sentiment service for the user, as the pages and the API do.
async fn run_service(live: &Live, key: &str) -> uuid::Uuid {
    let user = live.user(EMAIL).await;
    let outcome = live
        .state
        .runner()
        .run(
            user.id,
            "text_sentiment_analysis",
            ServiceInput::Text("I love this, it is wonderful.".into()),
            quickscale_domain_credits::IdempotencyKey::parse(key).unwrap(),
        )
        .await
        .unwrap();
    outcome.run.id
}

/// The delivery's status, once it is recorded.
async fn status_of(live: &Live, id: uuid::Uuid) -> Option<DeliveryStatus> {
    live.state
        .stores()
        .notifications
        .delivery(id)
        .await
        .unwrap()
        .map(|d| d.status)
}

async fn delivery(live: &Live, id: uuid::Uuid) -> WebhookDelivery {
    live.state
        .stores()
        .notifications
        .delivery(id)
        .await
        .unwrap()
        .expect("a delivery")
}

fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = headers
        .get(SIGNATURE_HEADER)
        .expect("the signature header")
        .to_str()
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    verify_signature(secret, header, body, now, 300).map_err(|e| e.to_string())
}

fn private_allowed() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ALLOW_PRIVATE_WEBHOOKS", "true"),
        ("WEBHOOK_RETRY_SECONDS", "1"),
    ]
}

/// Two instances on one PostgreSQL database, private webhooks allowed (`None`: PostgreSQL is
/// unavailable and not required).
async fn two_instances() -> Option<(Live, Live)> {
    let url = test_database_url().await?;
    let mut settings = private_allowed();
    settings.push(("DATABASE_URL", &url));
    Some((Live::start(&settings).await, Live::start(&settings).await))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_run_posts_a_signed_webhook_and_the_secret_is_shown_once() {
    let live = Live::start(&private_allowed()).await;
    let receiver = Receiver::start(&[]).await;
    let client = signed_in(&live).await;

    let (status, page) = post_webhook(&live, &client, &receiver.url).await;
    assert_eq!(status, 200, "{page}");
    let secret = hidden(&page, "new_secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let again = get_page(&live, &client, "/settings/notifications").await;
    assert!(!again.contains(&secret), "the secret is shown only once");
    assert!(again.contains(&receiver.url));

    let run = run_service(&live, "hook-run-1").await;
    wait_until("the webhook", async || receiver.count() == 1).await;
    let (headers, body) = receiver.request(0);
    assert_eq!(verify(&secret, &headers, &body), Ok(()));
    assert!(
        verify("whsec_wrong", &headers, &body).is_err(),
        "another secret does not verify"
    );
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "run.succeeded");
    assert_eq!(event["id"], format!("evt_{}", run.simple()));
    assert_eq!(event["data"]["id"], run.to_string());
    assert_eq!(event["data"]["service"], "text_sentiment_analysis");
    assert_eq!(event["data"]["status"], "succeeded");
    assert_eq!(event["data"]["background"], false);
    assert!(
        event["data"]["summary"]
            .as_str()
            .unwrap()
            .contains("Positive")
    );
    assert_eq!(headers["quickscale-event"], "run.succeeded");

    wait_until("the delivery recorded", async || {
        status_of(&live, run).await == Some(DeliveryStatus::Succeeded)
    })
    .await;
    let log = get_page(&live, &client, "/settings/notifications").await;
    assert!(
        log.contains("delivered") && log.contains("HTTP 200"),
        "{log}"
    );

    // A new secret replaces the old one: the next event verifies with it only.
    let page = get_page(&live, &client, "/settings/notifications").await;
    let rolled = client
        .post(live.url("/settings/notifications/webhook/secret"))
        .form(&[
            ("current_password", PASSWORD),
            ("csrf_token", &hidden(&page, "csrf_token")),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let new_secret = hidden(&rolled, "new_secret");
    assert_ne!(new_secret, secret);
    run_service(&live, "hook-run-2").await;
    wait_until("the second webhook", async || receiver.count() == 2).await;
    let (headers, body) = receiver.request(1);
    assert_eq!(verify(&new_secret, &headers, &body), Ok(()));
    assert!(verify(&secret, &headers, &body).is_err());
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_is_retried_with_growing_waits_until_it_answers() {
    let live = Live::start(&private_allowed()).await;
    let receiver = Receiver::start(&[500, 503]).await;
    let client = signed_in(&live).await;
    let (status, page) = post_webhook(&live, &client, &receiver.url).await;
    assert_eq!(status, 200, "{page}");
    let secret = hidden(&page, "new_secret");

    let run = run_service(&live, "retried-run").await;
    wait_until("three attempts", async || receiver.count() == 3).await;
    wait_until("the delivery recorded", async || {
        status_of(&live, run).await == Some(DeliveryStatus::Succeeded)
    })
    .await;
    // Every attempt sends the same event, each signed afresh.
    for n in 0..3 {
        let (headers, body) = receiver.request(n);
        assert_eq!(verify(&secret, &headers, &body), Ok(()));
        assert_eq!(body, receiver.request(0).1);
    }
    let stored = delivery(&live, run).await;
    assert_eq!(stored.attempts, 3);
    let (_, log) = &live
        .state
        .stores()
        .notifications
        .deliveries(live.user(EMAIL).await.id, 5)
        .await
        .unwrap()[0];
    let codes: Vec<Option<u16>> = log.iter().map(|a| a.outcome.status_code).collect();
    assert_eq!(codes, [Some(500), Some(503), Some(200)]);
    // Waits of 1 s, then 4 s (WEBHOOK_RETRY_SECONDS=1, four times longer each time), from the
    // start of one attempt to the start of the next.
    let first_wait = log[1].outcome.at - log[0].outcome.at;
    let second_wait = log[2].outcome.at - log[1].outcome.at;
    assert!(first_wait >= time::Duration::SECOND, "{first_wait}");
    assert!(second_wait >= time::Duration::seconds(4), "{second_wait}");
    assert!(second_wait > first_wait);
    // Nothing more is sent once it was answered.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.count(), 3);
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_without_the_switch() {
    let live = Live::start(&[]).await;
    let receiver = Receiver::start(&[]).await;
    let client = signed_in(&live).await;
    for url in [
        receiver.url.as_str(),
        "http://localhost:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://10.0.0.1/hook",
    ] {
        let (status, page) = post_webhook(&live, &client, url).await;
        assert_eq!(status, 422, "{url}");
        assert!(page.contains("is not public"), "{url}: {page}");
    }
    for url in ["ftp://example.com/hook", "not an address"] {
        let (status, page) = post_webhook(&live, &client, url).await;
        assert_eq!(status, 422, "{url}");
        assert!(page.contains("http:// or https://"), "{url}");
    }
    let user = live.user(EMAIL).await;
    assert_eq!(
        live.state
            .stores()
            .notifications
            .preferences(user.id)
            .await
            .unwrap()
            .webhook,
        None,
        "nothing registered"
    );

    // An address that became private after it was registered (DNS changed) is refused when
    // sending, and not retried.
    live.state
        .stores()
        .notifications
        .set_webhook(&quickscale_service_sdk::notify::WebhookEndpoint {
            user: user.id,
            url: receiver.url.clone(),
            secret_seed: "seed".into(),
            created_at: time::OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
    let run = run_service(&live, "private-run").await;
    wait_until("the refused attempt", async || {
        live.state
            .stores()
            .notifications
            .delivery(run)
            .await
            .unwrap()
            .is_some_and(|d| d.status == DeliveryStatus::Failed)
    })
    .await;
    let stored = delivery(&live, run).await;
    assert_eq!(stored.attempts, 1, "a refused address is not retried");
    assert_eq!(receiver.count(), 0, "nothing reached the private address");
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_sends_the_same_event_again_and_logs_it() {
    let live = Live::start(&private_allowed()).await;
    let receiver = Receiver::start(&[]).await;
    let client = signed_in(&live).await;
    let (_, page) = post_webhook(&live, &client, &receiver.url).await;
    let secret = hidden(&page, "new_secret");
    let run = run_service(&live, "replayed-run").await;
    wait_until("the delivery", async || {
        status_of(&live, run).await == Some(DeliveryStatus::Succeeded)
    })
    .await;

    let page = get_page(&live, &client, "/settings/notifications").await;
    let response = client
        .post(live.url(&format!("/settings/notifications/deliveries/{run}/replay")))
        .form(&[("csrf_token", hidden(&page, "csrf_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    wait_until("the replay", async || receiver.count() == 2).await;
    let (first_headers, first_body) = receiver.request(0);
    let (headers, body) = receiver.request(1);
    assert_eq!(body, first_body, "the same event");
    assert_eq!(
        headers["quickscale-event-id"],
        first_headers["quickscale-event-id"]
    );
    assert_eq!(verify(&secret, &headers, &body), Ok(()));
    wait_until("the replay logged", async || {
        delivery(&live, run).await.attempts == 2
    })
    .await;
    let log = get_page(&live, &client, "/settings/notifications").await;
    assert!(log.contains("replay"), "{log}");

    // Another user cannot replay it.
    let other = browser();
    live.register(&other, "other@example.com").await;
    let page = get_page(&live, &other, "/settings/notifications").await;
    let response = other
        .post(live.url(&format!("/settings/notifications/deliveries/{run}/replay")))
        .form(&[("csrf_token", hidden(&page, "csrf_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    live.stop().await;
}

fn ended(user: quickscale_domain_identity::UserId, background: bool) -> RunEnded {
    let now = time::OffsetDateTime::now_utc();
    RunEnded {
        run: uuid::Uuid::now_v7(),
        service: "text_sentiment_analysis".into(),
        user,
        result: RunResult::Failed,
        status: "failed".into(),
        cost: Credits::ZERO,
        summary: None,
        error: Some("the model was unavailable".into()),
        started_at: now - time::Duration::minutes(3),
        finished_at: now,
        background,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_run_end_is_emailed_to_a_user_who_asked() {
    let live = Live::start(&[]).await;
    let client = signed_in(&live).await;
    let user = live.user(EMAIL).await;
    let mails_about_runs = async || mails_about(&live, "Sentiment analysis").await;

    // Not asked: nothing.
    live.state
        .run_events()
        .run_ended(&ended(user.id, true))
        .await;
    ask_for_emails(&live, &client).await;
    assert!(
        live.state
            .stores()
            .notifications
            .preferences(user.id)
            .await
            .unwrap()
            .email_background_runs
    );
    // Asked, but the run ran in the request (its page showed the result): nothing.
    live.state
        .run_events()
        .run_ended(&ended(user.id, false))
        .await;
    // Asked, and it ran in the background: one email.
    live.state
        .run_events()
        .run_ended(&ended(user.id, true))
        .await;
    wait_until("the email", async || !mails_about_runs().await.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = mails_about_runs().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].to, EMAIL);
    assert_eq!(sent[0].subject, "Sentiment analysis failed");
    assert!(sent[0].text.contains("the model was unavailable"));
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_deliver_each_event_once() {
    let Some((first, second)) = two_instances().await else {
        return;
    };
    let receiver = Receiver::start(&[500]).await;
    let client = signed_in(&first).await;
    // The session is in the shared database (and the cookie jar does not tell ports apart):
    // the user registers the webhook on the second instance.
    let (status, page) = post_webhook(&second, &client, &receiver.url).await;
    assert_eq!(status, 200, "{page}");
    let secret = hidden(&page, "new_secret");

    // Both instances publish the same run's end (as two processes ending it would): one
    // delivery, its failed first attempt retried once, by whichever worker claims it.
    let user = first.user(EMAIL).await;
    let mut event = ended(user.id, false);
    event.result = RunResult::Succeeded;
    event.status = "succeeded".into();
    event.error = None;
    let (a, b) = tokio::join!(
        first.state.run_events().run_ended(&event),
        second.state.run_events().run_ended(&event)
    );
    let _ = (a, b);
    wait_until("the delivery", async || {
        status_of(&first, event.run).await == Some(DeliveryStatus::Succeeded)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        receiver.count(),
        2,
        "one failed attempt and one success, once each"
    );
    for n in 0..2 {
        let (headers, body) = receiver.request(n);
        assert_eq!(verify(&secret, &headers, &body), Ok(()));
        let event_json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(event_json["type"], json!("run.succeeded"));
    }
    assert_eq!(delivery(&second, event.run).await.attempts, 2);
    second.stop().await;
    first.stop().await;
}

/// Runs the sentiment service through the service's form, as a browser does.
async fn run_through_the_form(live: &Live, client: &reqwest::Client) {
    let path = "/services/text_sentiment_analysis";
    let page = get_page(live, client, path).await;
    let response = client
        .post(live.url(path))
        .form(&[
            ("input", "I love this, it is wonderful."),
            ("run_key", &hidden(&page, "run_key")),
            ("csrf_token", &hidden(&page, "csrf_token")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Charged 1 credit"));
}

/// Each instance keeps who asked to be told about their runs; a webhook registered or removed
/// through one instance decides the next run's announcement on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_changed_on_one_instance_decides_the_next_run_on_the_other() {
    let Some((first, second)) = two_instances().await else {
        return;
    };
    let receiver = Receiver::start(&[]).await;
    let client = signed_in(&first).await;
    let user = first.user(EMAIL).await;
    let deliveries = async || {
        let store = &second.state.stores().notifications;
        store.deliveries(user.id, 10).await.unwrap().len()
    };

    // Nothing asked for: the second instance's run is not announced (and it keeps that).
    run_through_the_form(&second, &client).await;
    let (status, page) = post_webhook(&first, &client, &receiver.url).await;
    assert_eq!(status, 200, "{page}");
    run_through_the_form(&second, &client).await;
    wait_until("the announced run", async || receiver.count() == 1).await;
    assert_eq!(deliveries().await, 1);

    // Removed through the first instance: the second's next run is not announced.
    let page = get_page(&first, &client, "/settings/notifications").await;
    let removed = client
        .post(first.url("/settings/notifications/webhook/remove"))
        .form(&[("csrf_token", hidden(&page, "csrf_token"))])
        .send()
        .await
        .unwrap();
    assert!(removed.status().is_redirection(), "{}", removed.status());
    let prefs = first.state.stores().notifications.preferences(user.id);
    assert_eq!(prefs.await.unwrap().webhook, None);
    run_through_the_form(&second, &client).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.count(), 1);
    assert_eq!(deliveries().await, 1);
    second.stop().await;
    first.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_account_removes_its_webhook() {
    let live = Live::start(&private_allowed()).await;
    let receiver = Receiver::start(&[]).await;
    let client = signed_in(&live).await;
    let (status, _) = post_webhook(&live, &client, &receiver.url).await;
    assert_eq!(status, 200);
    let user = live.user(EMAIL).await;
    let page = get_page(&live, &client, "/settings").await;
    let response = client
        .post(live.url("/settings/delete"))
        .form(&[
            ("current_password", PASSWORD),
            ("confirmation", "DELETE"),
            ("csrf_token", &hidden(&page, "csrf_token")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let prefs = live
        .state
        .stores()
        .notifications
        .preferences(user.id)
        .await
        .unwrap();
    assert_eq!(prefs.webhook, None);
    assert!(!prefs.email_background_runs);
    live.stop().await;
}

/// A background service of 2 credits that answers at once ("cancel me" waits for its cancel).
struct Summarising;

#[async_trait::async_trait]
impl quickscale_service_sdk::Service for Summarising {
    fn descriptor(&self) -> quickscale_service_sdk::ServiceDescriptor {
        quickscale_service_sdk::ServiceDescriptor::new("summarising", "Summarising")
            .cost(Credits::whole(2))
            .background()
            .timeout(Duration::from_secs(30))
    }

    async fn execute(
        &self,
        input: ServiceInput,
    ) -> Result<quickscale_service_sdk::ServiceOutput, quickscale_service_sdk::ServiceError> {
        Ok(quickscale_service_sdk::ServiceOutput::new(format!(
            "summary of {}",
            input.as_text().unwrap_or_default()
        )))
    }

    async fn execute_background(
        &self,
        input: ServiceInput,
        context: &quickscale_service_sdk::RunContext,
    ) -> Result<quickscale_service_sdk::ServiceOutput, quickscale_service_sdk::ServiceError> {
        while input.as_text() == Some("cancel me") {
            context.progress(0.5, "waiting").await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.execute(input).await
    }
}

/// The whole way, with a real background run: submitted, worked by the queue's worker, its hold
/// settled, then announced once with `background: true` (a signed webhook and, because the
/// user asked, an email); a cancelled background run is announced as `run.failed` with the
/// status `cancelled`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_run_is_announced_by_webhook_and_email_when_it_ends() {
    let live = Live::start_app(
        quickscale_app_web::App::new("Live").service(Summarising),
        &private_allowed(),
    )
    .await;
    let receiver = Receiver::start(&[]).await;
    let client = signed_in(&live).await;
    let (status, page) = post_webhook(&live, &client, &receiver.url).await;
    assert_eq!(status, 200, "{page}");
    let secret = hidden(&page, "new_secret");
    ask_for_emails(&live, &client).await;
    let user = live.user(EMAIL).await;
    let submit = async |text: &str, key: &str| {
        live.state
            .runner()
            .run(
                user.id,
                "summarising",
                ServiceInput::Text(text.into()),
                quickscale_domain_credits::IdempotencyKey::parse(key).unwrap(),
            )
            .await
            .unwrap()
            .run
    };

    let queued = submit("the quarterly report", "bg-hook-1").await;
    assert_eq!(queued.mode, quickscale_service_sdk::RunMode::Background);
    wait_until("the webhook of the background run", async || {
        receiver.count() == 1
    })
    .await;
    let (headers, body) = receiver.request(0);
    assert_eq!(verify(&secret, &headers, &body), Ok(()));
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "run.succeeded");
    assert_eq!(event["data"]["id"], queued.id.to_string());
    assert_eq!(event["data"]["background"], true);
    assert_eq!(event["data"]["cost"], "2");
    assert_eq!(event["data"]["summary"], "summary of the quarterly report");
    assert_eq!(live.balance(EMAIL).await, Credits::whole(198));
    let emails = async || mails_about(&live, "Summarising").await;
    wait_until("the completion email", async || !emails().await.is_empty()).await;
    assert_eq!(emails().await[0].to, EMAIL);

    // Cancelled while it runs: the hold comes back and the end is announced as failed.
    let waiting = submit("cancel me", "bg-hook-2").await;
    wait_until("the run to start", async || {
        let run = live
            .state
            .stores()
            .usage
            .get(user.id, waiting.id)
            .await
            .unwrap();
        run.is_some_and(|r| r.progress.is_some())
    })
    .await;
    live.state
        .runner()
        .cancel(user.id, waiting.id)
        .await
        .unwrap();
    wait_until("the webhook of the cancelled run", async || {
        receiver.count() == 2
    })
    .await;
    let (_, body) = receiver.request(1);
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "run.failed");
    assert_eq!(event["data"]["status"], "cancelled");
    assert_eq!(event["data"]["background"], true);
    assert_eq!(live.balance(EMAIL).await, Credits::whole(198));
    // Each end announced once: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(receiver.count(), 2);
    live.stop().await;
}
