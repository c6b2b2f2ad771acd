//! # The credit ledger alone, inside your own axum app
//!
//! An app that keeps its own users table and takes nothing from QuickScale but the credit ledger
//! (`quickscale-domain-credits`) with its PostgreSQL store (`quickscale-adapters`). Each of your
//! users is mapped to a credit account by a column of your users table. docs/embedding.md walks
//! through it.
//!
//! Run it against a PostgreSQL database (it creates `app_users`, the four credit tables and
//! `_quickscale_credits_migrations`, and nothing else):
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo run -p quickscale-adapters --example embed_credits
//!
//! curl -s -X POST localhost:3000/users -H 'content-type: application/json' \
//!     -d '{"email": "ada@example.com"}'
//! curl -s -X POST localhost:3000/users/1/credits/spend -H 'content-type: application/json' \
//!     -d '{"amount": "2.50", "key": "run-1"}'
//! curl -s localhost:3000/users/1/credits
//! ```
//!
//! `cargo test -p quickscale-adapters --example embed_credits` drives the same routes in
//! process, on a new database (TEST_DATABASE_URL, or a throwaway PostgreSQL server).

use std::error::Error;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use quickscale_adapters::Area;
use quickscale_adapters::postgres::{Database, SqlCreditStore};
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, CreditError, CreditStore, Credits, GrantKind, HistoryQuery,
    IdempotencyKey, Operation, Reason, Receipt, SourceRef,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

/// Your schema: your users, each with the credit account that holds their credits. (Your own
/// migrations would create it; sqlx's `_sqlx_migrations` table stays yours.)
const APP_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS app_users (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    credit_account UUID NOT NULL UNIQUE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
)";

/// How many credits a new user gets.
const WELCOME_CREDITS: u32 = 10;

/// What the handlers share: your pool (your tables) and the credit store (the ledger's).
#[derive(Clone)]
struct AppState {
    pool: PgPool,
    credits: Arc<dyn CreditStore>,
}

/// Your tables, then the credit tables (recorded in their own migrations table), then the
/// store over the same pool.
async fn setup(pool: &PgPool) -> Result<AppState, Box<dyn Error>> {
    sqlx::raw_sql(APP_SCHEMA).execute(pool).await?;
    let db = Database::from_pool(pool.clone());
    db.migrate_areas(&[Area::Credits]).await?;
    Ok(AppState {
        pool: pool.clone(),
        credits: Arc::new(SqlCreditStore::new(db)),
    })
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/users", post(sign_up))
        .route("/users/{id}/credits", get(credits))
        .route("/users/{id}/credits/purchase", post(purchase))
        .route("/users/{id}/credits/spend", post(spend))
        .with_state(state)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| {
        "set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/postgres"
    })?;
    let pool = PgPool::connect(&url).await?;
    let state = setup(&pool).await?;
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr}");
    axum::serve(listener, router(state)).await?;
    Ok(())
}

#[derive(Deserialize)]
struct SignUp {
    email: String,
}

/// Your sign-up: your user row with a new credit account, then the welcome credits. Opening an
/// account and a grant under its key are both safe to repeat, so a retry after a failure
/// between the steps finishes the job.
async fn sign_up(
    State(app): State<AppState>,
    Json(form): Json<SignUp>,
) -> Result<Json<Value>, AppError> {
    let account = AccountId::new(Uuid::now_v7());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO app_users (email, credit_account) VALUES ($1, $2) RETURNING id",
    )
    .bind(&form.email)
    .bind(account.as_uuid())
    .fetch_one(&app.pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => AppError::EmailTaken,
        _ => AppError::Database(e),
    })?;
    let now = OffsetDateTime::now_utc();
    app.credits.open_account(account, now).await?;
    let welcome = format!("welcome:{id}");
    let receipt = app
        .credits
        .execute(
            account,
            operation(
                &welcome,
                Actor::System,
                "welcome credits",
                CreditCommand::Grant {
                    kind: GrantKind::Welcome,
                    amount: Credits::whole(WELCOME_CREDITS),
                    expires_at: None,
                    source: SourceRef::parse(welcome.clone())?,
                },
            )?,
            now,
        )
        .await?;
    Ok(Json(json!({ "id": id, "balance": receipt.balance_after })))
}

/// The balance and the newest entries of a user's ledger.
async fn credits(
    State(app): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let account = account_of(&app.pool, id).await?;
    let balance = app
        .credits
        .balance(account, OffsetDateTime::now_utc())
        .await?;
    let history = app
        .credits
        .history(account, HistoryQuery::newest(20))
        .await?;
    Ok(Json(
        json!({ "balance": balance, "history": history.entries }),
    ))
}

#[derive(Deserialize)]
struct Purchase {
    amount: Credits,
    /// Your payment's id: it grants at most once, however often it is reported.
    payment: String,
}

/// Credits bought: call it from your payment processor's verified webhook.
async fn purchase(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Json(form): Json<Purchase>,
) -> Result<Json<Receipt>, AppError> {
    let account = account_of(&app.pool, id).await?;
    let source = format!("payment:{}", form.payment);
    let command = CreditCommand::Grant {
        kind: GrantKind::Purchase,
        amount: form.amount,
        expires_at: None,
        source: SourceRef::parse(source.clone())?,
    };
    let op = operation(&source, Actor::PaymentProcessor, "credit purchase", command)?;
    let receipt = app
        .credits
        .execute(account, op, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(receipt))
}

#[derive(Deserialize)]
struct Spend {
    amount: Credits,
    /// The caller's key for this charge: a retry with the same key is charged once.
    key: String,
}

/// Spends credits on something of yours: all or nothing, expiring credits first.
async fn spend(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Json(form): Json<Spend>,
) -> Result<Json<Receipt>, AppError> {
    let account = account_of(&app.pool, id).await?;
    let command = CreditCommand::Consume {
        amount: form.amount,
    };
    let key = format!("spend:{id}:{}", form.key);
    let op = operation(&key, Actor::System, &format!("used by user {id}"), command)?;
    let receipt = app
        .credits
        .execute(account, op, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(receipt))
}

/// Your user's credit account: the mapping is a column of your users table.
async fn account_of(pool: &PgPool, user: i64) -> Result<AccountId, AppError> {
    let account: Option<Uuid> =
        sqlx::query_scalar("SELECT credit_account FROM app_users WHERE id = $1")
            .bind(user)
            .fetch_optional(pool)
            .await
            .map_err(AppError::Database)?;
    account.map(AccountId::new).ok_or(AppError::NoSuchUser)
}

fn operation(
    key: &str,
    actor: Actor,
    reason: &str,
    command: CreditCommand,
) -> Result<Operation, AppError> {
    Ok(Operation {
        key: IdempotencyKey::parse(key)?,
        actor,
        reason: Reason::parse(reason).map_err(|e| AppError::BadRequest(e.to_string()))?,
        command,
    })
}

/// Your app's errors, as answers.
#[derive(Debug)]
enum AppError {
    NoSuchUser,
    EmailTaken,
    BadRequest(String),
    Credits(CreditError),
    Database(sqlx::Error),
}

impl From<CreditError> for AppError {
    fn from(error: CreditError) -> Self {
        AppError::Credits(error)
    }
}

impl From<quickscale_domain_credits::KeyError> for AppError {
    fn from(error: quickscale_domain_credits::KeyError) -> Self {
        AppError::BadRequest(error.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            AppError::NoSuchUser => (StatusCode::NOT_FOUND, json!({ "error": "no such user" })),
            AppError::EmailTaken => (
                StatusCode::CONFLICT,
                json!({ "error": "that email has an account" }),
            ),
            AppError::BadRequest(message) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "error": message }),
            ),
            AppError::Credits(CreditError::Insufficient(short)) => (
                StatusCode::PAYMENT_REQUIRED,
                json!({
                    "error": short.to_string(),
                    "required": short.required,
                    "available": short.available,
                }),
            ),
            AppError::Credits(
                e @ (CreditError::IdempotencyConflict(_) | CreditError::DuplicateSource(_)),
            ) => (StatusCode::CONFLICT, json!({ "error": e.to_string() })),
            AppError::Credits(e @ CreditError::Amount(_)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "error": e.to_string() }),
            ),
            AppError::Credits(e) => {
                eprintln!("credit store: {e}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "error": "credits are unavailable, try again" }),
                )
            }
            AppError::Database(e) => {
                eprintln!("database: {e}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "error": "try again" }),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use quickscale_adapters::testing::postgres::test_database_url;
    use tower::ServiceExt as _;

    use super::*;

    async fn call(app: &Router, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("a request");
        let response = app.clone().oneshot(request).await.expect("an answer");
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[tokio::test]
    async fn users_get_credits_spend_them_once_per_key_and_never_overdraw() {
        let Some(url) = test_database_url().await else {
            return;
        };
        let pool = PgPool::connect(&url).await.expect("PostgreSQL connects");
        let app = router(setup(&pool).await.expect("set up"));
        // Setting up again (the app restarting) changes nothing.
        setup(&pool).await.expect("set up again");

        let (status, user) =
            call(&app, "POST", "/users", json!({"email": "ada@example.com"})).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["balance"], "10.00");
        let id = user["id"].as_i64().expect("an id");
        let (status, _) = call(&app, "POST", "/users", json!({"email": "ada@example.com"})).await;
        assert_eq!(status, StatusCode::CONFLICT);

        let spend = format!("/users/{id}/credits/spend");
        let (status, first) = call(
            &app,
            "POST",
            &spend,
            json!({"amount": "2.50", "key": "run-1"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!(first["balance_after"], "7.50");
        let (_, replay) = call(
            &app,
            "POST",
            &spend,
            json!({"amount": "2.50", "key": "run-1"}),
        )
        .await;
        assert_eq!(
            (replay["entry"].clone(), replay["replayed"].clone()),
            (first["entry"].clone(), json!(true))
        );
        let (status, short) = call(
            &app,
            "POST",
            &spend,
            json!({"amount": "100", "key": "run-2"}),
        )
        .await;
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{short}");
        assert_eq!(short["available"], "7.50");

        let purchase = format!("/users/{id}/credits/purchase");
        let (status, bought) = call(
            &app,
            "POST",
            &purchase,
            json!({"amount": "5", "payment": "pi_1"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{bought}");
        assert_eq!(bought["balance_after"], "12.50");
        let (_, again) = call(
            &app,
            "POST",
            &purchase,
            json!({"amount": "5", "payment": "pi_1"}),
        )
        .await;
        assert_eq!(again["replayed"], true);

        let (status, credits) =
            call(&app, "GET", &format!("/users/{id}/credits"), Value::Null).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(credits["balance"]["total"], "12.50");
        assert_eq!(credits["history"].as_array().map(Vec::len), Some(3));
        let (status, _) = call(&app, "GET", "/users/999999/credits", Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Only your table and the credit area's are there.
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
        )
        .fetch_all(&pool)
        .await
        .expect("tables");
        assert_eq!(
            tables,
            [
                "_quickscale_credits_migrations",
                "app_users",
                "credit_accounts",
                "credit_allocations",
                "credit_entries",
                "credit_grants",
                "credit_open_holds",
            ]
        );
    }
}
