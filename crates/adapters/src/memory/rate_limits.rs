use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use quickscale_domain_kernel::StorageError;
use quickscale_domain_kernel::rate_limit::{Decision, Micros, Quota, RateLimitStore};

use super::lock;

/// Rate-limit budgets in this process: the reference implementation of the rule
/// ([`Quota::spend`]), and the app's store when it runs as one process.
#[derive(Debug, Default)]
pub struct MemoryRateLimits {
    /// The theoretical arrival time of each (scope, key).
    buckets: Mutex<HashMap<(String, String), Micros>>,
}

#[async_trait]
impl RateLimitStore for MemoryRateLimits {
    async fn spend(
        &self,
        scope: &str,
        key: &str,
        quota: Quota,
        now: Micros,
    ) -> Result<Decision, StorageError> {
        let mut buckets = lock(&self.buckets);
        let entry = (scope.to_owned(), key.to_owned());
        match quota.spend(buckets.get(&entry).copied(), now) {
            Ok(tat) => {
                buckets.insert(entry, tat);
                Ok(Decision::Allowed)
            }
            Err(retry_after) => Ok(Decision::Refused { retry_after }),
        }
    }

    async fn peek(
        &self,
        scope: &str,
        key: &str,
        quota: Quota,
        now: Micros,
    ) -> Result<Decision, StorageError> {
        let tat = lock(&self.buckets)
            .get(&(scope.to_owned(), key.to_owned()))
            .copied();
        Ok(quota.peek(tat, now))
    }

    async fn forget_idle(&self, now: Micros) -> Result<u64, StorageError> {
        let mut buckets = lock(&self.buckets);
        let before = buckets.len();
        buckets.retain(|_, tat| *tat > now);
        Ok((before - buckets.len()) as u64)
    }
}
