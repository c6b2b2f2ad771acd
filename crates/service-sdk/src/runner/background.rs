//! Background runs: submitted in the request (the credits held, a job queued), executed by a
//! worker (progress reported as it goes), and ended through one function,
//! [`ServiceRunner::end_background_run`], which settles or releases the hold exactly once.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures_util::FutureExt;
use futures_util::future::{Either, select};
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, Credits, EntryKind, IdempotencyKey, Operation,
};
use quickscale_domain_identity::UserId;
use quickscale_domain_kernel::StorageError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{RunError, RunOutcome, ServiceRunner, reason};
use crate::caps::SpendCaps;
use crate::usage::{
    Progress, RunStatus, ServiceRun, ServiceUsageRepository, release_key, settle_key,
};
use crate::{RunMode, ServiceError, ServiceInput, ServiceOutput};

/// The job of one background run, as the queue carries it: the run is keyed by its id.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct BackgroundJob {
    /// The run (already recorded as queued, its credits held).
    pub run: Uuid,
    /// Whose run it is.
    pub user: Uuid,
    /// What the service is given.
    pub input: ServiceInput,
}

/// Where background runs wait for a worker (the app's job queue).
#[async_trait]
pub trait RunQueue: Send + Sync {
    /// Queues `job`, keyed by its run id: queuing the same run twice queues it once.
    async fn enqueue(&self, job: BackgroundJob) -> Result<(), StorageError>;
}

/// What a background service can do while it runs: report progress, and report its actual
/// cost (never above what was held).
pub struct RunContext {
    run: Uuid,
    held: Credits,
    usage: Arc<dyn ServiceUsageRepository>,
    reported: Mutex<Option<Credits>>,
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("run", &self.run)
            .field("held", &self.held)
            .finish_non_exhaustive()
    }
}

impl RunContext {
    /// A context for run `run`, which holds `held`, recording progress in `usage`.
    pub fn new(run: Uuid, held: Credits, usage: Arc<dyn ServiceUsageRepository>) -> Self {
        RunContext {
            run,
            held,
            usage,
            reported: Mutex::new(None),
        }
    }

    /// The run's id.
    pub fn run_id(&self) -> Uuid {
        self.run
    }

    /// What the run holds: the most it can be charged.
    pub fn held(&self) -> Credits {
        self.held
    }

    /// Records how far the run has come (`fraction` from 0 to 1, a few words of what it is
    /// doing). Returns [`ServiceError::Cancelled`] once the run is over (its user cancelled it):
    /// the service should stop and return that error.
    pub async fn progress(&self, fraction: f32, message: &str) -> Result<(), ServiceError> {
        match self
            .usage
            .progress(self.run, &Progress::new(fraction, message))
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(ServiceError::Cancelled),
            // Progress is informative: a failed write does not stop the run.
            Err(_) => Ok(()),
        }
    }

    /// Reports what the run actually cost (tokens used, pages read); charged when it succeeds
    /// instead of its price. A cost above what was held is refused and not recorded.
    pub fn report_cost(&self, cost: Credits) -> Result<(), ServiceError> {
        if cost > self.held {
            return Err(ServiceError::Internal(format!(
                "the reported cost {cost} is above the {} held",
                self.held
            )));
        }
        *self
            .reported
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(cost);
        Ok(())
    }

    fn reported(&self) -> Option<Credits> {
        *self
            .reported
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How a background run ends.
#[derive(Clone, PartialEq, Debug)]
pub enum BackgroundEnd {
    /// The service returned its output: the hold is settled with `charge` (at most the hold).
    Succeeded {
        /// What the run produced.
        output: ServiceOutput,
        /// What it costs.
        charge: Credits,
    },
    /// The service failed or ran out of time (`status`): the hold is released in full.
    Failed {
        /// [`RunStatus::Failed`] or [`RunStatus::TimedOut`].
        status: RunStatus,
        /// Why, in words safe to show the user.
        error: String,
    },
    /// Its user cancelled it: the hold is released in full.
    Cancelled,
}

impl ServiceRunner {
    /// Queues background runs on `queue` (without one, background services run in the request
    /// like immediate ones).
    #[must_use]
    pub fn with_queue(mut self, queue: Arc<dyn RunQueue>) -> Self {
        self.queue = Some(queue);
        self
    }

    /// Whether runs of `slug` go to the queue.
    pub fn runs_in_background(&self, slug: &str) -> bool {
        self.queue.is_some()
            && self
                .registry
                .get(slug)
                .is_some_and(|r| r.descriptor.mode == RunMode::Background)
    }

    /// The submission of a background run (its input already checked): recorded as queued
    /// under its key with its price (or declared maximum) held, then queued. A repeat of the
    /// key returns the run as it is and holds nothing.
    pub(super) async fn submit_background(
        &self,
        mut run: ServiceRun,
        input: ServiceInput,
        name: &str,
        queue: &Arc<dyn RunQueue>,
        caps: &SpendCaps,
    ) -> Result<RunOutcome, RunError> {
        run.status = RunStatus::Queued;
        run.mode = RunMode::Background;
        let hold = Operation {
            key: crate::usage::charge_key(run.id),
            actor: Actor::User(run.user.as_uuid()),
            reason: reason(&format!("Held for {name}")),
            command: CreditCommand::Hold { amount: run.cost },
        };
        if let Some(existing) = self.claim_or_hold(&mut run, hold, caps).await? {
            return Ok(RunOutcome {
                run: existing,
                replayed: true,
            });
        }
        let job = BackgroundJob {
            run: run.id,
            user: run.user.as_uuid(),
            input,
        };
        if let Err(error) = queue.enqueue(job).await {
            let end = BackgroundEnd::Failed {
                status: RunStatus::Failed,
                error: "the run could not be queued; nothing was charged".to_owned(),
            };
            self.end_background_run(&run, end).await?;
            return Err(RunError::Storage(error));
        }
        Ok(RunOutcome {
            run,
            replayed: false,
        })
    }

    /// Claims the run and holds its cost (free runs are only claimed). `Some`: the key's run
    /// exists already, as it is.
    async fn claim_or_hold(
        &self,
        run: &mut ServiceRun,
        hold: Operation,
        caps: &SpendCaps,
    ) -> Result<Option<ServiceRun>, RunError> {
        use crate::paid::ChargedClaim;
        use crate::usage::Claim;
        if run.cost.is_zero() {
            return match self.usage.claim(run).await? {
                Claim::Started => Ok(None),
                Claim::Existing(existing) => Ok(Some(*existing)),
            };
        }
        match self.paid_runs.claim_and_charge(run, &hold, caps).await? {
            ChargedClaim::Charged(receipt) => {
                run.charge = Some(receipt.entry);
                run.balance_after = Some(receipt.balance_after);
                Ok(None)
            }
            ChargedClaim::Refused(quickscale_domain_credits::CreditError::Insufficient(short)) => {
                Err(RunError::Insufficient(short))
            }
            ChargedClaim::Refused(other) => Err(RunError::Credits(other)),
            ChargedClaim::OverCap(over) => Err(RunError::OverCap(over)),
            ChargedClaim::Existing(existing) => Ok(Some(*existing)),
        }
    }

    /// Runs the job of a background run, as a worker does: starts the run (a run already ended
    /// is left alone; one left running by a worker that died runs again), executes the service
    /// with its timeout, and ends the run. Returns the run as it ended (`None` when there is
    /// no such run).
    pub async fn work_background(
        &self,
        job: BackgroundJob,
    ) -> Result<Option<ServiceRun>, RunError> {
        let Some(run) = self.usage.start(job.run).await? else {
            return Ok(None);
        };
        if run.status.is_final() {
            return Ok(Some(run));
        }
        let Some(registered) = self.registry.get(&run.service) else {
            let end = BackgroundEnd::Failed {
                status: RunStatus::Failed,
                error: "this service no longer exists".to_owned(),
            };
            return self.end_background_run(&run, end).await.map(Some);
        };
        let descriptor = &registered.descriptor;
        let context = RunContext::new(run.id, run.cost, Arc::clone(&self.usage));
        let work = AssertUnwindSafe(registered.service.execute_background(job.input, &context))
            .catch_unwind();
        let deadline = self.timer.sleep(descriptor.timeout);
        let end = match select(Box::pin(work), deadline).await {
            Either::Left((Ok(Ok(output)), _)) => {
                let price = self.settings.cost(&run.service, descriptor.cost);
                BackgroundEnd::Succeeded {
                    output,
                    charge: context.reported().unwrap_or(price).min(run.cost),
                }
            }
            Either::Left((Ok(Err(ServiceError::Cancelled)), _)) => BackgroundEnd::Cancelled,
            Either::Left((Ok(Err(error)), _)) => BackgroundEnd::Failed {
                status: RunStatus::Failed,
                error: error.to_string(),
            },
            Either::Left((Err(_panic), _)) => BackgroundEnd::Failed {
                status: RunStatus::Failed,
                error: "the service stopped unexpectedly".to_owned(),
            },
            Either::Right(((), _)) => BackgroundEnd::Failed {
                status: RunStatus::TimedOut,
                error: format!(
                    "the service took longer than {} seconds",
                    descriptor.timeout.as_secs_f32()
                ),
            },
        };
        self.end_background_run(&run, end).await.map(Some)
    }

    /// Cancels one of `user`'s background runs while it is queued or running: its hold is
    /// released in full. A run already over is returned as it is; an immediate run cannot be
    /// cancelled. `None`: the user has no such run.
    pub async fn cancel(&self, user: UserId, id: Uuid) -> Result<Option<ServiceRun>, RunError> {
        let Some(run) = self.usage.get(user, id).await? else {
            return Ok(None);
        };
        if run.status.is_final() {
            return Ok(Some(run));
        }
        if run.mode != RunMode::Background {
            return Err(RunError::NotCancellable);
        }
        self.end_background_run(&run, BackgroundEnd::Cancelled)
            .await
            .map(Some)
    }

    /// **Every background run ends here** (success, failure, timeout, cancellation, a worker
    /// that died): the hold is settled (charged at most its amount, the rest back) or released
    /// (all back), exactly once, under the run's own keys; then the end is recorded and the
    /// end published to the runner's `RunEvents` (`with_events`), once. When two endings race (a cancel and the worker finishing), the
    /// first to reach the ledger wins: the other changes nothing and returns the run as the
    /// winner recorded it.
    pub async fn end_background_run(
        &self,
        run: &ServiceRun,
        end: BackgroundEnd,
    ) -> Result<ServiceRun, RunError> {
        let account = AccountId::new(run.user.as_uuid());
        let name = self
            .registry
            .get(&run.service)
            .map_or_else(|| run.service.clone(), |r| r.descriptor.name.clone());
        let (status, output, error) = match &end {
            BackgroundEnd::Succeeded { output, .. } => {
                (RunStatus::Succeeded, Some(output.clone()), None)
            }
            BackgroundEnd::Failed { status, error } => (*status, None, Some(error.clone())),
            BackgroundEnd::Cancelled => (
                RunStatus::Cancelled,
                None,
                Some("cancelled; the credits held were released".to_owned()),
            ),
        };
        let mut cost = Credits::ZERO;
        let mut refunded = Credits::ZERO;
        let mut balance_after = run.balance_after;
        let mut ended_here = None;
        let charge = self.hold_of(run, &name).await?;
        if let Some(hold) = charge {
            let (key, command, kind, why): (IdempotencyKey, _, _, _) = match &end {
                BackgroundEnd::Succeeded { charge, .. } => (
                    settle_key(run.id),
                    CreditCommand::Settle {
                        hold,
                        charge: (*charge).min(run.cost),
                    },
                    EntryKind::Settle,
                    format!("{name} finished"),
                ),
                BackgroundEnd::Failed { .. } => (
                    release_key(run.id),
                    CreditCommand::Release { hold },
                    EntryKind::Release,
                    format!("{name} failed"),
                ),
                BackgroundEnd::Cancelled => (
                    release_key(run.id),
                    CreditCommand::Release { hold },
                    EntryKind::Release,
                    format!("{name} cancelled"),
                ),
            };
            let op = Operation {
                key,
                actor: Actor::System,
                reason: reason(&why),
                command,
            };
            let receipt = self
                .credits
                .execute(account, op, self.clock.now())
                .await
                .map_err(RunError::Credits)?;
            if receipt.kind != kind {
                // Another ending reached the ledger first: its record stands.
                return self.recorded(run).await;
            }
            ended_here = Some(!receipt.replayed);
            refunded = receipt.amount;
            cost = run
                .cost
                .saturating_sub(receipt.amount)
                .saturating_sub(receipt.shortfall);
            balance_after = Some(receipt.balance_after);
        }
        // To the microsecond, as the stores keep it, so that the record read back is ours.
        let now = self.clock.now();
        let finished_at = now
            .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now);
        let duration_ms =
            u64::try_from((finished_at - run.started_at).whole_milliseconds()).unwrap_or(0);
        let record = crate::usage::RunEnd {
            status,
            cost,
            charge,
            refunded,
            balance_after,
            duration_ms,
            output: output.map(ServiceOutput::without_nul),
            error: error.map(|e| crate::io::without_nul(&e)),
            finished_at,
        };
        self.record_end(run.id, &record).await?;
        let ended = self.recorded(run).await?;
        let ended_here =
            ended_here.unwrap_or(ended.status == status && ended.finished_at == Some(finished_at));
        if ended_here {
            self.publish_end(&ended).await;
        }
        Ok(ended)
    }

    /// The run's hold. A store that claims and holds in two steps does not record the hold on
    /// the run: the hold is asked again under the run's key, which answers with the one made
    /// at submission (or, if the submission stopped between its two steps, makes it now, so
    /// that the ending settles or releases it). `None` for a free run, or a run whose hold the
    /// ledger refuses now.
    async fn hold_of(
        &self,
        run: &ServiceRun,
        name: &str,
    ) -> Result<Option<quickscale_domain_credits::EntryId>, RunError> {
        if run.charge.is_some() || run.cost.is_zero() {
            return Ok(run.charge);
        }
        let hold = Operation {
            key: crate::usage::charge_key(run.id),
            actor: Actor::User(run.user.as_uuid()),
            reason: reason(&format!("Held for {name}")),
            command: CreditCommand::Hold { amount: run.cost },
        };
        let account = AccountId::new(run.user.as_uuid());
        match self.credits.execute(account, hold, run.started_at).await {
            Ok(receipt) => Ok(Some(receipt.entry)),
            Err(quickscale_domain_credits::CreditError::Insufficient(_)) => Ok(None),
            Err(other) => Err(RunError::Credits(other)),
        }
    }

    async fn recorded(&self, run: &ServiceRun) -> Result<ServiceRun, RunError> {
        Ok(self
            .usage
            .get(run.user, run.id)
            .await?
            .ok_or_else(|| StorageError::corrupt(format!("run {} vanished", run.id)))?)
    }
}
