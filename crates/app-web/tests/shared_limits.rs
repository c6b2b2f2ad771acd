//! Several instances, one budget: two app instances on one PostgreSQL database, their rate limits
//! kept in the database (the default on PostgreSQL) or in Redis (`REDIS_URL`), give a client who
//! spreads its requests over both the documented budget, not twice it; with `RATE_LIMITS=process`
//! each instance counts alone (the control). The refusals stay as they were: 429 with
//! `Retry-After`, a page for the browser routes, a problem document under `/api/`.

mod support;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use quickscale_adapters::testing::{postgres::test_database_url, redis::test_redis_url};
use quickscale_app_web::limits::Budget;
use serde_json::Value;
use support::{Browser, TestApp};
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";

/// Where the two instances keep their budgets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sharing {
    /// `RATE_LIMITS` left at `auto` on PostgreSQL: the database.
    Database,
    /// `REDIS_URL` set: Redis.
    Redis,
    /// `RATE_LIMITS=process`: each instance alone.
    Process,
}

/// Two instances of the app on one new PostgreSQL database, or `None` when PostgreSQL (or Redis,
/// for `Sharing::Redis`) is missing and not required (the skip is recorded).
async fn two_instances(sharing: Sharing, extra: &[(&str, &str)]) -> Option<(TestApp, TestApp)> {
    let database = test_database_url().await?;
    let redis = match sharing {
        Sharing::Redis => Some(test_redis_url().await?),
        _ => None,
    };
    let mut settings = vec![("DATABASE_URL", database.as_str())];
    match (&redis, sharing) {
        (Some(url), _) => settings.push(("REDIS_URL", url.as_str())),
        (None, Sharing::Process) => settings.push(("RATE_LIMITS", "process")),
        _ => {}
    }
    settings.extend_from_slice(extra);
    // One after the other: the first migrates the database and seeds the admin.
    let first = TestApp::with(&settings).await;
    let second = TestApp::with(&settings).await;
    let expected = match sharing {
        Sharing::Database => quickscale_app_web::limits::Sharing::Database,
        Sharing::Redis => quickscale_app_web::limits::Sharing::Redis,
        Sharing::Process => quickscale_app_web::limits::Sharing::Process,
    };
    assert_eq!(first.state.limits().sharing, expected);
    Some((first, second))
}

/// A client address of its own for each run, so runs against a long-lived Redis never meet.
fn fresh_address() -> [u8; 4] {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    [10, bytes[0], bytes[1], bytes[2].max(1)]
}

/// Twelve wrong sign-ins from one address, alternating between the instances: the answers.
async fn twelve_sign_ins_over_both(first: &TestApp, second: &TestApp) -> Vec<support::Page> {
    let address = fresh_address();
    let mut browsers = [first.browser_at(address), second.browser_at(address)];
    for browser in &mut browsers {
        browser.get("/login").await;
    }
    let mut answers = Vec::new();
    for attempt in 0..12 {
        let page = browsers[attempt % 2]
            .post(
                "/login",
                &[("email", "x@example.com"), ("password", "whatever12")],
            )
            .await;
        answers.push(page);
    }
    answers
}

async fn sign_in_budget_is_shared(sharing: Sharing) {
    let Some((first, second)) = two_instances(sharing, &[]).await else {
        return;
    };
    let answers = twelve_sign_ins_over_both(&first, &second).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|page| page.status).collect();
    // The documented budget: ten at once, then one every 6 s, whichever instance answers.
    assert!(
        statuses[..10]
            .iter()
            .all(|s| *s != StatusCode::TOO_MANY_REQUESTS),
        "{sharing:?}: {statuses:?}"
    );
    assert_eq!(
        statuses[10..],
        [StatusCode::TOO_MANY_REQUESTS; 2],
        "{sharing:?}: {statuses:?}"
    );
    for page in &answers[10..] {
        assert!(page.contains("Too many attempts"), "a readable page");
        let wait: u64 = page.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=6).contains(&wait), "{wait}");
    }
}

#[tokio::test]
async fn sign_ins_spread_over_two_instances_share_one_budget_in_the_database() {
    sign_in_budget_is_shared(Sharing::Database).await;
}

#[tokio::test]
async fn sign_ins_spread_over_two_instances_share_one_budget_in_redis() {
    sign_in_budget_is_shared(Sharing::Redis).await;
}

/// The control: counted in each process, two instances give twice the budget, which is what the
/// shared stores prevent.
#[tokio::test]
async fn counted_in_each_process_two_instances_give_twice_the_budget() {
    let Some((first, second)) = two_instances(Sharing::Process, &[]).await else {
        return;
    };
    let answers = twelve_sign_ins_over_both(&first, &second).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|page| page.status).collect();
    assert!(
        statuses.iter().all(|s| *s != StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

/// One API call through `app`, from `address`: the status, the headers and the JSON body.
async fn api_call(app: &TestApp, address: [u8; 4], key: &str) -> (StatusCode, HeaderMap, Value) {
    let request = Request::builder()
        .uri("/api/v1/me")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            address, 50_000,
        ))))
        .body(Body::empty())
        .unwrap();
    let response = app.unlayered_router().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn assert_rate_limited(answer: &(StatusCode, HeaderMap, Value)) {
    let (status, headers, body) = answer;
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "rate_limited", "{body}");
    assert_eq!(body["status"], 429, "{body}");
    let wait: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
}

/// Makes an API key in settings on `app` and returns it.
async fn make_key(browser: &mut Browser) -> String {
    let page = browser.get("/settings/api-keys").await;
    let token = page.input_value("form_token").expect("a form token");
    let made = browser
        .post(
            "/settings/api-keys",
            &[
                ("name", "Shared"),
                ("current_password", PASSWORD),
                ("form_token", &token),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    made.input_value("new_key").expect("the new key is shown")
}

async fn api_budgets_are_shared(sharing: Sharing) {
    let settings = [
        ("ENABLE_API", "true"),
        ("API_RATE_BURST", "5"),
        ("API_RATE_PER_MINUTE", "1"),
    ];
    let Some((first, second)) = two_instances(sharing, &settings).await else {
        return;
    };
    let mut ada = first.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let key = make_key(&mut ada).await;
    let instances = [&first, &second];

    // The key's budget: five at once over both instances, then 429 on either.
    let client = fresh_address();
    for n in 0..5 {
        let (status, _, body) = api_call(instances[n % 2], client, &key).await;
        assert_eq!(status, StatusCode::OK, "{sharing:?} call {n}: {body}");
    }
    for instance in instances {
        assert_rate_limited(&api_call(instance, client, &key).await);
    }

    // Wrong keys from one address: twenty over both instances, then 429 before any lookup.
    let guesser = fresh_address();
    for n in 0..20 {
        let wrong = format!("qs_{}", uuid::Uuid::new_v4().simple());
        let (status, _, body) = api_call(instances[n % 2], guesser, &wrong).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{sharing:?} guess {n}: {body}"
        );
    }
    for instance in instances {
        let wrong = format!("qs_{}", uuid::Uuid::new_v4().simple());
        assert_rate_limited(&api_call(instance, guesser, &wrong).await);
    }
}

#[tokio::test]
async fn an_api_keys_budget_and_a_guessers_budget_hold_over_two_instances_in_the_database() {
    api_budgets_are_shared(Sharing::Database).await;
}

#[tokio::test]
async fn an_api_keys_budget_and_a_guessers_budget_hold_over_two_instances_in_redis() {
    api_budgets_are_shared(Sharing::Redis).await;
}

/// Housekeeping on any instance forgets only budgets that are whole again: a spent one stays
/// spent for both.
#[tokio::test]
async fn housekeeping_on_one_instance_keeps_spent_budgets() {
    let Some((first, second)) = two_instances(Sharing::Database, &[]).await else {
        return;
    };
    let client = format!("{:?}", fresh_address());
    for _ in 0..10 {
        assert_eq!(
            second.state.limits().spend(Budget::SignIn, &client).await,
            Ok(())
        );
    }
    first.state.limits().forget_idle_budgets().await;
    assert!(
        second
            .state
            .limits()
            .spend(Budget::SignIn, &client)
            .await
            .is_err(),
        "a spent budget survives housekeeping"
    );
}

/// With the budgets in the database, each process's own housekeeping leaves them alone: the
/// queue's chore forgets the ones that are whole again, once per tick (pushed under the tick's
/// key by every instance, run by one).
#[tokio::test]
async fn idle_budgets_in_the_database_are_forgotten_by_the_queues_chore() {
    use quickscale_adapters::jobs::Enqueue;
    use quickscale_app_web::queue::{Chore, Job};
    let Some(url) = test_database_url().await else {
        return;
    };
    let clock = std::sync::Arc::new(quickscale_domain_kernel::FixedClock::at(
        time::OffsetDateTime::now_utc(),
    ));
    let start = async || {
        TestApp::with_app(
            quickscale_app_web::App::new("Test App").with_clock(clock.clone()),
            &[("DATABASE_URL", url.as_str())],
        )
        .await
    };
    let first = start().await;
    let second = start().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let buckets = async || -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM rate_limit_buckets")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let client = format!("{:?}", fresh_address());
    assert_eq!(
        first.state.limits().spend(Budget::SignIn, &client).await,
        Ok(())
    );
    assert_eq!(buckets().await, 1);
    // An hour on, the budget is whole again.
    clock.advance(time::Duration::HOUR);
    first.state.limits().forget_idle_here().await;
    second.state.limits().forget_idle_here().await;
    assert_eq!(
        buckets().await,
        1,
        "a process's own housekeeping leaves the shared store"
    );

    for instance in [&first, &second] {
        instance
            .state
            .jobs()
            .push(
                Job::Chore {
                    chore: Chore::ForgetIdleRateLimits,
                },
                Enqueue::now().key("chore:forget_idle_rate_limits:test-tick"),
            )
            .await
            .unwrap();
    }
    for _ in 0..200 {
        if buckets().await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the chore did not forget the idle budget");
}
