//! What the app keeps in a browser session: the signed-in user, the CSRF token, flash messages.

use quickscale_adapters::sessions::USER_ID_KEY;
use quickscale_domain_identity::UserId;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::error::AppError;

const CSRF_KEY: &str = "csrf";
const FLASH_KEY: &str = "flash";

fn session_error(error: tower_sessions::session::Error) -> AppError {
    let text = error.to_string();
    if text.contains("unavailable: ") {
        AppError::Unavailable(text)
    } else {
        AppError::Internal(anyhow::anyhow!("session store: {text}"))
    }
}

/// 32 random bytes as hex.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// The token the session expects, without creating one.
pub async fn expected_csrf_token(session: &Session) -> Result<Option<String>, AppError> {
    session.get::<String>(CSRF_KEY).await.map_err(session_error)
}

pub async fn user_id(session: &Session) -> Result<Option<UserId>, AppError> {
    let id: Option<String> = session.get(USER_ID_KEY).await.map_err(session_error)?;
    Ok(id.and_then(|id| id.parse().ok()))
}

/// Signs a user in: a new session id (no fixation), a new CSRF token, the user's id.
pub async fn sign_in(session: &Session, user: UserId) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(USER_ID_KEY, user.to_string())
        .await
        .map_err(session_error)?;
    session
        .insert(CSRF_KEY, random_token())
        .await
        .map_err(session_error)?;
    Ok(())
}

/// A one-time token for a form whose sending must not be repeated (a reload that re-posts it):
/// stored in the session under `purpose` until [`take_form_token`] uses it up.
pub async fn issue_form_token(session: &Session, purpose: &str) -> Result<String, AppError> {
    let token = random_token();
    session
        .insert(purpose, token.clone())
        .await
        .map_err(session_error)?;
    Ok(token)
}

/// Uses up the token [`issue_form_token`] gave for `purpose`: true when `sent` is it.
pub async fn take_form_token(
    session: &Session,
    purpose: &str,
    sent: &str,
) -> Result<bool, AppError> {
    let expected: Option<String> = session.remove(purpose).await.map_err(session_error)?;
    Ok(expected.is_some_and(|expected| constant_time_eq(expected.as_bytes(), sent.as_bytes())))
}

/// Signs out: the session is deleted from the store and the cookie cleared.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(session_error)
}

/// A one-time message shown on the next page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub level: String,
    pub text: String,
}

pub async fn flash(
    session: &Session,
    level: &str,
    text: impl Into<String>,
) -> Result<(), AppError> {
    let mut flashes: Vec<Flash> = session
        .get(FLASH_KEY)
        .await
        .map_err(session_error)?
        .unwrap_or_default();
    flashes.push(Flash {
        level: level.to_owned(),
        text: text.into(),
    });
    session
        .insert(FLASH_KEY, flashes)
        .await
        .map_err(session_error)
}

pub async fn take_flashes(session: &Session) -> Result<Vec<Flash>, AppError> {
    // Removing marks the session changed (one more write), so only when there is something.
    let flashes: Option<Vec<Flash>> = session.get(FLASH_KEY).await.map_err(session_error)?;
    if flashes.is_some() {
        session
            .remove_value(FLASH_KEY)
            .await
            .map_err(session_error)?;
    }
    Ok(flashes.unwrap_or_default())
}

const TOUCHED_KEY: &str = "touched_day";

/// Keeps a signed-in session alive while it is used. Its stored expiry (`SESSION_DAYS` of
/// inactivity) moves forward when the session is saved; this saves it at most once a day
/// rather than on every request.
pub async fn touch(session: &Session, now: time::OffsetDateTime) -> Result<(), AppError> {
    let today = now.unix_timestamp().div_euclid(86_400);
    let last: Option<i64> = session.get(TOUCHED_KEY).await.map_err(session_error)?;
    if last != Some(today) {
        session
            .insert(TOUCHED_KEY, today)
            .await
            .map_err(session_error)?;
    }
    Ok(())
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
