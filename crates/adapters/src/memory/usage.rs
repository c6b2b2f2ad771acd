use std::sync::Mutex;

use async_trait::async_trait;
use quickscale_domain_identity::{ApiKeyId, UserId};
use quickscale_domain_kernel::StorageError;
use quickscale_service_sdk::caps::MonthSpend;
use quickscale_service_sdk::usage::{
    Claim, Progress, RunCharge, RunEnd, RunQuery, RunSample, RunStatus, ServiceRun,
    ServiceUsageRepository,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::lock;

/// Service runs in memory, unique per user and key like the SQL stores.
#[derive(Debug, Default)]
pub struct MemoryUsageRepository {
    runs: Mutex<Vec<ServiceRun>>,
}

#[async_trait]
impl ServiceUsageRepository for MemoryUsageRepository {
    async fn claim(&self, run: &ServiceRun) -> Result<Claim, StorageError> {
        let mut runs = lock(&self.runs);
        if let Some(existing) = runs.iter().find(|r| r.user == run.user && r.key == run.key) {
            return Ok(Claim::Existing(Box::new(existing.clone())));
        }
        runs.push(run.clone());
        Ok(Claim::Started)
    }

    async fn finish(&self, id: Uuid, end: &RunEnd) -> Result<(), StorageError> {
        if let Some(run) = lock(&self.runs)
            .iter_mut()
            .find(|r| r.id == id && !r.status.is_final())
        {
            run.status = end.status;
            run.cost = end.cost;
            run.charge = end.charge;
            run.refunded = end.refunded;
            run.balance_after = end.balance_after;
            run.duration_ms = Some(end.duration_ms);
            run.output = end.output.clone();
            run.error = end.error.clone();
            run.finished_at = Some(end.finished_at);
        }
        Ok(())
    }

    async fn start(&self, id: Uuid) -> Result<Option<ServiceRun>, StorageError> {
        let mut runs = lock(&self.runs);
        let Some(run) = runs.iter_mut().find(|r| r.id == id) else {
            return Ok(None);
        };
        if run.status == RunStatus::Queued {
            run.status = RunStatus::Running;
        }
        Ok(Some(run.clone()))
    }

    async fn progress(&self, id: Uuid, progress: &Progress) -> Result<bool, StorageError> {
        let mut runs = lock(&self.runs);
        match runs.iter_mut().find(|r| r.id == id && !r.status.is_final()) {
            Some(run) => {
                run.progress = Some(progress.clone());
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn get(&self, user: UserId, id: Uuid) -> Result<Option<ServiceRun>, StorageError> {
        Ok(lock(&self.runs)
            .iter()
            .find(|r| r.id == id && r.user == user)
            .cloned())
    }

    async fn list(&self, user: UserId, query: &RunQuery) -> Result<Vec<ServiceRun>, StorageError> {
        let mut runs: Vec<ServiceRun> = lock(&self.runs)
            .iter()
            .filter(|r| r.user == user)
            .filter(|r| query.service.as_ref().is_none_or(|s| &r.service == s))
            .filter(|r| query.status.is_none_or(|s| r.status == s))
            .cloned()
            .collect();
        runs.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        Ok(runs
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(query.limit.clamp(1, 500) as usize)
            .collect())
    }

    async fn samples_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<RunSample>, StorageError> {
        let mut runs: Vec<&ServiceRun> = Vec::new();
        let guard = lock(&self.runs);
        runs.extend(guard.iter().filter(|r| r.started_at >= since));
        runs.sort_by_key(|r| std::cmp::Reverse(r.started_at));
        Ok(runs
            .into_iter()
            .take(limit as usize)
            .map(|r| RunSample {
                service: r.service.clone(),
                user: r.user,
                status: r.status,
                cost: r.cost,
                duration_ms: r.duration_ms,
                started_at: r.started_at,
            })
            .collect())
    }

    async fn unfinished(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ServiceRun>, StorageError> {
        let mut runs: Vec<ServiceRun> = lock(&self.runs)
            .iter()
            .filter(|r| {
                matches!(r.status, RunStatus::Running | RunStatus::Queued) && r.started_at < before
            })
            .cloned()
            .collect();
        runs.sort_by_key(|r| r.started_at);
        runs.truncate(limit as usize);
        Ok(runs)
    }

    async fn charges(
        &self,
        user: UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<RunCharge>, StorageError> {
        let mut runs: Vec<RunCharge> = lock(&self.runs)
            .iter()
            .filter(|r| r.user == user && after.is_none_or(|after| r.id > after))
            .map(|r| RunCharge {
                id: r.id,
                status: r.status,
                cost: r.cost,
                charge: r.charge,
                refunded: r.refunded,
            })
            .collect();
        runs.sort_by_key(|r| r.id);
        runs.truncate(limit.clamp(1, 10_000) as usize);
        Ok(runs)
    }

    async fn month_spend(
        &self,
        user: UserId,
        key: ApiKeyId,
        since: OffsetDateTime,
    ) -> Result<MonthSpend, StorageError> {
        let mut spend = MonthSpend::default();
        for run in lock(&self.runs)
            .iter()
            .filter(|r| r.user == user && r.api_key.is_some() && r.started_at >= since)
        {
            spend.api_credits = spend.api_credits.saturating_add(run.cost);
            if run.api_key == Some(key) {
                spend.key_credits = spend.key_credits.saturating_add(run.cost);
                spend.key_runs += 1;
            }
        }
        Ok(spend)
    }
}
