//! The admin's lists at 100,000 rows: fills the users, the audit log and the payments with
//! `ROWS` rows each (default 100,000) on SQLite and on PostgreSQL (the test harness's server, or
//! `TEST_DATABASE_URL`), signs in as the admin and times pages of `/admin/users`,
//! `/admin/audit` and `/admin/payments` through the app's router (the handlers, the queries and
//! the templates; no network), first, middle and last pages and a search. Prints the median and
//! the slowest of `REPEATS` requests (default 20) per page. Every answer must be a 200 holding a
//! full page of rows, or the benchmark stops.
//!
//! ```text
//! cargo run --release -p quickscale-app-web --example admin_lists_bench
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use quickscale_adapters::memory::PlainTextHasher;
use quickscale_adapters::testing::postgres::test_database_url;
use quickscale_app_web::{App, AppState, Config};
use quickscale_domain_billing::{Currency, Money, Payment, PaymentId, PaymentStatus};
use quickscale_domain_credits::Credits;
use quickscale_domain_identity::{
    AccountLoginState, DisplayName, Email, PasswordHash, Profile, Role, User, UserId,
};
use quickscale_domain_kernel::AuditEntry;
use time::OffsetDateTime;
use tower::ServiceExt;
use uuid::Uuid;

const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "admin-password-1";
/// Rows per page of the admin's lists (users: `routes::admin::PAGE_SIZE`; logs: 50).
const PAGE_ROWS: usize = 20;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows = env_number("ROWS", 100_000);
    let repeats = env_number("REPEATS", 20).max(1);
    println!(
        "admin lists at {rows} rows each, {repeats} requests per page; load average {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let data = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", data.path().join("app.db").display());
    bench("SQLite", &sqlite, rows, repeats).await?;
    match test_database_url().await {
        Some(url) => bench("PostgreSQL", &url, rows, repeats).await?,
        None => println!("PostgreSQL: no server (set TEST_DATABASE_URL or install PostgreSQL)"),
    }
    Ok(())
}

async fn bench(
    backend: &str,
    url: &str,
    rows: usize,
    repeats: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let pairs = [
        ("SECRET_KEY", "bench-secret-key-bench-secret-key-0123456789"),
        ("DATABASE_URL", url),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("ENABLE_STRIPE", "true"),
    ];
    let config = Config::from_pairs(dir.path(), "Bench", &pairs)?;
    let built = App::new("Bench")
        .with_hasher(Arc::new(PlainTextHasher))
        .build(config)
        .await?;
    quickscale_app_web::onboarding::ensure_admin(&built.state).await?;
    let started = Instant::now();
    fill(&built.state, rows).await?;
    println!(
        "{backend}: filled {rows} users, {rows} audit entries, {rows} payments in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let router = built.router.layer(axum::middleware::map_request(
        |mut request: Request<Body>| async move {
            request.extensions_mut().insert(axum::extract::ConnectInfo(
                std::net::SocketAddr::from(([127, 0, 0, 1], 50_000)),
            ));
            request
        },
    ));
    let mut admin = Client::new(router);
    admin.sign_in().await?;
    let last_users = rows.div_ceil(PAGE_ROWS);
    let last_logs = rows.div_ceil(50);
    let pages = [
        ("users, page 1", "/admin/users".to_owned(), "<tr"),
        (
            "users, middle page",
            format!("/admin/users?page={}", last_users / 2),
            "<tr",
        ),
        (
            "users, last page",
            format!("/admin/users?page={last_users}"),
            "<tr",
        ),
        (
            "users, search",
            "/admin/users?q=user4242".to_owned(),
            "user4242@example.com",
        ),
        ("audit log, page 1", "/admin/audit".to_owned(), "<tr"),
        (
            "audit log, last page",
            format!("/admin/audit?page={last_logs}"),
            "<tr",
        ),
        ("payments, page 1", "/admin/payments".to_owned(), "<tr"),
        (
            "payments, last page",
            format!("/admin/payments?page={last_logs}"),
            "<tr",
        ),
    ];
    println!("{backend}: page | median ms | slowest ms");
    for (name, path, expected) in pages {
        let mut times = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let started = Instant::now();
            let (status, body) = admin.get(&path).await?;
            times.push(started.elapsed());
            if status != StatusCode::OK || !body.contains(expected) {
                return Err(
                    format!("{backend} {path}: {status}, no {expected:?} in the page").into(),
                );
            }
        }
        times.sort();
        println!(
            "{backend}: {name} ({path}) | {:.1} | {:.1}",
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
    }
    built.state.database().close().await;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `rows` users, audit entries and payments, written by eight tasks at once.
async fn fill(state: &AppState, rows: usize) -> Result<(), Box<dyn std::error::Error>> {
    let admin = state
        .users()
        .by_email(&Email::parse(ADMIN_EMAIL)?)
        .await?
        .ok_or("no admin")?;
    let start = OffsetDateTime::now_utc() - time::Duration::days(400);
    let tasks = 8;
    let mut set = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let state = state.clone();
        let admin = admin.id.as_uuid();
        set.spawn(async move {
            let billing = state
                .billing()
                .expect("billing is on")
                .billing
                .repository()
                .clone();
            for n in (task..rows).step_by(tasks) {
                let at = start + time::Duration::minutes(i64::try_from(n).unwrap_or(0) * 5);
                let user = User {
                    id: UserId::generate(),
                    email: Email::parse(&format!("user{n}@example.com")).expect("an email"),
                    password_hash: PasswordHash::from_phc("$plain$secret-password"),
                    role: Role::User,
                    display_name: DisplayName::parse(&format!("User {n}")).expect("a name"),
                    is_active: n % 10 != 0,
                    email_verified_at: (n % 2 == 0).then_some(at),
                    created_at: at,
                    login: AccountLoginState::default(),
                    profile: Profile::default(),
                    onboarded_at: Some(at),
                    deleted_at: None,
                };
                state.users().insert(&user).await.expect("a user");
                state
                    .stores()
                    .audit
                    .record(&AuditEntry {
                        id: Uuid::now_v7(),
                        at,
                        actor: admin,
                        actor_label: ADMIN_EMAIL.into(),
                        action: if n % 2 == 0 {
                            "credits.added"
                        } else {
                            "user.role_changed"
                        }
                        .into(),
                        subject: Some(user.id.as_uuid()),
                        subject_label: user.email.as_str().to_owned(),
                        before: serde_json::json!({"role": "user"}),
                        after: serde_json::json!({"role": "admin"}),
                    })
                    .await
                    .expect("an audit entry");
                let id = PaymentId(Uuid::now_v7());
                billing
                    .record_payment(&Payment {
                        id,
                        user: user.id.as_uuid(),
                        pack: None,
                        description: "Starter pack".into(),
                        credits: Credits::whole(100),
                        amount: Money::new(1_000, Currency::USD).expect("an amount"),
                        refunded: Money::new(0, Currency::USD).expect("an amount"),
                        status: PaymentStatus::Succeeded,
                        receipt_number: Payment::receipt_number_for(id),
                        checkout_session: format!("cs_bench_{n}"),
                        payment_intent: Some(format!("pi_bench_{n}")),
                        created_at: at,
                    })
                    .await
                    .expect("a payment");
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done?;
    }
    Ok(())
}

/// A browser in process: the session and CSRF cookies, the last CSRF token seen.
struct Client {
    router: Router,
    cookies: Vec<String>,
    csrf: String,
}

impl Client {
    fn new(router: Router) -> Self {
        Client {
            router,
            cookies: Vec::new(),
            csrf: String::new(),
        }
    }

    async fn send(
        &mut self,
        request: axum::http::request::Builder,
        body: Body,
    ) -> Result<(StatusCode, String), Box<dyn std::error::Error>> {
        let request = request
            .header(header::HOST, "localhost")
            .header(header::COOKIE, self.cookies.join("; "))
            .body(body)?;
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status();
        for value in response.headers().get_all(header::SET_COOKIE) {
            let pair = value
                .to_str()?
                .split(';')
                .next()
                .unwrap_or_default()
                .to_owned();
            let name = pair.split('=').next().unwrap_or_default().to_owned();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            self.cookies.push(pair);
        }
        let body = String::from_utf8(to_bytes(response.into_body(), 16 << 20).await?.to_vec())?;
        if let Some(token) = body
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .filter(|t| !t.is_empty())
        {
            self.csrf = token.to_owned();
        }
        Ok((status, body))
    }

    async fn get(
        &mut self,
        path: &str,
    ) -> Result<(StatusCode, String), Box<dyn std::error::Error>> {
        self.send(Request::get(path), Body::empty()).await
    }

    async fn sign_in(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        self.get("/login").await?;
        let form = serde_urlencoded::to_string([
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("next", "/admin"),
            ("csrf_token", self.csrf.as_str()),
        ])?;
        let (status, body) = self
            .send(
                Request::post("/login")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
                Body::from(form),
            )
            .await?;
        if status != StatusCode::SEE_OTHER {
            return Err(format!("signing in: {status}: {body}").into());
        }
        Ok(())
    }
}
