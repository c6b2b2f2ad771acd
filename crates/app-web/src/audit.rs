//! Writing admin actions to the audit log.

use quickscale_domain_identity::User;
use quickscale_domain_kernel::AuditEntry;
use serde_json::Value;
use uuid::Uuid;

use crate::state::AppState;

/// Records what an admin did to whom, with the state before and after. A failure to record is
/// logged loudly but does not undo the action (it already happened).
pub async fn record(
    state: &AppState,
    admin: &User,
    action: &str,
    subject: Option<(Uuid, String)>,
    before: Value,
    after: Value,
) {
    let (subject, subject_label) = match subject {
        Some((id, label)) => (Some(id), label),
        None => (None, String::new()),
    };
    let entry = AuditEntry {
        id: Uuid::now_v7(),
        at: state.clock().now(),
        actor: admin.id.as_uuid(),
        actor_label: admin.email.to_string(),
        action: action.to_owned(),
        subject,
        subject_label,
        before,
        after,
    };
    if let Err(error) = state.stores().audit.record(&entry).await {
        tracing::error!(%error, action, admin = %admin.id, "could not write the audit log");
    }
}

/// The subject of an entry about a user.
pub fn user_subject(user: &User) -> Option<(Uuid, String)> {
    Some((user.id.as_uuid(), user.email.to_string()))
}
