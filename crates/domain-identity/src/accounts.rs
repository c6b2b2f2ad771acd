//! The account use cases: register, sign in with lockout, change password.

use std::sync::Arc;

use quickscale_domain_kernel::{Clock, StorageError};
use time::OffsetDateTime;

use crate::ports::{HashError, PasswordHasher, UserRepository, UserStoreError};
use crate::{
    DisplayName, DisplayNameError, Email, EmailError, LockoutPolicy, LoginState, Password,
    PasswordError, PasswordPolicy, Role, User, UserId,
};

/// A sign-up form, parsed.
#[derive(Clone, Debug)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub display_name: DisplayName,
}

/// What was wrong with a sign-up form, field by field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistrationErrors {
    pub email: Option<EmailError>,
    pub password: Option<PasswordError>,
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

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("an account with this email already exists")]
    DuplicateEmail,
    #[error(transparent)]
    Hashing(#[from] HashError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a sign-in was refused. Only for logs and audits: people see one message for all of them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rejection {
    UnknownEmail,
    WrongPassword,
    Locked { until: OffsetDateTime },
    Inactive,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The same text whatever the reason, so it never reveals whether an email has an account.
    #[error("the email or password is incorrect, or sign-in is paused after too many attempts")]
    Rejected(Rejection),
    #[error(transparent)]
    Hashing(#[from] HashError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    #[error("the current password is incorrect")]
    WrongCurrentPassword,
    #[error("no such user")]
    UnknownUser,
    #[error(transparent)]
    Hashing(#[from] HashError),
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

    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.passwords
    }

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
            login: LoginState::default(),
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

    /// Signs in: checks the password unless the account is locked, counts failures towards a
    /// lock, clears the count on success.
    pub async fn authenticate(&self, email: &str, password: &Password) -> Result<User, AuthError> {
        let user = match Email::parse(email) {
            Ok(email) => self.users.by_email(&email).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            self.hasher.verify_nothing(password).await;
            return Err(AuthError::Rejected(Rejection::UnknownEmail));
        };
        let now = self.clock.now();
        if let Some(until) = user
            .login
            .locked_until
            .filter(|_| user.login.is_locked_at(now))
        {
            self.hasher.verify_nothing(password).await;
            return Err(AuthError::Rejected(Rejection::Locked { until }));
        }
        if !self.hasher.verify(password, &user.password_hash).await? {
            let state = self.record_failure(user.id, user.login).await?;
            return Err(AuthError::Rejected(match state.locked_until {
                Some(until) if state.is_locked_at(now) => Rejection::Locked { until },
                _ => Rejection::WrongPassword,
            }));
        }
        if !user.is_active {
            return Err(AuthError::Rejected(Rejection::Inactive));
        }
        if user.login != LoginState::default() {
            // A lost race only means another request already reset or changed the record.
            self.users
                .swap_login_state(user.id, user.login, self.lockout.after_success())
                .await?;
        }
        Ok(User {
            login: LoginState::default(),
            ..user
        })
    }

    /// Counts one failure with compare-and-swap, retrying when another request got there first.
    async fn record_failure(
        &self,
        id: UserId,
        mut seen: LoginState,
    ) -> Result<LoginState, StorageError> {
        loop {
            let next = self.lockout.after_failure(seen, self.clock.now());
            if next == seen || self.users.swap_login_state(id, seen, next).await? {
                return Ok(next);
            }
            match self.users.by_id(id).await? {
                Some(user) => seen = user.login,
                None => return Ok(next),
            }
        }
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
