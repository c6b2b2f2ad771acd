//! The email outbox: every message is stored first, then delivered by the transport (SMTP, or
//! the development transport that only logs), with retries and backoff. A message is never lost
//! because the mail server is down, and failures are visible to admins.

use std::sync::Arc;

use async_trait::async_trait;
use quickscale_adapters::jobs::Enqueue;
use quickscale_domain_kernel::outbox::{MAX_ATTEMPTS, retry_delay};
use quickscale_domain_kernel::{Clock, EmailMessage, MailError, Mailer, OutboxStore};
use uuid::Uuid;

/// The app's mailer: store the message, then queue its delivery (a job on the app's queue;
/// without a queue, a task of this process).
pub struct OutboxMailer {
    outbox: Arc<dyn OutboxStore>,
    transport: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    jobs: Option<crate::queue::Jobs>,
}

impl std::fmt::Debug for OutboxMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboxMailer")
    }
}

impl OutboxMailer {
    pub fn new(
        outbox: Arc<dyn OutboxStore>,
        transport: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        OutboxMailer {
            outbox,
            transport,
            clock,
            jobs: None,
        }
    }

    /// Queues deliveries on `jobs`, so that whichever worker claims one delivers it, once.
    #[must_use]
    pub fn with_jobs(mut self, jobs: crate::queue::Jobs) -> Self {
        self.jobs = Some(jobs);
        self
    }

    /// Delivers one stored message now (unless it was sent already), and records the outcome:
    /// sent, or failed with the time of its next attempt. What a delivery job does.
    pub async fn deliver(&self, id: Uuid) {
        Self::deliver_stored(&*self.outbox, &*self.transport, &*self.clock, id).await;
    }

    /// Tries to deliver one stored message; records the outcome.
    async fn deliver_stored(
        outbox: &dyn OutboxStore,
        transport: &dyn Mailer,
        clock: &dyn Clock,
        id: Uuid,
    ) {
        let Ok(Some(stored)) = outbox.get(id).await else {
            return;
        };
        if stored.status == quickscale_domain_kernel::OutboxStatus::Sent {
            return;
        }
        let recorded = match transport.send(&stored.message).await {
            Ok(()) => outbox.mark_sent(id, clock.now()).await,
            Err(error) => {
                let attempts = stored.attempts + 1;
                let next = (error.retryable && attempts < MAX_ATTEMPTS)
                    .then(|| clock.now() + retry_delay(attempts));
                tracing::warn!(%id, to = %stored.message.to, attempts, retry = next.is_some(), error = %error.message, "email delivery failed");
                outbox.mark_failed(id, &error.message, next).await
            }
        };
        if let Err(error) = recorded {
            tracing::error!(%id, %error, "could not record an email delivery");
        }
    }

    /// Delivers every due message in this process now (new ones whose first attempt did not
    /// happen, retries): for an app without workers (tests, an embedding app's own loop). With
    /// workers, the outbox sweep queues these as jobs instead.
    pub async fn deliver_due(&self) {
        match self.outbox.due(self.clock.now(), 50).await {
            Ok(due) => {
                for message in due {
                    self.deliver(message.id).await;
                }
            }
            Err(error) => tracing::warn!(%error, "reading the email outbox failed"),
        }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    /// Succeeds once the message is stored; delivery happens right after, in the background.
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        let id = self
            .outbox
            .enqueue(message, self.clock.now())
            .await
            .map_err(|e| MailError {
                message: e.to_string(),
                retryable: true,
            })?;
        if let Some(jobs) = &self.jobs {
            let job = crate::queue::Job::DeliverEmail { id };
            let key = crate::queue::email_key(id, 0);
            if let Err(error) = jobs.push(job, Enqueue::now().key(key)).await {
                // Stored all the same: the outbox sweep queues it.
                tracing::warn!(%id, %error, "queueing an email delivery failed");
            }
            return Ok(());
        }
        let (outbox, transport, clock) = (
            Arc::clone(&self.outbox),
            Arc::clone(&self.transport),
            Arc::clone(&self.clock),
        );
        tokio::spawn(async move { Self::deliver_stored(&*outbox, &*transport, &*clock, id).await });
        Ok(())
    }
}
