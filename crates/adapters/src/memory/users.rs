use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use quickscale_domain_identity::{
    AccountLoginState, ClientKey, DisplayName, Email, LoginState, PasswordHash, Profile, Role,
    User, UserCounts, UserId, UserPage, UserQuery, UserRepository, UserStoreError,
};
use quickscale_domain_kernel::StorageError;
use time::OffsetDateTime;

use super::lock;

/// Users in memory, with the same uniqueness rule as the SQL stores.
#[derive(Debug, Default)]
pub struct MemoryUserRepository {
    users: Mutex<HashMap<UserId, User>>,
    /// Failed sign-ins per account and client.
    clients: Mutex<HashMap<(UserId, ClientKey), LoginState>>,
}

impl MemoryUserRepository {
    fn update(&self, id: UserId, change: impl FnOnce(&mut User)) {
        if let Some(user) = lock(&self.users).get_mut(&id) {
            change(user);
        }
    }
}

#[async_trait]
impl UserRepository for MemoryUserRepository {
    async fn insert(&self, user: &User) -> Result<(), UserStoreError> {
        let mut users = lock(&self.users);
        if users.values().any(|u| u.email == user.email) {
            return Err(UserStoreError::DuplicateEmail);
        }
        users.insert(user.id, user.clone());
        Ok(())
    }

    async fn by_id(&self, id: UserId) -> Result<Option<User>, StorageError> {
        Ok(lock(&self.users).get(&id).cloned())
    }

    async fn by_email(&self, email: &Email) -> Result<Option<User>, StorageError> {
        Ok(lock(&self.users)
            .values()
            .find(|u| &u.email == email)
            .cloned())
    }

    async fn swap_login_state(
        &self,
        id: UserId,
        expected: AccountLoginState,
        new: AccountLoginState,
    ) -> Result<bool, StorageError> {
        let mut users = lock(&self.users);
        match users.get_mut(&id) {
            Some(user) if user.login == expected => {
                user.login = new;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn client_login_state(
        &self,
        id: UserId,
        client: &ClientKey,
    ) -> Result<LoginState, StorageError> {
        Ok(lock(&self.clients)
            .get(&(id, *client))
            .copied()
            .unwrap_or_default())
    }

    async fn swap_client_login_state(
        &self,
        id: UserId,
        client: &ClientKey,
        expected: LoginState,
        new: LoginState,
    ) -> Result<bool, StorageError> {
        let mut clients = lock(&self.clients);
        let current = clients.get(&(id, *client)).copied().unwrap_or_default();
        if current != expected {
            return Ok(false);
        }
        if new == LoginState::default() {
            clients.remove(&(id, *client));
        } else {
            clients.insert((id, *client), new);
        }
        Ok(true)
    }

    async fn clear_login_failures(&self, id: UserId) -> Result<(), StorageError> {
        lock(&self.clients).retain(|(user, _), _| *user != id);
        self.update(id, |u| u.login = AccountLoginState::default());
        Ok(())
    }

    async fn forget_spent_client_login_states(
        &self,
        window_started_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        let mut clients = lock(&self.clients);
        let before = clients.len();
        clients.retain(|_, state| {
            state.is_locked_at(now)
                || state
                    .window_started_at
                    .is_some_and(|start| start >= window_started_before)
        });
        Ok((before - clients.len()) as u64)
    }

    async fn set_password(&self, id: UserId, hash: &PasswordHash) -> Result<(), StorageError> {
        self.update(id, |u| u.password_hash = hash.clone());
        Ok(())
    }

    async fn set_display_name(&self, id: UserId, name: &DisplayName) -> Result<(), StorageError> {
        self.update(id, |u| u.display_name = name.clone());
        Ok(())
    }

    async fn set_role(&self, id: UserId, role: Role) -> Result<(), StorageError> {
        self.update(id, |u| u.role = role);
        Ok(())
    }

    async fn set_profile(
        &self,
        id: UserId,
        name: &DisplayName,
        profile: &Profile,
    ) -> Result<(), StorageError> {
        self.update(id, |u| {
            u.display_name = name.clone();
            u.profile = profile.clone();
        });
        Ok(())
    }

    async fn set_email(&self, id: UserId, email: &Email) -> Result<(), UserStoreError> {
        let mut users = lock(&self.users);
        if users.values().any(|u| &u.email == email && u.id != id) {
            return Err(UserStoreError::DuplicateEmail);
        }
        if let Some(user) = users.get_mut(&id) {
            user.email = email.clone();
        }
        Ok(())
    }

    async fn set_email_verified(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<(), StorageError> {
        self.update(id, |u| u.email_verified_at = at);
        Ok(())
    }

    async fn set_active(&self, id: UserId, active: bool) -> Result<(), StorageError> {
        self.update(id, |u| u.is_active = active);
        Ok(())
    }

    async fn set_onboarded(&self, id: UserId, at: OffsetDateTime) -> Result<(), StorageError> {
        self.update(id, |u| u.onboarded_at = Some(at));
        Ok(())
    }

    async fn anonymize(&self, id: UserId, at: OffsetDateTime) -> Result<(), StorageError> {
        let email = Email::parse(&format!(
            "deleted-{}@deleted.invalid",
            id.as_uuid().simple()
        ))
        .expect("a valid placeholder");
        lock(&self.clients).retain(|(user, _), _| *user != id);
        self.update(id, |u| {
            u.email = email;
            u.password_hash = PasswordHash::from_phc("!");
            u.display_name = DisplayName::default();
            u.profile = Profile::default();
            u.is_active = false;
            u.email_verified_at = None;
            u.deleted_at = Some(at);
        });
        Ok(())
    }

    async fn search(&self, query: &UserQuery) -> Result<UserPage, StorageError> {
        let text = query
            .text
            .as_deref()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty());
        let mut matches: Vec<User> = lock(&self.users)
            .values()
            .filter(|u| {
                text.as_ref().is_none_or(|t| {
                    u.email.as_str().contains(t.as_str())
                        || u.display_name.as_str().to_lowercase().contains(t.as_str())
                })
            })
            .filter(|u| query.role.is_none_or(|r| u.role == r))
            .filter(|u| query.verified.is_none_or(|v| u.is_verified() == v))
            .filter(|u| query.active.is_none_or(|a| u.is_active == a))
            .filter(|u| query.locked_at.is_none_or(|t| u.login.is_locked_at(t)))
            .cloned()
            .collect();
        matches.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        let total = matches.len() as u64;
        let users = matches
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(query.limit.clamp(1, 200) as usize)
            .collect();
        Ok(UserPage { users, total })
    }

    async fn counts(&self) -> Result<UserCounts, StorageError> {
        let users = lock(&self.users);
        Ok(UserCounts {
            total: users.len() as u64,
            admins: users.values().filter(|u| u.is_admin()).count() as u64,
            active: users.values().filter(|u| u.is_active).count() as u64,
        })
    }
}
