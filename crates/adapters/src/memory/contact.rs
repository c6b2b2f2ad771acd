use std::sync::Mutex;

use async_trait::async_trait;
use quickscale_domain_kernel::{ContactMessage, ContactRepository, StorageError};

use super::lock;

/// Contact messages in memory.
#[derive(Debug, Default)]
pub struct MemoryContactRepository {
    messages: Mutex<Vec<ContactMessage>>,
}

#[async_trait]
impl ContactRepository for MemoryContactRepository {
    async fn save(&self, message: &ContactMessage) -> Result<(), StorageError> {
        lock(&self.messages).push(message.clone());
        Ok(())
    }

    async fn recent(&self, limit: u32) -> Result<Vec<ContactMessage>, StorageError> {
        let mut messages = lock(&self.messages).clone();
        messages.sort_by_key(|m| std::cmp::Reverse(m.received_at));
        messages.truncate(limit as usize);
        Ok(messages)
    }
}
