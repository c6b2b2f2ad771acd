#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! # QuickScale accounts
//!
//! Email-only accounts with roles, parsed at the edge into [`Email`], [`Password`] and
//! [`DisplayName`]; new passwords follow a [`PasswordPolicy`]; failed sign-ins lock one client out
//! of an account and slow the account down per a [`LockoutPolicy`], without ever revealing
//! whether an email has an account.
//! The use cases are in [`Accounts`]; they reach storage and hashing through the ports
//! [`UserRepository`] and [`PasswordHasher`], and the time through [`Clock`].

mod accounts;
mod api_keys;
mod email;
mod lockout;
mod password;
mod ports;
mod profile;
mod tokens;
mod user;

pub use accounts::{
    Accounts, AuthError, ChangePasswordError, LockAlert, RegisterError, Registration,
    RegistrationErrors, Rejection,
};
pub use api_keys::{
    API_KEY_PREFIX, API_KEY_SHOWN, ApiBounds, ApiKey, ApiKeyError, ApiKeyId, ApiKeyRepository,
    KeyLimitError, KeyLimits, MAX_ACTIVE_KEYS, MAX_KEY_NAME, api_key_hash, key_name,
    looks_like_api_key,
};
pub use email::{Email, EmailError};
pub use lockout::{
    ACCOUNT_MEMORY, AccountLoginState, ClientKey, LockoutPolicy, LockoutPolicyError, LoginState,
    Pause,
};
pub use password::{Password, PasswordError, PasswordHash, PasswordPolicy};
pub use ports::{
    HashError, PasswordHasher, UserCounts, UserPage, UserQuery, UserRepository, UserStoreError,
};
pub use profile::{Profile, ProfileErrors};
pub use quickscale_domain_kernel::{Clock, FixedClock, StorageError, StorageFailure};
pub use tokens::{TokenPurpose, TokenRecord, TokenRepository, token_hash};
pub use user::{DisplayName, DisplayNameError, Role, User, UserId};
