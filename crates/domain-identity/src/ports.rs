//! What the identity use cases need from the outside world.

use async_trait::async_trait;
use quickscale_domain_kernel::StorageError;
use serde::Serialize;

use time::OffsetDateTime;

use crate::{
    AccountLoginState, ClientKey, DisplayName, Email, LoginState, Password, PasswordHash, Profile,
    Role, User, UserId,
};

/// Why a user could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum UserStoreError {
    /// The unique index on the email refused it.
    #[error("an account with this email already exists")]
    DuplicateEmail,
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A filter and page over users, for admins.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct UserQuery {
    /// Matches email or display name, case-insensitively.
    pub text: Option<String>,
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only users who did (`true`) or did not (`false`) verify their email.
    pub verified: Option<bool>,
    /// Only active (`true`) or deactivated (`false`) accounts.
    pub active: Option<bool>,
    /// Only accounts locked at this instant.
    pub locked_at: Option<OffsetDateTime>,
    /// How many of the newest matches to skip (for pages).
    pub offset: u64,
    /// The most users to return.
    pub limit: u32,
}

/// One page of users, newest first, with the number of all matches.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct UserPage {
    /// The users of this page.
    pub users: Vec<User>,
    /// How many users match in all, for "page 2 of 7".
    pub total: u64,
}

/// How many accounts there are, for the admin dashboard.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
pub struct UserCounts {
    /// Every account, deleted ones included.
    pub total: u64,
    /// Accounts with the admin role.
    pub admins: u64,
    /// Accounts that can sign in.
    pub active: u64,
}

/// The user store.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user; a taken email is [`UserStoreError::DuplicateEmail`], detected by the
    /// store's unique index (never by a check before the insert).
    async fn insert(&self, user: &User) -> Result<(), UserStoreError>;
    /// The user with this id, deleted accounts included.
    async fn by_id(&self, id: UserId) -> Result<Option<User>, StorageError>;
    /// The user with this (normalised) email.
    async fn by_email(&self, email: &Email) -> Result<Option<User>, StorageError>;
    /// Replaces the account's sign-in record only if it still equals `expected` (compare and
    /// swap), so concurrent failures are all counted. Returns whether it was replaced.
    async fn swap_login_state(
        &self,
        id: UserId,
        expected: AccountLoginState,
        new: AccountLoginState,
    ) -> Result<bool, StorageError>;
    /// The failed sign-ins of one client on the account (the default when there are none).
    async fn client_login_state(
        &self,
        id: UserId,
        client: &ClientKey,
    ) -> Result<LoginState, StorageError>;
    /// Replaces the client's record only if it still equals `expected` (compare and swap). A
    /// missing record equals the default, and storing the default removes it.
    async fn swap_client_login_state(
        &self,
        id: UserId,
        client: &ClientKey,
        expected: LoginState,
        new: LoginState,
    ) -> Result<bool, StorageError>;
    /// Resets the account's record and removes every client's record of it.
    async fn clear_login_failures(&self, id: UserId) -> Result<(), StorageError>;
    /// Removes the client records (of every account) whose window started before
    /// `window_started_before` and that are not locked at `now`; returns how many.
    async fn forget_spent_client_login_states(
        &self,
        window_started_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StorageError>;
    /// Replaces the password hash after a change or a reset (the caller hashed it).
    async fn set_password(&self, id: UserId, hash: &PasswordHash) -> Result<(), StorageError>;
    /// Replaces the display name alone (the admin edits it without the profile).
    async fn set_display_name(&self, id: UserId, name: &DisplayName) -> Result<(), StorageError>;
    /// Changes the role (an admin's promotion or demotion).
    async fn set_role(&self, id: UserId, role: Role) -> Result<(), StorageError>;
    /// Replaces the display name and the profile together, as the settings form saves them.
    async fn set_profile(
        &self,
        id: UserId,
        name: &DisplayName,
        profile: &Profile,
    ) -> Result<(), StorageError>;
    /// Changes the email; a taken address is [`UserStoreError::DuplicateEmail`].
    async fn set_email(&self, id: UserId, email: &Email) -> Result<(), UserStoreError>;
    /// Marks the email verified at `at`, or not verified (`None`) after a change of address.
    async fn set_email_verified(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<(), StorageError>;
    /// Deactivates (`false`) or reactivates (`true`) the account.
    async fn set_active(&self, id: UserId, active: bool) -> Result<(), StorageError>;
    /// Records that the account's set-up (credit account, welcome credits) is done.
    async fn set_onboarded(&self, id: UserId, at: OffsetDateTime) -> Result<(), StorageError>;
    /// Removes the personal data of a deleted account (email, name, profile, password, the
    /// addresses of its failed sign-ins) and deactivates it; the row stays so ledger and payment records keep their owner.
    async fn anonymize(&self, id: UserId, at: OffsetDateTime) -> Result<(), StorageError>;
    /// The page of users matching the filter, newest first.
    async fn search(&self, query: &UserQuery) -> Result<UserPage, StorageError>;
    /// The numbers of accounts, for the admin dashboard.
    async fn counts(&self) -> Result<UserCounts, StorageError>;
}

/// Hashing failed (bad stored hash, exhausted memory).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(pub String);

/// Turns passwords into slow salted hashes and checks them.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new salted hash of the password. Slow on purpose: implementations run it off the async
    /// executor.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;
    /// Whether `password` is the one `hash` was made from; an unreadable hash is an error, not
    /// `false`.
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError>;
    /// Spends the same time as [`PasswordHasher::verify`] without a real hash, so that an
    /// unknown email takes as long to refuse as a wrong password.
    async fn verify_nothing(&self, password: &Password) {
        let _ = password;
    }
}
