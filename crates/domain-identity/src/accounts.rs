//! The account use cases: register, sign in with lockout, change password.

use std::sync::Arc;

use quickscale_domain_kernel::{Clock, StorageError};
use time::OffsetDateTime;

use crate::ports::{HashError, PasswordHasher, UserRepository, UserStoreError};
use crate::{
    AccountLoginState, ClientKey, DisplayName, DisplayNameError, Email, EmailError, LockoutPolicy,
    LoginState, Password, PasswordError, PasswordPolicy, Pause, Role, User, UserId,
};

/// A sign-up form, parsed.
#[derive(Clone, Debug)]
pub struct Registration {
    /// The sign-in address.
    pub email: Email,
    /// The new password, checked against the policy and the confirmation.
    pub password: Password,
    /// The name to greet the user with, possibly empty.
    pub display_name: DisplayName,
}

/// What was wrong with a sign-up form, field by field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistrationErrors {
    /// Set when the email was refused.
    pub email: Option<EmailError>,
    /// Set when the password was refused.
    pub password: Option<PasswordError>,
    /// Set when the display name was refused.
    pub display_name: Option<DisplayNameError>,
}

impl Registration {
    /// Parses the raw fields; every field's problem is reported at once.
    pub fn parse(
        email: &str,
        password: &str,
        confirmation: &str,
        display_name: &str,
        policy: &PasswordPolicy,
    ) -> Result<Self, RegistrationErrors> {
        let email = Email::parse(email);
        let password = policy.check(password, confirmation, email.as_ref().ok());
        let display_name = DisplayName::parse(display_name);
        match (email, password, display_name) {
            (Ok(email), Ok(password), Ok(display_name)) => Ok(Registration {
                email,
                password,
                display_name,
            }),
            (email, password, display_name) => Err(RegistrationErrors {
                email: email.err(),
                password: password.err(),
                display_name: display_name.err(),
            }),
        }
    }
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// Detected by the store's unique index, so two sign-ups at once cannot both succeed.
    #[error("an account with this email already exists")]
    DuplicateEmail,
    /// The password could not be hashed.
    #[error(transparent)]
    Hashing(#[from] HashError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a sign-in was refused. Only for logs and audits: people see one message for all of them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Rejection {
    /// No account has this email.
    UnknownEmail,
    /// The password does not match.
    WrongPassword,
    /// This client failed too often on the account (the failure that locked it, or an attempt
    /// while locked).
    Locked {
        /// When this client may try again.
        until: OffsetDateTime,
    },
    /// The account failed too often from all clients: attempts wait until then.
    Throttled {
        /// When the next attempt on the account is accepted.
        until: OffsetDateTime,
    },
    /// The password matched, but the account is deactivated or deleted.
    Inactive,
}

/// A failed sign-in that began a lockout episode: the owner should be told (once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockAlert {
    /// The account, with its sign-in record after this failure.
    pub user: User,
    /// The client whose failure it was.
    pub client: ClientKey,
    /// Failures on the account from every client, counting this one.
    pub failures: u32,
    /// Set when this client is now locked out.
    pub client_locked_until: Option<OffsetDateTime>,
    /// Set when attempts on the account from everywhere now wait.
    pub throttled_until: Option<OffsetDateTime>,
}

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The same text whatever the reason, so it never reveals whether an email has an account.
    #[error("the email or password is incorrect, or sign-in is paused after too many attempts")]
    Rejected {
        /// Why, for logs and audits only.
        reason: Rejection,
        /// Set when this refusal began a lockout episode.
        alert: Option<Box<LockAlert>>,
    },
    /// The password could not be checked.
    #[error(transparent)]
    Hashing(#[from] HashError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl AuthError {
    fn rejected(reason: Rejection) -> Self {
        AuthError::Rejected {
            reason,
            alert: None,
        }
    }
}

/// Why a password could not be checked or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChangePasswordError {
    /// The current password given does not match.
    #[error("the current password is incorrect")]
    WrongCurrentPassword,
    /// No account has this id (deleted while the form was open).
    #[error("no such user")]
    UnknownUser,
    /// The password could not be hashed or checked.
    #[error(transparent)]
    Hashing(#[from] HashError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The identity use cases over their ports.
#[derive(Clone)]
pub struct Accounts {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    lockout: LockoutPolicy,
    passwords: PasswordPolicy,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("lockout", &self.lockout)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// The use cases over the user store, the hasher and the clock, with the lockout and password
    /// policies the app was configured with.
    pub fn new(
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
        lockout: LockoutPolicy,
        passwords: PasswordPolicy,
    ) -> Self {
        Accounts {
            users,
            hasher,
            clock,
            lockout,
            passwords,
        }
    }

    /// The rules new passwords follow, for forms that check one before calling a use case.
    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.passwords
    }

    /// The user store, for reads that need no rule of their own.
    pub fn users(&self) -> &Arc<dyn UserRepository> {
        &self.users
    }

    /// Creates an account. The email's uniqueness is the store's unique index.
    pub async fn register(
        &self,
        registration: Registration,
        role: Role,
    ) -> Result<User, RegisterError> {
        let password_hash = self.hasher.hash(&registration.password).await?;
        let user = User {
            id: UserId::generate(),
            email: registration.email,
            password_hash,
            role,
            display_name: registration.display_name,
            is_active: true,
            email_verified_at: None,
            created_at: self.clock.now(),
            login: AccountLoginState::default(),
            profile: crate::Profile::default(),
            onboarded_at: None,
            deleted_at: None,
        };
        match self.users.insert(&user).await {
            Ok(()) => Ok(user),
            Err(UserStoreError::DuplicateEmail) => Err(RegisterError::DuplicateEmail),
            Err(UserStoreError::Storage(e)) => Err(e.into()),
        }
    }

    /// Signs in from `client`: refuses without checking the password while this client is
    /// locked out of the account or the account's attempts must wait (see
    /// [`crate::LockoutPolicy`]); counts a failure for the client and the account; clears the
    /// client's record on success.
    pub async fn authenticate(
        &self,
        email: &str,
        password: &Password,
        client: ClientKey,
    ) -> Result<User, AuthError> {
        let user = match Email::parse(email) {
            Ok(email) => self.users.by_email(&email).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            // The same reads as for an account, so that an unknown email takes as long.
            self.users
                .client_login_state(UserId::from_uuid(uuid::Uuid::nil()), &client)
                .await?;
            self.hasher.verify_nothing(password).await;
            return Err(AuthError::rejected(Rejection::UnknownEmail));
        };
        let now = self.clock.now();
        let seen = self.users.client_login_state(user.id, &client).await?;
        if let Some(pause) = self.lockout.pause(&seen, &user.login, now) {
            self.hasher.verify_nothing(password).await;
            return Err(AuthError::rejected(match pause {
                Pause::ClientLocked { until } => Rejection::Locked { until },
                Pause::Throttled { until } => Rejection::Throttled { until },
            }));
        }
        if !self.hasher.verify(password, &user.password_hash).await? {
            return Err(self.record_failure(user, client, seen).await?);
        }
        if !user.is_active {
            return Err(AuthError::rejected(Rejection::Inactive));
        }
        if seen != LoginState::default() {
            // A lost race only means another request already reset or changed the record.
            self.users
                .swap_client_login_state(user.id, &client, seen, self.lockout.after_success())
                .await?;
        }
        Ok(user)
    }

    /// Counts one failure for the client and for the account, each with compare-and-swap
    /// (retrying when another request got there first, so concurrent failures all count);
    /// returns the refusal, with an alert when the owner should be told.
    async fn record_failure(
        &self,
        user: User,
        client: ClientKey,
        mut seen: LoginState,
    ) -> Result<AuthError, StorageError> {
        let client_state = loop {
            let next = self.lockout.after_failure(seen, self.clock.now());
            if next == seen
                || self
                    .users
                    .swap_client_login_state(user.id, &client, seen, next)
                    .await?
            {
                break next;
            }
            seen = self.users.client_login_state(user.id, &client).await?;
        };
        let mut account = user.login;
        let (account, notify) = loop {
            let now = self.clock.now();
            let (next, notify) = self
                .lockout
                .account_after_failure(account, &client_state, now);
            if self.users.swap_login_state(user.id, account, next).await? {
                break (next, notify);
            }
            match self.users.by_id(user.id).await? {
                Some(current) => account = current.login,
                None => break (next, false),
            }
        };
        let now = self.clock.now();
        let client_locked_until = client_state
            .locked_until
            .filter(|_| client_state.is_locked_at(now));
        let reason = match client_locked_until {
            Some(until) => Rejection::Locked { until },
            None => Rejection::WrongPassword,
        };
        let alert = notify.then(|| {
            Box::new(LockAlert {
                client,
                failures: account.failed_attempts,
                client_locked_until,
                throttled_until: self.lockout.throttled_until(&account, now),
                user: User {
                    login: account,
                    ..user
                },
            })
        });
        Ok(AuthError::Rejected { reason, alert })
    }

    /// Lifts every pause on the account: its count and every client's lock (an admin's unlock,
    /// a password reset).
    pub async fn clear_sign_in_failures(&self, id: UserId) -> Result<(), StorageError> {
        self.users.clear_login_failures(id).await
    }

    /// Forgets the records of clients that no longer matter (their window is over and they are
    /// not locked): they hold client addresses, kept no longer than needed.
    pub async fn forget_spent_sign_in_failures(&self) -> Result<u64, StorageError> {
        let now = self.clock.now();
        self.users
            .forget_spent_client_login_states(now - self.lockout.window(), now)
            .await
    }

    /// Whether `password` is the user's current password.
    pub async fn check_password(
        &self,
        id: UserId,
        password: &Password,
    ) -> Result<bool, ChangePasswordError> {
        let user = self
            .users
            .by_id(id)
            .await?
            .ok_or(ChangePasswordError::UnknownUser)?;
        Ok(self.hasher.verify(password, &user.password_hash).await?)
    }

    /// Sets a password without the current one (a verified reset link stands in for it).
    pub async fn set_password(
        &self,
        id: UserId,
        new: &Password,
    ) -> Result<(), ChangePasswordError> {
        let hash = self.hasher.hash(new).await?;
        self.users.set_password(id, &hash).await?;
        Ok(())
    }

    /// Changes a password after checking the current one.
    pub async fn change_password(
        &self,
        id: UserId,
        current: &Password,
        new: &Password,
    ) -> Result<(), ChangePasswordError> {
        let user = self
            .users
            .by_id(id)
            .await?
            .ok_or(ChangePasswordError::UnknownUser)?;
        if !self.hasher.verify(current, &user.password_hash).await? {
            return Err(ChangePasswordError::WrongCurrentPassword);
        }
        let hash = self.hasher.hash(new).await?;
        self.users.set_password(id, &hash).await?;
        Ok(())
    }
}
