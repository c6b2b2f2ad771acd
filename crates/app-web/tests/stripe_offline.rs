//! End to end against the offline Stripe stand-in: the app listens on a real port, the browser
//! (reqwest with cookies) pays on the stand-in's hosted page, and the stand-in's signed webhooks
//! come back over HTTP.

use std::sync::Arc;
use std::time::Duration;

use quickscale_adapters::memory::PlainTextHasher;
use quickscale_app_web::{App, AppState, Config};
use quickscale_domain_credits::{AccountId, Credits};
use quickscale_stripe_fake::{Fault, Running};

const PASSWORD: &str = "a long enough password";

struct Live {
    base: String,
    state: AppState,
    _dir: tempfile::TempDir,
}

impl Live {
    fn fake(&self) -> Arc<Running> {
        self.state
            .billing()
            .unwrap()
            .offline
            .clone()
            .expect("the offline stand-in runs")
    }

    async fn balance(&self, email: &str) -> Credits {
        let user = self
            .state
            .users()
            .by_email(&email.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        self.state
            .credits()
            .balance(AccountId::new(user.id.as_uuid()), self.state.clock().now())
            .await
            .unwrap()
            .total
    }

    async fn wait_for_balance(&self, email: &str, expected: Credits) {
        for _ in 0..200 {
            if self.balance(email).await == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "the balance never reached {expected}: {}",
            self.balance(email).await
        );
    }
}

async fn live() -> Live {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_pairs(
        dir.path(),
        "Live",
        &[
            ("SECRET_KEY", "live-test-secret-key-0123456789abcdef"),
            ("DATABASE_URL", "memory"),
            ("ENABLE_STRIPE", "true"),
            ("BASE_URL", &base),
            ("ADMIN_PASSWORD", "admin-password-1"),
        ],
    )
    .unwrap();
    let built = App::new("Live")
        .with_hasher(Arc::new(PlainTextHasher))
        .build(config)
        .await
        .unwrap();
    quickscale_app_web::onboarding::ensure_admin(&built.state)
        .await
        .unwrap();
    let router = built.router;
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Live {
        base,
        state: built.state,
        _dir: dir,
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn hidden(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} in {body}"));
    let tag = &body[at..at + body[at..].find('>').unwrap()];
    let value = &tag[tag.find("value=\"").unwrap() + 7..];
    value[..value.find('"').unwrap()].to_owned()
}

async fn register(app: &Live, client: &reqwest::Client, email: &str) {
    let page = client
        .get(format!("{}/register", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("email", email),
        ("password", PASSWORD),
        ("password_confirmation", PASSWORD),
        ("display_name", ""),
        ("csrf_token", &hidden(&page, "csrf_token")),
    ];
    let response = client
        .post(format!("{}/register", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
}

/// Starts a checkout and returns the hosted payment page's URL.
async fn checkout(app: &Live, client: &reqwest::Client) -> reqwest::Response {
    let page = client
        .get(format!("{}/billing", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Test mode."), "the page says it is test mode");
    let form = [
        ("pack", hidden(&page, "pack")),
        ("form_key", hidden(&page, "form_key")),
        ("csrf_token", hidden(&page, "csrf_token")),
    ];
    client
        .post(format!("{}/billing/checkout", app.base))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn pay(client: &reqwest::Client, hosted: &str, card: &str) -> reqwest::Response {
    let page = client.get(hosted).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("TEST MODE"), "{body}");
    let form = [
        ("email", "ada@example.com"),
        ("card_number", card),
        ("card_exp", "12 / 34"),
        ("card_cvc", "123"),
        ("card_name", "Ada"),
    ];
    client
        .post(format!("{hosted}/pay"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_on_the_hosted_page_grants_credits_once_even_with_redeliveries() {
    let app = live().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    let redirect = checkout(&app, &ada).await;
    assert_eq!(redirect.status(), 303);
    let hosted = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(hosted.starts_with(&app.fake().base_url), "{hosted}");

    let declined = pay(&ada, &hosted, "4000000000000002").await;
    assert_eq!(declined.status(), 402);
    assert!(
        declined
            .text()
            .await
            .unwrap()
            .contains("Your card was declined.")
    );
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(100));

    let paid = pay(&ada, &hosted, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    let success = paid.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        success.starts_with(&format!("{}/billing/success?session_id=cs_test_", app.base)),
        "{success}"
    );
    app.wait_for_balance("ada@example.com", Credits::whole(200))
        .await;
    for _ in 0..3 {
        let page = ada
            .get(&success)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("purchase-complete"), "{page}");
    }
    let completed = app.fake().events_of_type("checkout.session.completed");
    let id = completed[0]["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        app.fake().deliver_event(&id).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.balance("ada@example.com").await,
        Credits::whole(200),
        "credits are granted once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_and_withheld_events_end_in_the_right_state() {
    let app = live().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    app.fake().withhold_event_types(&[
        "checkout.session.completed",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]);
    let hosted = checkout(&app, &ada).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(pay(&ada, &hosted, "4242424242424242").await.status(), 303);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.balance("ada@example.com").await,
        Credits::whole(100),
        "nothing delivered yet"
    );

    // Reconciliation fetches what the inbox missed.
    let billing = app.state.billing().unwrap();
    let report = billing.billing.reconcile(100).await.unwrap();
    assert!(report.missing >= 1, "{report:?}");
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(200));

    // A second purchase whose events arrive newest first.
    let hosted = checkout(&app, &ada).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(pay(&ada, &hosted, "4242424242424242").await.status(), 303);
    let mut ids: Vec<String> = app
        .fake()
        .events()
        .iter()
        .rev()
        .take(4)
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort_by_key(|id| std::cmp::Reverse(id.clone()));
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    app.fake().deliver_events(&refs).await.unwrap();
    app.wait_for_balance("ada@example.com", Credits::whole(300))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_processor_down_at_checkout_leaves_nothing_half_done() {
    let app = live().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    app.fake().inject_fault(Fault::error(20));
    let response = checkout(&app, &ada).await;
    assert_eq!(response.headers()["location"], "/billing");
    let page = ada
        .get(format!("{}/billing", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Payments are unavailable right now. Nothing was charged"),
        "{page}"
    );
    app.fake().clear_faults();
    let user = app
        .state
        .users()
        .by_email(&"ada@example.com".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.state
            .billing()
            .unwrap()
            .billing
            .repository()
            .customer_of(user.id.as_uuid())
            .await
            .unwrap(),
        None
    );
    let again = checkout(&app, &ada).await;
    assert!(
        again.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&app.fake().base_url)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_claw_back_once_when_the_processor_reports_them_too() {
    let app = live().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    let hosted = checkout(&app, &ada).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    pay(&ada, &hosted, "4242424242424242").await;
    app.wait_for_balance("ada@example.com", Credits::whole(200))
        .await;
    let billing = app.state.billing().unwrap();
    let (payments, _) = billing
        .billing
        .repository()
        .payments(&quickscale_domain_billing::PaymentQuery {
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    let payment = &payments[0];
    let admin = uuid::Uuid::now_v7();
    let usd = |minor| {
        quickscale_domain_billing::Money::new(minor, quickscale_domain_billing::Currency::USD)
            .unwrap()
    };
    billing
        .billing
        .refund(payment.id, usd(300), "partial", admin)
        .await
        .unwrap();
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(170));
    let too_much = billing
        .billing
        .refund(payment.id, usd(800), "too much", admin)
        .await;
    assert!(too_much.is_err());
    // The stand-in sends charge.refunded for the refund; processing it changes nothing more.
    let event = app
        .fake()
        .wait_for_delivery("charge.refunded", Duration::from_secs(5))
        .await
        .expect("a charge.refunded delivery");
    assert!(event.succeeded, "{event:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(170));
    let refunds = billing
        .billing
        .repository()
        .refunds_of(payment.id)
        .await
        .unwrap();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
}
