//! Mailers for development and tests. (SMTP arrives with the accounts work.)

use std::sync::Mutex;

use async_trait::async_trait;
use quickscale_domain_kernel::{EmailMessage, MailError, Mailer};

/// Writes each message to the log instead of sending it: the development default.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        tracing::info!(
            to = %message.to,
            subject = %message.subject,
            "email (not sent: development mailer)\n{}",
            message.text
        );
        Ok(())
    }
}

/// Keeps every message, for tests to inspect.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<EmailMessage>>,
}

impl MemoryMailer {
    pub fn sent(&self) -> Vec<EmailMessage> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message.clone());
        Ok(())
    }
}
