//! Rate-limit budgets in Redis, shared by every instance of the app that uses the same server.
//!
//! Each budget is one string key (`<prefix><scope>:<key>`) holding its theoretical arrival time
//! (GCRA, as `Quota::spend`) in microseconds since the Unix epoch, and expiring when that time
//! has passed (a whole budget is the same as no key, so Redis does the housekeeping). One Lua
//! script reads, decides and writes, so concurrent instances never both spend the last request.
//! Written by hand rather than taken from a crate: the rule is a few lines, and it must give the
//! same answers as the SQL and in-memory stores (the contract suite checks that).

use std::time::Duration;

use async_trait::async_trait;
use quickscale_domain_kernel::rate_limit::{Decision, Micros, Quota, RateLimitStore};
use quickscale_domain_kernel::{StorageError, StorageFailure};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// KEYS[1]: the budget. ARGV: now, interval, capacity (all µs), and 1 to spend or 0 to peek.
/// Returns 0 when allowed, else the µs to wait. Lua numbers are doubles: exact up to 2^53 µs
/// (year 2255), and written back with `%.0f` so no exponent is stored.
const GCRA: &str = r"
local now = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local paid = tat + tonumber(ARGV[2])
local over = paid - now - tonumber(ARGV[3])
if over > 0 then return over end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', paid), 'PX', math.ceil((paid - now) / 1000) + 1)
end
return 0
";

/// Rate-limit budgets in Redis.
#[derive(Clone)]
pub struct RedisRateLimits {
    connection: ConnectionManager,
    script: redis::Script,
    prefix: String,
}

impl std::fmt::Debug for RedisRateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimits")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// How long a call may wait for Redis before the caller hears it is unavailable.
const TIMEOUT: Duration = Duration::from_secs(1);

impl RedisRateLimits {
    /// Connects to the server at `url` (`redis://[:password@]host[:port][/db]`, or
    /// `rediss://` for TLS where the client supports it); keys start with `prefix`. Fails when
    /// the server does not answer.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StorageError> {
        let client = redis::Client::open(url).map_err(error)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(error)?;
        Ok(RedisRateLimits {
            connection,
            script: redis::Script::new(GCRA),
            prefix: prefix.to_owned(),
        })
    }

    async fn run(
        &self,
        scope: &str,
        key: &str,
        quota: Quota,
        now: Micros,
        spend: bool,
    ) -> Result<Decision, StorageError> {
        let mut connection = self.connection.clone();
        let over: i64 = self
            .script
            .key(format!("{}{scope}:{key}", self.prefix))
            .arg(now)
            .arg(quota.interval_micros())
            .arg(quota.capacity_micros())
            .arg(u8::from(spend))
            .invoke_async(&mut connection)
            .await
            .map_err(error)?;
        Ok(if over > 0 {
            Decision::Refused {
                retry_after: Duration::from_micros(over.unsigned_abs()),
            }
        } else {
            Decision::Allowed
        })
    }
}

#[async_trait]
impl RateLimitStore for RedisRateLimits {
    async fn spend(
        &self,
        scope: &str,
        key: &str,
        quota: Quota,
        now: Micros,
    ) -> Result<Decision, StorageError> {
        self.run(scope, key, quota, now, true).await
    }

    async fn peek(
        &self,
        scope: &str,
        key: &str,
        quota: Quota,
        now: Micros,
    ) -> Result<Decision, StorageError> {
        self.run(scope, key, quota, now, false).await
    }

    /// Nothing to do: every key expires when its budget is whole again.
    async fn forget_idle(&self, _now: Micros) -> Result<u64, StorageError> {
        Ok(0)
    }
}

fn error(error: redis::RedisError) -> StorageError {
    let failure = if error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
    {
        StorageFailure::Unavailable
    } else {
        StorageFailure::Other
    };
    StorageError::with_source(failure, "Redis error", error)
}
