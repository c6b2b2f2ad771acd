//! What happens around an account's life that spans several stores: the welcome grant, the
//! seeded admin.

use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, CreditError, GrantKind, IdempotencyKey, Operation, Reason,
    SourceRef,
};
use quickscale_domain_identity::{
    DisplayName, Email, Password, RegisterError, Registration, Role, User,
};

use crate::error::AppError;
use crate::state::AppState;

/// Sets up a new account, once: opens its credit account, grants the welcome credits configured
/// now (`WELCOME_CREDITS`), and records that the account is set up. Part of registration: a
/// later change of the setting never touches an account that is set up.
///
/// Safe to run again on an account whose registration was interrupted: the grant's
/// idempotency key and source make a repeat a no-op, and a welcome grant recorded with another
/// amount (the setting changed in between) counts as done.
pub async fn complete_onboarding(state: &AppState, user: &User) -> Result<(), AppError> {
    let account = AccountId::new(user.id.as_uuid());
    let now = state.clock().now();
    state.credits().open_account(account, now).await?;
    let amount = state.config().welcome_credits;
    if !amount.is_zero() {
        let grant = Operation {
            key: IdempotencyKey::parse("welcome").expect("static key"),
            actor: Actor::System,
            reason: Reason::parse("Welcome bonus").expect("static reason"),
            command: CreditCommand::Grant {
                kind: GrantKind::Welcome,
                amount,
                expires_at: None,
                source: SourceRef::parse("signup").expect("static source"),
            },
        };
        match state.credits().execute(account, grant, now).await {
            Ok(_)
            | Err(CreditError::DuplicateSource(_))
            | Err(CreditError::IdempotencyConflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    state.users().set_onboarded(user.id, now).await?;
    Ok(())
}

/// At sign-in: finishes the set-up of an account whose registration was interrupted (the
/// process stopped between creating the user and granting its welcome credits). Such an
/// account gets the welcome credits configured at the time of this repair: the amount shown at
/// its registration was not recorded. Never fails the sign-in: a failure is logged, and the
/// next sign-in tries again.
pub async fn finish_interrupted_onboarding(state: &AppState, user: &User) {
    if user.onboarded_at.is_some() {
        return;
    }
    match complete_onboarding(state, user).await {
        Ok(()) => {
            tracing::warn!(user = %user.id, "finished the set-up of an account whose registration was interrupted")
        }
        Err(error) => {
            tracing::error!(user = %user.id, %error, "could not finish the set-up of an account")
        }
    }
}

/// What `ensure_admin` did.
#[derive(Debug)]
pub enum AdminSeed {
    /// An admin with this email already existed.
    Existing(Email),
    /// Created; the password is returned when it was generated (to print once).
    Created {
        email: Email,
        generated_password: Option<String>,
    },
}

/// Makes sure the configured admin account exists (creating it with the configured password,
/// or a generated one), without touching an existing account.
pub async fn ensure_admin(state: &AppState) -> Result<AdminSeed, AppError> {
    let email = state.config().admin_email.clone();
    if state.users().by_email(&email).await?.is_some() {
        return Ok(AdminSeed::Existing(email));
    }
    let (password, generated) = match &state.config().admin_password {
        Some(secret) => (secret.expose().to_owned(), false),
        None => (generate_password(), true),
    };
    let user = create_admin(state, &email, &password).await?;
    complete_onboarding(state, &user).await?;
    Ok(AdminSeed::Created {
        email,
        generated_password: generated.then_some(password),
    })
}

/// Creates an admin account (or fails if the email is taken).
pub async fn create_admin(
    state: &AppState,
    email: &Email,
    password: &str,
) -> Result<User, AppError> {
    let registration = Registration {
        email: email.clone(),
        password: Password::new(password),
        display_name: DisplayName::parse("Admin").expect("valid name"),
    };
    match state.accounts().register(registration, Role::Admin).await {
        Ok(user) => Ok(user),
        Err(RegisterError::DuplicateEmail) => Err(AppError::BadRequest(format!(
            "an account with the email {email} already exists"
        ))),
        Err(other) => Err(other.into()),
    }
}

/// 20 characters from an alphabet without look-alikes.
pub fn generate_password() -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
