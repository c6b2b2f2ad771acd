//! The runner: validate, charge once, execute with a timeout, record, refund on failure.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use futures_util::future::{Either, select};
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, CreditError, CreditStore, Credits, IdempotencyKey,
    InsufficientCredits, Operation, Reason,
};
use quickscale_domain_identity::UserId;
use quickscale_domain_kernel::{Clock, StorageError, StorageFailure};
use uuid::Uuid;

use crate::caps::{CapExceeded, SpendCaps};
use crate::notify::{NoRunEvents, RunEnded, RunEvents, RunResult};
use crate::paid::{ChargedClaim, PaidRunStore, SeparatePaidRuns};
use crate::usage::{
    Claim, RunEnd, RunStatus, ServiceRun, ServiceUsageRepository, charge_key, refund_key,
};
use crate::{InputError, ServiceInput, ServiceRegistry, SettingsSnapshot, Timer};

/// Why a run was not started. Nothing was charged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No registered service has this slug.
    #[error("there is no service called {0}")]
    UnknownService(String),
    /// The input was refused before the charge.
    #[error("{0}")]
    Input(#[from] InputError),
    /// The user cannot pay for the run; the run is recorded as rejected.
    #[error(transparent)]
    Insufficient(InsufficientCredits),
    /// A run with this key is still running: its result is not known yet.
    #[error("this run is still in progress")]
    InProgress,
    /// An admin switched the service off.
    #[error("this service is switched off")]
    Disabled,
    /// The ledger refused the charge or its refund for another reason.
    #[error(transparent)]
    Credits(CreditError),
    /// Only background runs can be cancelled; an immediate run ends in its request.
    #[error("only a background run can be cancelled")]
    NotCancellable,
    /// A run through the API over a monthly cap (the key's, or the plan's); the run is
    /// recorded as rejected.
    #[error(transparent)]
    OverCap(CapExceeded),
    /// The usage store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A run that happened (or was found again by its key).
#[derive(Clone, Debug)]
pub struct RunOutcome {
    /// The run as recorded.
    pub run: ServiceRun,
    /// True when the key had been used before and this is the stored run.
    pub replayed: bool,
}

/// Runs services for users and keeps the books straight.
#[derive(Clone)]
pub struct ServiceRunner {
    registry: Arc<ServiceRegistry>,
    credits: Arc<dyn CreditStore>,
    usage: Arc<dyn ServiceUsageRepository>,
    paid_runs: Arc<dyn PaidRunStore>,
    clock: Arc<dyn Clock>,
    timer: Arc<dyn Timer>,
    settings: Arc<SettingsSnapshot>,
    queue: Option<Arc<dyn RunQueue>>,
    events: Arc<dyn RunEvents>,
}

impl std::fmt::Debug for ServiceRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceRunner")
            .field("services", &self.registry.len())
            .finish()
    }
}

impl ServiceRunner {
    /// A runner over the registry and its ports. The `timer` runs the timeouts (and the waits
    /// between retries), so the SDK needs no async runtime of its own.
    pub fn new(
        registry: Arc<ServiceRegistry>,
        credits: Arc<dyn CreditStore>,
        usage: Arc<dyn ServiceUsageRepository>,
        clock: Arc<dyn Clock>,
        timer: Arc<dyn Timer>,
    ) -> Self {
        ServiceRunner {
            registry,
            paid_runs: Arc::new(SeparatePaidRuns::new(
                Arc::clone(&credits),
                Arc::clone(&usage),
            )),
            credits,
            usage,
            clock,
            timer,
            settings: Arc::default(),
            queue: None,
            events: Arc::new(NoRunEvents),
        }
    }

    /// Publishes every run's end (see [`crate::notify`]) to `events`.
    #[must_use]
    pub fn with_events(mut self, events: Arc<dyn RunEvents>) -> Self {
        self.events = events;
        self
    }

    /// Claims and charges paid runs through `store`, which does both in one database
    /// transaction, instead of the claim and the charge one after the other.
    #[must_use]
    pub fn with_paid_runs(mut self, store: Arc<dyn PaidRunStore>) -> Self {
        self.paid_runs = store;
        self
    }

    /// The admin settings (enabled, cost override) the runner applies.
    pub fn settings(&self) -> &Arc<SettingsSnapshot> {
        &self.settings
    }

    /// What a run of `slug` costs now (the admin's override, or the descriptor's cost).
    pub fn cost_of(&self, slug: &str) -> Option<Credits> {
        let registered = self.registry.get(slug)?;
        Some(self.settings.cost(slug, registered.descriptor.cost))
    }

    /// The services the runner runs.
    pub fn registry(&self) -> &ServiceRegistry {
        &self.registry
    }

    /// Runs `slug` for `user`. The same `key` is one run however many times it is submitted:
    /// a repeat returns the first run and charges nothing.
    ///
    /// 1. The input is checked (kind, size, type, the service's own rules) before any charge.
    /// 2. The run is recorded as running under its key (a unique index settles races) and its
    ///    cost charged, in one step ([`PaidRunStore`]; free services are only recorded).
    /// 3. The service runs with its timeout; a panic counts as a failure.
    /// 4. On failure or timeout the charge is reversed; the run is recorded either way.
    pub async fn run(
        &self,
        user: UserId,
        slug: &str,
        input: ServiceInput,
        key: IdempotencyKey,
    ) -> Result<RunOutcome, RunError> {
        self.run_capped(user, slug, input, key, SpendCaps::NONE)
            .await
    }

    /// [`ServiceRunner::run`] for a run requested through the API: the run records its API key
    /// and is charged only within `caps`, checked with the charge ([`PaidRunStore`]).
    pub async fn run_capped(
        &self,
        user: UserId,
        slug: &str,
        input: ServiceInput,
        key: IdempotencyKey,
        caps: SpendCaps,
    ) -> Result<RunOutcome, RunError> {
        let registered = self
            .registry
            .get(slug)
            .ok_or_else(|| RunError::UnknownService(slug.to_owned()))?;
        let descriptor = &registered.descriptor;
        if !self.settings.enabled(slug) {
            return Err(RunError::Disabled);
        }
        let cost = self.settings.cost(slug, descriptor.cost);
        input.check_against(descriptor)?;
        registered.service.validate(&input)?;

        let started_at = self.clock.now();
        let mut run = ServiceRun {
            id: Uuid::now_v7(),
            user,
            service: descriptor.slug.clone(),
            key,
            status: RunStatus::Running,
            cost,
            charge: None,
            refunded: Credits::ZERO,
            balance_after: None,
            input_bytes: input.size() as u64,
            duration_ms: None,
            output: None,
            error: None,
            mode: crate::RunMode::Immediate,
            progress: None,
            started_at,
            finished_at: None,
            api_key: caps.key,
        };
        if let Some(queue) = &self.queue
            && descriptor.mode == crate::RunMode::Background
        {
            run.cost = descriptor.hold_for(cost);
            return self
                .submit_background(run, input, &descriptor.name, queue, &caps)
                .await;
        }
        let account = AccountId::new(user.as_uuid());
        let clock = Instant::now();
        if let Some(replayed) = self
            .claim_and_charge(&mut run, &descriptor.name, &caps)
            .await?
        {
            return Ok(replayed);
        }

        let work = AssertUnwindSafe(registered.service.execute(input)).catch_unwind();
        let deadline = self.timer.sleep(descriptor.timeout);
        let result = match select(Box::pin(work), deadline).await {
            Either::Left((Ok(result), _)) => result.map_err(|e| (RunStatus::Failed, e.to_string())),
            Either::Left((Err(_panic), _)) => Err((
                RunStatus::Failed,
                "the service stopped unexpectedly".to_owned(),
            )),
            Either::Right(((), _)) => Err((
                RunStatus::TimedOut,
                format!(
                    "the service took longer than {} seconds",
                    descriptor.timeout.as_secs_f32()
                ),
            )),
        };

        match result {
            Ok(output) => {
                if run.balance_after.is_none() {
                    let balance = self.credits.balance(account, self.clock.now()).await;
                    run.balance_after = balance.ok().map(|b| b.total);
                }
                self.end(
                    &mut run,
                    RunStatus::Succeeded,
                    cost,
                    Some(output),
                    None,
                    clock,
                )
                .await?;
            }
            Err((status, message)) => {
                let mut refunded = Credits::ZERO;
                if let Some(charge) = run.charge {
                    let refund = Operation {
                        key: refund_key(run.id),
                        actor: Actor::System,
                        reason: reason(&format!("Refund: {} failed", descriptor.name)),
                        command: CreditCommand::Reverse { entry: charge },
                    };
                    let receipt = self
                        .credits
                        .execute(account, refund, self.clock.now())
                        .await
                        .map_err(RunError::Credits)?;
                    refunded = receipt.amount;
                    run.balance_after = Some(receipt.balance_after);
                }
                run.refunded = refunded;
                let kept = cost.saturating_sub(refunded);
                self.end(&mut run, status, kept, None, Some(message), clock)
                    .await?;
            }
        }
        Ok(RunOutcome {
            run,
            replayed: false,
        })
    }

    /// The charge path: claims `run` under its key and charges its cost. `Ok(Some(..))` is the
    /// stored run of a key used before (nothing charged); `Ok(None)`: the run is recorded as
    /// running and charged (free runs are only recorded), go on and execute it. A refused charge
    /// is recorded as the run's end and returned as the error.
    async fn claim_and_charge(
        &self,
        run: &mut ServiceRun,
        name: &str,
        caps: &SpendCaps,
    ) -> Result<Option<RunOutcome>, RunError> {
        let existing = if run.cost.is_zero() {
            match self.usage.claim(run).await? {
                Claim::Started => return Ok(None),
                Claim::Existing(existing) => existing,
            }
        } else {
            let charge = Operation {
                key: charge_key(run.id),
                actor: Actor::User(run.user.as_uuid()),
                reason: reason(&format!("Ran {name}")),
                command: CreditCommand::Consume { amount: run.cost },
            };
            match self.paid_runs.claim_and_charge(run, &charge, caps).await? {
                ChargedClaim::Charged(receipt) => {
                    run.charge = Some(receipt.entry);
                    run.balance_after = Some(receipt.balance_after);
                    return Ok(None);
                }
                ChargedClaim::Refused(CreditError::Insufficient(short)) => {
                    return Err(RunError::Insufficient(short));
                }
                ChargedClaim::Refused(other) => return Err(RunError::Credits(other)),
                ChargedClaim::OverCap(over) => return Err(RunError::OverCap(over)),
                ChargedClaim::Existing(existing) => existing,
            }
        };
        if existing.status == RunStatus::Running {
            return Err(RunError::InProgress);
        }
        Ok(Some(RunOutcome {
            run: *existing,
            replayed: true,
        }))
    }

    /// Ends the runs an app stopped in the middle of (a crash, a killed process): runs still
    /// marked running that started before `before`, which callers set past the longest timeout
    /// so that no live run is touched. Each is recorded as failed and its charge reversed (both
    /// idempotent, under the run's own keys, so two instances recovering at once change nothing
    /// twice). Returns how many runs were ended.
    pub async fn recover_interrupted(
        &self,
        before: time::OffsetDateTime,
    ) -> Result<usize, RunError> {
        let mut ended = 0;
        loop {
            let runs = self.usage.unfinished(before, 100).await?;
            if runs.is_empty() {
                return Ok(ended);
            }
            for mut run in runs {
                self.end_interrupted(&mut run).await?;
                ended += 1;
            }
        }
    }

    async fn end_interrupted(&self, run: &mut ServiceRun) -> Result<(), RunError> {
        if run.mode == crate::RunMode::Background {
            let error = if run.status == RunStatus::Queued {
                "the run never started (its job was lost, or waited too long); the credits \
                 held were released"
            } else {
                "the worker stopped during this run; the credits held were released"
            };
            let end = BackgroundEnd::Failed {
                status: RunStatus::Failed,
                error: error.to_owned(),
            };
            self.end_background_run(run, end).await?;
            return Ok(());
        }
        let account = AccountId::new(run.user.as_uuid());
        let name = self
            .registry
            .get(&run.service)
            .map_or_else(|| run.service.clone(), |r| r.descriptor.name.clone());
        let mut refunded = Credits::ZERO;
        if !run.cost.is_zero() {
            // The charge under the run's key: the one made before the stop, or, if the stop
            // came before it, made now; then reversed either way.
            let charge = Operation {
                key: charge_key(run.id),
                actor: Actor::User(run.user.as_uuid()),
                reason: reason(&format!("Ran {name}")),
                command: CreditCommand::Consume { amount: run.cost },
            };
            match self.credits.execute(account, charge, run.started_at).await {
                Ok(receipt) => {
                    run.charge = Some(receipt.entry);
                    let refund = Operation {
                        key: refund_key(run.id),
                        actor: Actor::System,
                        reason: reason(&format!("Refund: {name} was interrupted")),
                        command: CreditCommand::Reverse {
                            entry: receipt.entry,
                        },
                    };
                    let receipt = self
                        .credits
                        .execute(account, refund, self.clock.now())
                        .await
                        .map_err(RunError::Credits)?;
                    refunded = receipt.amount;
                    run.balance_after = Some(receipt.balance_after);
                }
                // Never charged, and cannot be now: nothing to give back.
                Err(CreditError::Insufficient(_)) => {}
                Err(other) => return Err(RunError::Credits(other)),
            }
        }
        run.refunded = refunded;
        // A run never charged kept nothing, whatever it would have cost.
        let kept = match run.charge {
            Some(_) => run.cost.saturating_sub(refunded),
            None => Credits::ZERO,
        };
        self.end(
            run,
            RunStatus::Failed,
            kept,
            None,
            Some("the app stopped during this run; it was refunded".to_owned()),
            Instant::now(),
        )
        .await?;
        Ok(())
    }

    async fn end(
        &self,
        run: &mut ServiceRun,
        status: RunStatus,
        cost: Credits,
        output: Option<crate::ServiceOutput>,
        error: Option<String>,
        started: Instant,
    ) -> Result<(), StorageError> {
        let end = RunEnd {
            status,
            cost: if status == RunStatus::Rejected {
                Credits::ZERO
            } else {
                cost
            },
            charge: run.charge,
            refunded: run.refunded,
            balance_after: run.balance_after,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            output: output.map(crate::ServiceOutput::without_nul),
            error: error.map(|e| crate::io::without_nul(&e)),
            finished_at: self.clock.now(),
        };
        self.record_end(run.id, &end).await?;
        run.status = end.status;
        run.cost = end.cost;
        run.duration_ms = Some(end.duration_ms);
        run.output = end.output;
        run.error = end.error;
        run.finished_at = Some(end.finished_at);
        self.publish_end(run).await;
        Ok(())
    }

    /// Tells [`RunEvents`] that `run` ended, in the request or, for a background run, wherever
    /// [`ServiceRunner::end_background_run`] ended it (a run that never started, rejected for
    /// want of credits, is not announced).
    async fn publish_end(&self, run: &ServiceRun) {
        let (Some(result), Some(finished_at)) = (RunResult::of(run.status), run.finished_at) else {
            return;
        };
        let event = RunEnded {
            run: run.id,
            service: run.service.clone(),
            user: run.user,
            result,
            status: run.status.as_str().to_owned(),
            cost: run.cost,
            summary: run.output.as_ref().map(|o| o.summary.clone()),
            error: run.error.clone(),
            started_at: run.started_at,
            finished_at,
            background: run.mode == crate::RunMode::Background,
        };
        self.events.run_ended(&event).await;
    }
}

impl ServiceRunner {
    /// Writes how a run ended, retrying for about six seconds while the database is
    /// unavailable: a short outage then does not leave a finished run marked running (and a
    /// failed one unrefunded until `recover_interrupted`).
    async fn record_end(&self, id: Uuid, end: &RunEnd) -> Result<(), StorageError> {
        let mut delay = std::time::Duration::from_millis(200);
        for _ in 0..5 {
            match self.usage.finish(id, end).await {
                Err(error) if error.failure == StorageFailure::Unavailable => {
                    self.timer.sleep(delay).await;
                    delay *= 2;
                }
                other => return other,
            }
        }
        self.usage.finish(id, end).await
    }
}

mod background;
#[cfg(test)]
mod scripted;

pub use background::{BackgroundEnd, BackgroundJob, RunContext, RunQueue};

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap_or_else(|_| Reason::parse("Service run").expect("non-empty"))
}
