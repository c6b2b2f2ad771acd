use async_trait::async_trait;
use quickscale_domain_identity::{HashError, Password, PasswordHash, PasswordHasher};

/// A hasher for tests only: instant, and *not* a hash. Never use it to store real passwords.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainTextHasher;

#[async_trait]
impl PasswordHasher for PlainTextHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        Ok(PasswordHash::from_phc(format!(
            "$plain${}",
            password.expose()
        )))
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        match hash.as_phc().strip_prefix("$plain$") {
            Some(stored) => Ok(stored == password.expose()),
            None => Err(HashError("not a test hash".to_owned())),
        }
    }
}
