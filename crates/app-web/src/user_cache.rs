//! The signed-in user of a request, kept in process for a moment: a browser that makes many
//! requests (a paid run a few times a second, the pages around it) costs one user read per
//! [`SESSION_USER_TTL`] instead of one per request.
//!
//! [`CachedUsers`] wraps the user store. Only [`CachedUsers::session_user`] (used by the
//! `Viewer` extractor) reads from the cache; every other read goes to the store, so sign-in,
//! lockout, password checks and the admin always see the stored row. Every change made through
//! this instance drops the user's entry at once, and a read that raced with a change is not
//! kept (a generation number). A change made by another instance sharing the database is seen
//! here within [`SESSION_USER_TTL`]: an admin's deactivation or demotion takes effect everywhere
//! within that time. Signing out needs no cache: it deletes the session, which is read on every
//! request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use quickscale_domain_identity::{
    AccountLoginState, ClientKey, DisplayName, Email, LoginState, PasswordHash, Profile, Role,
    User, UserCounts, UserId, UserPage, UserQuery, UserRepository, UserStoreError,
};
use quickscale_domain_kernel::StorageError;
use time::OffsetDateTime;

/// How long a signed-in user's row is reused by this instance.
pub const SESSION_USER_TTL: Duration = Duration::from_secs(1);

/// At most this many users are kept; past it, the cache starts again empty.
const CAPACITY: usize = 10_000;

/// The user store, with the signed-in user of a session cached briefly (see the module).
pub struct CachedUsers {
    inner: Arc<dyn UserRepository>,
    ttl: Duration,
    entries: Mutex<HashMap<UserId, (Instant, User)>>,
    /// Bumped by every change: a read that started before a change is not cached.
    generation: AtomicU64,
}

impl std::fmt::Debug for CachedUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedUsers")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl CachedUsers {
    /// `inner` with session users cached for `ttl` (zero: no cache).
    pub fn new(inner: Arc<dyn UserRepository>, ttl: Duration) -> Self {
        CachedUsers {
            inner,
            ttl,
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<UserId, (Instant, User)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user a session names: from the cache when read less than the TTL ago, otherwise
    /// from the store.
    pub async fn session_user(&self, id: UserId) -> Result<Option<User>, StorageError> {
        if self.ttl.is_zero() {
            return self.inner.by_id(id).await;
        }
        if let Some((at, user)) = self.entries().get(&id)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(user.clone()));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let user = self.inner.by_id(id).await?;
        if let Some(user) = &user {
            let mut entries = self.entries();
            if self.generation.load(Ordering::Acquire) == generation {
                if entries.len() >= CAPACITY {
                    entries.clear();
                }
                entries.insert(id, (Instant::now(), user.clone()));
            }
        }
        Ok(user)
    }

    /// Drops what is kept of `id` (after a change).
    fn forget(&self, id: UserId) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries().remove(&id);
    }
}

#[async_trait]
impl UserRepository for CachedUsers {
    async fn insert(&self, user: &User) -> Result<(), UserStoreError> {
        self.forget(user.id);
        self.inner.insert(user).await
    }
    async fn by_id(&self, id: UserId) -> Result<Option<User>, StorageError> {
        self.inner.by_id(id).await
    }
    async fn by_email(&self, email: &Email) -> Result<Option<User>, StorageError> {
        self.inner.by_email(email).await
    }
    async fn swap_login_state(
        &self,
        id: UserId,
        expected: AccountLoginState,
        new: AccountLoginState,
    ) -> Result<bool, StorageError> {
        let swapped = self.inner.swap_login_state(id, expected, new).await;
        self.forget(id);
        swapped
    }
    async fn client_login_state(
        &self,
        id: UserId,
        client: &ClientKey,
    ) -> Result<LoginState, StorageError> {
        self.inner.client_login_state(id, client).await
    }
    async fn swap_client_login_state(
        &self,
        id: UserId,
        client: &ClientKey,
        expected: LoginState,
        new: LoginState,
    ) -> Result<bool, StorageError> {
        self.inner
            .swap_client_login_state(id, client, expected, new)
            .await
    }
    async fn clear_login_failures(&self, id: UserId) -> Result<(), StorageError> {
        let cleared = self.inner.clear_login_failures(id).await;
        self.forget(id);
        cleared
    }
    async fn forget_spent_client_login_states(
        &self,
        window_started_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        self.inner
            .forget_spent_client_login_states(window_started_before, now)
            .await
    }
    async fn set_password(&self, id: UserId, hash: &PasswordHash) -> Result<(), StorageError> {
        let set = self.inner.set_password(id, hash).await;
        self.forget(id);
        set
    }
    async fn set_display_name(&self, id: UserId, name: &DisplayName) -> Result<(), StorageError> {
        let set = self.inner.set_display_name(id, name).await;
        self.forget(id);
        set
    }
    async fn set_role(&self, id: UserId, role: Role) -> Result<(), StorageError> {
        let set = self.inner.set_role(id, role).await;
        self.forget(id);
        set
    }
    async fn set_profile(
        &self,
        id: UserId,
        name: &DisplayName,
        profile: &Profile,
    ) -> Result<(), StorageError> {
        let set = self.inner.set_profile(id, name, profile).await;
        self.forget(id);
        set
    }
    async fn set_email(&self, id: UserId, email: &Email) -> Result<(), UserStoreError> {
        let set = self.inner.set_email(id, email).await;
        self.forget(id);
        set
    }
    async fn set_email_verified(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<(), StorageError> {
        let set = self.inner.set_email_verified(id, at).await;
        self.forget(id);
        set
    }
    async fn set_active(&self, id: UserId, active: bool) -> Result<(), StorageError> {
        let set = self.inner.set_active(id, active).await;
        self.forget(id);
        set
    }
    async fn set_onboarded(&self, id: UserId, at: OffsetDateTime) -> Result<(), StorageError> {
        let set = self.inner.set_onboarded(id, at).await;
        self.forget(id);
        set
    }
    async fn anonymize(&self, id: UserId, at: OffsetDateTime) -> Result<(), StorageError> {
        let done = self.inner.anonymize(id, at).await;
        self.forget(id);
        done
    }
    async fn search(&self, query: &UserQuery) -> Result<UserPage, StorageError> {
        self.inner.search(query).await
    }
    async fn counts(&self) -> Result<UserCounts, StorageError> {
        self.inner.counts().await
    }
}
