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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasps_parameters_and_verify_only_the_right_password() {
        let hasher = Argon2Hasher::recommended();
        let password = Password::new("correct horse battery staple");
        let hash = hasher.hash(&password).await.unwrap();
        let phc = hash.as_phc();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"), "{phc}");
        assert!(hasher.verify(&password, &hash).await.unwrap());
        assert!(
            !hasher
                .verify(&Password::new("correct horse battery stapler"), &hash)
                .await
                .unwrap()
        );
        // Salted: the same password never hashes the same twice.
        assert_ne!(hasher.hash(&password).await.unwrap().as_phc(), phc);
    }

    #[tokio::test]
    async fn a_hash_keeps_verifying_with_the_parameters_it_was_made_with() {
        let old = Argon2Hasher::insecure_fast();
        let password = Password::new("an older password hash");
        let hash = old.hash(&password).await.unwrap();
        assert!(hash.as_phc().contains("m=8,t=1,p=1"), "{}", hash.as_phc());
        assert!(
            Argon2Hasher::recommended()
                .verify(&password, &hash)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_damaged_hash_is_an_error_not_a_match() {
        let hasher = Argon2Hasher::insecure_fast();
        let password = Password::new("whatever it is");
        for damaged in ["", "plain text", "$argon2id$v=19$m=8,t=1,p=1$short"] {
            assert!(
                hasher
                    .verify(&password, &PasswordHash::from_phc(damaged.to_owned()))
                    .await
                    .is_err(),
                "{damaged:?}"
            );
        }
    }

    #[tokio::test]
    async fn verifying_nothing_does_the_work_of_a_real_check() {
        let hasher = Argon2Hasher::recommended();
        let password = Password::new("no such account");
        // The first call makes the dummy hash; later ones verify against it.
        hasher.verify_nothing(&password).await;
        let dummy = hasher.dummy.get().expect("a dummy hash was made").clone();
        assert!(
            dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{dummy}"
        );
        hasher.verify_nothing(&password).await;
        assert_eq!(hasher.dummy.get(), Some(&dummy), "made once");
    }
}
