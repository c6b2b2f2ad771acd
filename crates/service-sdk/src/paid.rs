//! Claiming a paid run and charging it: the one step between checking a run's input and
//! executing the service.
//!
//! A store that can do both in one database transaction (the SQL stores: the transaction that
//! holds the credit account also records the run) implements [`PaidRunStore`]; any pair of a
//! credit store and a usage store gets the same behaviour, in two steps, from
//! [`SeparatePaidRuns`]. Either way:
//! - a run whose key was used before is returned as it is, and nothing is charged;
//! - otherwise the run is recorded as running with its charge, or, when the ledger refuses the
//!   charge, as ended ([`refused_end`]: rejected for a short balance, failed otherwise) with
//!   nothing charged.
//! - a run requested through the API is first held to its monthly [`SpendCaps`], by what the
//!   month's runs spent as read in the same step: a run over a cap is recorded as rejected
//!   ([`over_cap_end`]) and nothing is charged.

use std::sync::Arc;

use async_trait::async_trait;
use quickscale_domain_credits::{AccountId, CreditError, CreditStore, Credits, Operation, Receipt};
use quickscale_domain_kernel::StorageError;

use crate::caps::{CapExceeded, SpendCaps, check_caps, month_start};
use crate::usage::{Claim, RunEnd, RunStatus, ServiceRun, ServiceUsageRepository};

/// What claiming and charging a paid run found.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChargedClaim {
    /// The run is new, recorded as running, and charged: the charge's receipt.
    Charged(Receipt),
    /// The run is new and the ledger refused its charge: it is recorded as ended
    /// ([`refused_end`]) and nothing was charged.
    Refused(CreditError),
    /// A run with this key exists already; nothing was charged.
    Existing(Box<ServiceRun>),
    /// The run is new and over one of its [`SpendCaps`]: it is recorded as rejected
    /// ([`over_cap_end`]) and nothing was charged.
    OverCap(CapExceeded),
}

/// Claims a run under its key and charges it, as one step.
#[async_trait]
pub trait PaidRunStore: Send + Sync {
    /// Claims `run` (its user, key and cost) and runs `charge` on the user's credit account at
    /// `run.started_at`, unless the run is over one of `caps` (checked in the same step as the
    /// charge, by what the month of `run.started_at` spent); see the module for what is
    /// recorded. A storage failure of the charge is an error and leaves no trace where the store
    /// has one transaction for both.
    async fn claim_and_charge(
        &self,
        run: &ServiceRun,
        charge: &Operation,
        caps: &SpendCaps,
    ) -> Result<ChargedClaim, StorageError>;
}

/// How a run whose charge the ledger refused is recorded: rejected when the balance was short,
/// failed for any other reason; nothing kept, nothing refunded.
pub fn refused_end(run: &ServiceRun, error: &CreditError) -> RunEnd {
    let status = match error {
        CreditError::Insufficient(_) => RunStatus::Rejected,
        _ => RunStatus::Failed,
    };
    uncharged_end(run, status, &error.to_string())
}

/// How a run over one of its caps is recorded: rejected, nothing charged, the cap named in its
/// error (see [`CapExceeded::refusal_of`]).
pub fn over_cap_end(run: &ServiceRun, over: &CapExceeded) -> RunEnd {
    uncharged_end(run, RunStatus::Rejected, &over.to_string())
}

fn uncharged_end(run: &ServiceRun, status: RunStatus, error: &str) -> RunEnd {
    RunEnd {
        status,
        cost: Credits::ZERO,
        charge: None,
        refunded: Credits::ZERO,
        balance_after: None,
        duration_ms: 0,
        output: None,
        error: Some(crate::io::without_nul(error)),
        finished_at: run.started_at,
    }
}

/// [`PaidRunStore`] over separate stores: the claim, then the ledger transaction (and, when the
/// ledger refuses, the end of the run). Runs under caps are taken one at a time (a lock in this
/// process), so the caps hold for the in-memory stores, which live in one process.
#[derive(Clone)]
pub struct SeparatePaidRuns {
    credits: Arc<dyn CreditStore>,
    usage: Arc<dyn ServiceUsageRepository>,
    capped: Arc<futures_util::lock::Mutex<()>>,
}

impl SeparatePaidRuns {
    /// Claims in `usage`, charges in `credits`.
    pub fn new(credits: Arc<dyn CreditStore>, usage: Arc<dyn ServiceUsageRepository>) -> Self {
        SeparatePaidRuns {
            credits,
            usage,
            capped: Arc::default(),
        }
    }
}

impl std::fmt::Debug for SeparatePaidRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeparatePaidRuns")
    }
}

#[async_trait]
impl PaidRunStore for SeparatePaidRuns {
    async fn claim_and_charge(
        &self,
        run: &ServiceRun,
        charge: &Operation,
        caps: &SpendCaps,
    ) -> Result<ChargedClaim, StorageError> {
        let _one_at_a_time = match caps.key.filter(|_| caps.is_capped()) {
            Some(key) => {
                let guard = self.capped.lock().await;
                let spent = self
                    .usage
                    .month_spend(run.user, key, month_start(run.started_at))
                    .await?;
                if let Err(over) = check_caps(caps, &spent, run.cost) {
                    let end = over_cap_end(run, &over);
                    if let Claim::Existing(existing) = self.usage.claim(run).await? {
                        return Ok(ChargedClaim::Existing(existing));
                    }
                    self.usage.finish(run.id, &end).await?;
                    return Ok(ChargedClaim::OverCap(over));
                }
                Some(guard)
            }
            None => None,
        };
        if let Claim::Existing(existing) = self.usage.claim(run).await? {
            return Ok(ChargedClaim::Existing(existing));
        }
        let account = AccountId::new(run.user.as_uuid());
        match self
            .credits
            .execute(account, charge.clone(), run.started_at)
            .await
        {
            Ok(receipt) => Ok(ChargedClaim::Charged(receipt)),
            Err(error) => {
                self.usage.finish(run.id, &refused_end(run, &error)).await?;
                Ok(ChargedClaim::Refused(error))
            }
        }
    }
}
