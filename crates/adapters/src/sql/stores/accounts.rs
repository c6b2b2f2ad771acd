//! One store for tokens, the audit log, the email outbox and API keys (each port's
//! implementation is in its own file).

use super::Database;

/// Tokens, the audit log, the email outbox and API keys.
#[derive(Clone, Debug)]
pub struct SqlAccountStores {
    pub(super) db: Database,
}

impl SqlAccountStores {
    pub fn new(db: Database) -> Self {
        SqlAccountStores { db }
    }
}
