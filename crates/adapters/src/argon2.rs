//! Password hashing with argon2id, off the async executor.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use quickscale_domain_identity::{HashError, Password, PasswordHash, PasswordHasher};
use tokio::sync::Semaphore;

/// argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane) by default.
///
/// Hashing runs on the blocking thread pool, at most `parallel` at a time, so a burst of
/// sign-ins can neither stall request handling nor use more than `parallel × 19 MiB`.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy: Arc<OnceLock<String>>,
}

impl Argon2Hasher {
    pub fn new(params: Params, parallel: usize) -> Self {
        Argon2Hasher {
            params,
            permits: Arc::new(Semaphore::new(parallel.max(1))),
            dummy: Arc::new(OnceLock::new()),
        }
    }

    /// OWASP's recommendation, two hashes at a time.
    pub fn recommended() -> Self {
        Self::new(Params::default(), 2)
    }

    /// Cheap parameters for tests and benchmarks that create many users. Not for production.
    pub fn insecure_fast() -> Self {
        Self::new(
            Params::new(Params::MIN_M_COST, 1, 1, None).expect("valid parameters"),
            4,
        )
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| HashError(e.to_string()))
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let params = self.params.clone();
        let secret = password.expose().as_bytes().to_vec();
        let phc = self
            .blocking(move || {
                Self::argon2(params)
                    .hash_password(&secret)
                    .map(|h| h.to_string())
            })
            .await?
            .map_err(|e| HashError(e.to_string()))?;
        Ok(PasswordHash::from_phc(phc))
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        let secret = password.expose().as_bytes().to_vec();
        let phc = hash.as_phc().to_owned();
        // The parameters stored in the hash are used, so old hashes keep verifying.
        let outcome = self
            .blocking(move || Argon2::default().verify_password(&secret, phc.as_str()))
            .await?;
        match outcome {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(other) => Err(HashError(other.to_string())),
        }
    }

    async fn verify_nothing(&self, password: &Password) {
        let dummy = match self.dummy.get() {
            Some(dummy) => dummy.clone(),
            None => match self.hash(&Password::new("timing equaliser")).await {
                Ok(hash) => self.dummy.get_or_init(|| hash.as_phc().to_owned()).clone(),
                Err(_) => return,
            },
        };
        let _ = self.verify(password, &PasswordHash::from_phc(dummy)).await;
    }
}
