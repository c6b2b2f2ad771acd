//! Account flows that span users, tokens, sessions and email: verification, password reset,
//! email change, account deletion.

use quickscale_domain_identity::{
    Email, LockAlert, Password, TokenPurpose, TokenRecord, User, UserId, UserStoreError, token_hash,
};
use serde_json::json;
use time::Duration;

use crate::error::AppError;
use crate::mail::send_template;
use crate::session::random_token;
use crate::state::AppState;

/// At most this many verification or reset emails per account per hour.
pub const EMAILS_PER_HOUR: u64 = 3;

/// Why a flow refused.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("this link is invalid, was already used, or has expired")]
    BadToken,
    #[error("too many emails were sent recently; wait an hour and try again")]
    TooMany,
    #[error("that email address cannot be used")]
    EmailTaken,
    #[error("the password is incorrect")]
    WrongPassword,
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<quickscale_domain_kernel::StorageError> for FlowError {
    fn from(error: quickscale_domain_kernel::StorageError) -> Self {
        FlowError::App(error.into())
    }
}

/// True when the account's hourly email budget for `purpose` is spent.
async fn budget_spent(
    state: &AppState,
    user: UserId,
    purpose: TokenPurpose,
) -> Result<bool, FlowError> {
    let since = state.clock().now() - Duration::hours(1);
    Ok(state
        .stores()
        .tokens
        .issued_since(user, purpose, since)
        .await?
        >= EMAILS_PER_HOUR)
}

async fn issue(
    state: &AppState,
    user: UserId,
    purpose: TokenPurpose,
    payload: Option<String>,
    ttl: Duration,
) -> Result<String, FlowError> {
    let now = state.clock().now();
    let tokens = &state.stores().tokens;
    if budget_spent(state, user, purpose).await? {
        return Err(FlowError::TooMany);
    }
    tokens.revoke_all(user, purpose).await?;
    let raw = random_token();
    let record = TokenRecord {
        user,
        purpose,
        payload,
        created_at: now,
        expires_at: now + ttl,
    };
    tokens.issue(&token_hash(&raw), &record).await?;
    Ok(raw)
}

fn link(state: &AppState, path: &str, token: &str) -> String {
    format!("{}{path}?token={token}", state.config().base_url)
}

/// Sends the welcome email, with a verification link.
pub async fn welcome(state: &AppState, user: &User) -> Result<(), FlowError> {
    let token = issue(
        state,
        user.id,
        TokenPurpose::VerifyEmail,
        None,
        state.config().verification_ttl,
    )
    .await?;
    let context = json!({
        "name": user.greeting_name(),
        "link": link(state, "/verify", &token),
        "hours": state.config().verification_ttl.whole_hours(),
        "app_name": state.config().app_name,
        "required": state.config().flags.require_email_verification,
        "confirm_to_sign_in": state.config().registration_hides_existing_emails(),
    });
    send_template(
        state,
        "welcome",
        user.email.as_str(),
        &format!("Welcome to {}", state.config().app_name),
        &context,
    )
    .await;
    Ok(())
}

/// Sends a new verification link (rate limited per account).
pub async fn send_verification(state: &AppState, user: &User) -> Result<(), FlowError> {
    let token = issue(
        state,
        user.id,
        TokenPurpose::VerifyEmail,
        None,
        state.config().verification_ttl,
    )
    .await?;
    let context = json!({
        "name": user.greeting_name(),
        "link": link(state, "/verify", &token),
        "hours": state.config().verification_ttl.whole_hours(),
        "app_name": state.config().app_name,
    });
    send_template(
        state,
        "verify",
        user.email.as_str(),
        "Confirm your email address",
        &context,
    )
    .await;
    Ok(())
}

/// Uses up a token of `purpose`: its record, or `BadToken` when it is unknown, used or expired.
async fn use_token(
    state: &AppState,
    purpose: TokenPurpose,
    token: &str,
    now: time::OffsetDateTime,
) -> Result<TokenRecord, FlowError> {
    state
        .stores()
        .tokens
        .consume(purpose, &token_hash(token), now)
        .await?
        .ok_or(FlowError::BadToken)
}

/// Marks the token's account verified.
pub async fn verify(state: &AppState, token: &str) -> Result<UserId, FlowError> {
    let now = state.clock().now();
    let record = use_token(state, TokenPurpose::VerifyEmail, token, now).await?;
    state
        .users()
        .set_email_verified(record.user, Some(now))
        .await?;
    Ok(record.user)
}

/// How long work deferred by [`after_response`] waits: long enough for the answer to be on its
/// way, so the work never competes with it for the processor or the database.
const AFTER_RESPONSE_DELAY: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs `work` after the answer, so that how long a request takes never tells whether an
/// address has an account: the request itself only parses and answers, the same way for every
/// address. Failures are logged. The task is tracked with the service runs, so a graceful
/// shutdown waits for it (a job queue will take this over).
pub fn after_response<F>(state: &AppState, what: &'static str, work: F)
where
    F: std::future::Future<Output = Result<(), FlowError>> + Send + 'static,
{
    state.runs().spawn(async move {
        tokio::time::sleep(AFTER_RESPONSE_DELAY).await;
        if let Err(error) = work.await {
            tracing::error!(%error, what, "account email work failed");
        }
    });
}

/// Asks for a reset link: answers at once and the same way for every address; the link is
/// looked up and emailed afterwards (see [`send_reset`]).
pub fn request_reset(state: &AppState, email: &str) {
    let Ok(email) = Email::parse(email) else {
        return;
    };
    let task_state = state.clone();
    after_response(state, "password reset", async move {
        send_reset(&task_state, &email).await
    });
}

/// Emails a reset link if the address belongs to an active account, within the account's email
/// budget; does nothing otherwise.
pub async fn send_reset(state: &AppState, email: &Email) -> Result<(), FlowError> {
    let Some(user) = state.users().by_email(email).await?.filter(|u| u.is_active) else {
        return Ok(());
    };
    match issue(
        state,
        user.id,
        TokenPurpose::ResetPassword,
        None,
        state.config().reset_ttl,
    )
    .await
    {
        Ok(token) => {
            let context = json!({
                "name": user.greeting_name(),
                "link": link(state, "/password/reset", &token),
                "minutes": state.config().reset_ttl.whole_minutes(),
                "app_name": state.config().app_name,
            });
            send_template(
                state,
                "reset",
                user.email.as_str(),
                "Reset your password",
                &context,
            )
            .await;
            Ok(())
        }
        Err(FlowError::TooMany) => {
            tracing::info!(user = %user.id, "reset email not sent: the account's hourly budget is spent");
            Ok(())
        }
        Err(other) => Err(other),
    }
}

/// Why someone used the address of an existing account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressUse {
    /// To register a new account.
    Registration,
    /// As the new address of another account.
    EmailChange,
}

/// Tells the owner of an active account that someone tried to use its address (to register, or
/// as another account's new address), with a link to sign in and a reset link, so that the
/// answer on the page can be the same as for a free address. Shares the account's reset budget
/// (the notice carries a reset link), so it cannot be used to flood a mailbox.
pub async fn address_in_use(
    state: &AppState,
    email: &Email,
    attempt: AddressUse,
) -> Result<(), FlowError> {
    let Some(user) = state.users().by_email(email).await?.filter(|u| u.is_active) else {
        return Ok(());
    };
    let token = match issue(
        state,
        user.id,
        TokenPurpose::ResetPassword,
        None,
        state.config().reset_ttl,
    )
    .await
    {
        Ok(token) => token,
        Err(FlowError::TooMany) => {
            tracing::info!(user = %user.id, "address-in-use notice not sent: the account's hourly budget is spent");
            return Ok(());
        }
        Err(other) => return Err(other),
    };
    let context = json!({
        "name": user.greeting_name(),
        "registration": attempt == AddressUse::Registration,
        "sign_in": format!("{}/login", state.config().base_url),
        "link": link(state, "/password/reset", &token),
        "minutes": state.config().reset_ttl.whole_minutes(),
        "app_name": state.config().app_name,
    });
    let subject = match attempt {
        AddressUse::Registration => "Someone tried to register with your email address",
        AddressUse::EmailChange => "Someone tried to move another account to your email address",
    };
    send_template(
        state,
        "address_in_use",
        user.email.as_str(),
        subject,
        &context,
    )
    .await;
    Ok(())
}

/// The active account a reset link is for, while the link works; the token stays unused.
pub async fn reset_account(state: &AppState, token: &str) -> Result<Option<User>, AppError> {
    let now = state.clock().now();
    let Some(record) = state
        .stores()
        .tokens
        .find(TokenPurpose::ResetPassword, &token_hash(token), now)
        .await?
    else {
        return Ok(None);
    };
    Ok(state
        .users()
        .by_id(record.user)
        .await?
        .filter(|u| u.is_active))
}

/// Sets a new password with a reset token; every session of the account ends.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    password: &Password,
) -> Result<User, FlowError> {
    let now = state.clock().now();
    let record = use_token(state, TokenPurpose::ResetPassword, token, now).await?;
    let user = state
        .users()
        .by_id(record.user)
        .await?
        .filter(|u| u.is_active)
        .ok_or(FlowError::BadToken)?;
    state
        .accounts()
        .set_password(user.id, password)
        .await
        .map_err(AppError::from)?;
    // The reset also proves the address, and lifts a lockout.
    if !user.is_verified() {
        state.users().set_email_verified(user.id, Some(now)).await?;
    }
    state.accounts().clear_sign_in_failures(user.id).await?;
    state
        .stores()
        .sessions
        .admin()
        .delete_for_user(user.id, None)
        .await?;
    password_changed(state, &user).await;
    Ok(user)
}

/// Tells the account owner their password changed.
pub async fn password_changed(state: &AppState, user: &User) {
    let context = json!({ "name": user.greeting_name(), "app_name": state.config().app_name, "link": format!("{}/password/forgot", state.config().base_url) });
    send_template(
        state,
        "password_changed",
        user.email.as_str(),
        "Your password was changed",
        &context,
    )
    .await;
}

/// Tells the owner that failed sign-ins paused sign-in to their account (once per episode:
/// see `LockoutPolicy`), from where, and how to lift it.
pub async fn sign_in_paused(state: &AppState, alert: &LockAlert) {
    let user = &alert.user;
    let context = json!({
        "name": user.greeting_name(),
        "app_name": state.config().app_name,
        "failures": alert.failures,
        "client": alert.client.to_string(),
        "client_locked_minutes": alert
            .client_locked_until
            .map(|_| state.config().lockout.lock_for().whole_minutes()),
        "throttled": alert.throttled_until.is_some(),
        "link": format!("{}/password/forgot", state.config().base_url),
    });
    send_template(
        state,
        "sign_in_paused",
        user.email.as_str(),
        "Failed sign-ins to your account",
        &context,
    )
    .await;
}

/// Tells the owner a key was made (a stolen session could make one that outlives it).
pub async fn api_key_created(state: &AppState, user: &User, key_name: &str, shown: &str) {
    let context = json!({
        "name": user.greeting_name(),
        "app_name": state.config().app_name,
        "key_name": key_name,
        "shown": shown,
        "link": format!("{}/settings/api-keys", state.config().base_url),
    });
    send_template(
        state,
        "api_key_created",
        user.email.as_str(),
        "A new API key was made for your account",
        &context,
    )
    .await;
}

/// Asks to change the user's address to `new_email`. Checks the password and the user's own
/// email budget now; the rest happens after the answer, which is the same whether or not
/// another account uses the address (see [`send_email_change`]).
pub async fn request_email_change(
    state: &AppState,
    user: &User,
    new_email: &Email,
    password: &Password,
) -> Result<(), FlowError> {
    if !state
        .accounts()
        .check_password(user.id, password)
        .await
        .map_err(AppError::from)?
    {
        return Err(FlowError::WrongPassword);
    }
    if budget_spent(state, user.id, TokenPurpose::ChangeEmail).await? {
        return Err(FlowError::TooMany);
    }
    let (task_state, user, new_email) = (state.clone(), user.clone(), new_email.clone());
    after_response(state, "email change", async move {
        send_email_change(&task_state, &user, &new_email).await
    });
    Ok(())
}

/// Sends a confirmation link to a free address; the change happens when it is followed. An
/// address another account uses gets that account's owner a notice instead.
pub async fn send_email_change(
    state: &AppState,
    user: &User,
    new_email: &Email,
) -> Result<(), FlowError> {
    if state.users().by_email(new_email).await?.is_some() {
        return address_in_use(state, new_email, AddressUse::EmailChange).await;
    }
    let token = issue(
        state,
        user.id,
        TokenPurpose::ChangeEmail,
        Some(new_email.to_string()),
        state.config().verification_ttl,
    )
    .await?;
    let context = json!({
        "name": user.greeting_name(),
        "link": link(state, "/settings/email/confirm", &token),
        "new_email": new_email.as_str(),
        "app_name": state.config().app_name,
    });
    send_template(
        state,
        "email_change",
        new_email.as_str(),
        "Confirm your new email address",
        &context,
    )
    .await;
    Ok(())
}

/// Applies an email change; the old address is told.
pub async fn confirm_email_change(state: &AppState, token: &str) -> Result<User, FlowError> {
    let now = state.clock().now();
    let record = use_token(state, TokenPurpose::ChangeEmail, token, now).await?;
    let new_email = record
        .payload
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
        .ok_or(FlowError::BadToken)?;
    let user = state
        .users()
        .by_id(record.user)
        .await?
        .filter(|u| u.is_active)
        .ok_or(FlowError::BadToken)?;
    match state.users().set_email(user.id, &new_email).await {
        Ok(()) => {}
        Err(UserStoreError::DuplicateEmail) => return Err(FlowError::EmailTaken),
        Err(UserStoreError::Storage(e)) => return Err(e.into()),
    }
    state.users().set_email_verified(user.id, Some(now)).await?;
    let context = json!({ "name": user.greeting_name(), "new_email": new_email.as_str(), "app_name": state.config().app_name });
    send_template(
        state,
        "email_changed",
        user.email.as_str(),
        "Your email address was changed",
        &context,
    )
    .await;
    Ok(User {
        email: new_email,
        email_verified_at: Some(now),
        ..user
    })
}

/// Deletes an account: personal data removed, sessions ended; ledger and payment records stay,
/// attached to the anonymised account.
pub async fn delete_account(
    state: &AppState,
    user: &User,
    password: &Password,
) -> Result<(), FlowError> {
    if !state
        .accounts()
        .check_password(user.id, password)
        .await
        .map_err(AppError::from)?
    {
        return Err(FlowError::WrongPassword);
    }
    state
        .users()
        .anonymize(user.id, state.clock().now())
        .await?;
    state
        .stores()
        .tokens
        .revoke_all(user.id, TokenPurpose::ResetPassword)
        .await?;
    state
        .stores()
        .tokens
        .revoke_all(user.id, TokenPurpose::ChangeEmail)
        .await?;
    state
        .stores()
        .tokens
        .revoke_all(user.id, TokenPurpose::VerifyEmail)
        .await?;
    state
        .stores()
        .api_keys
        .revoke_all(user.id, state.clock().now())
        .await?;
    // Nothing more is sent about the account: its webhook address goes with its personal data.
    let notifications = &state.stores().notifications;
    notifications.remove_webhook(user.id).await?;
    notifications
        .set_email_background_runs(user.id, false)
        .await?;
    state
        .stores()
        .sessions
        .admin()
        .delete_for_user(user.id, None)
        .await?;
    tracing::info!(user = %user.id, "account deleted (anonymised)");
    Ok(())
}
