//! Writing admin actions to the audit log.

use std::fmt;

use quickscale_domain_identity::User;
use quickscale_domain_kernel::AuditEntry;
use serde_json::Value;
use uuid::Uuid;

use crate::state::AppState;

/// What an entry of the audit log records. The log stores (and its pages show and filter by)
/// the audit name, `area.what`; this is the one place that maps an action to its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// An admin granted credits.
    CreditsAdded,
    /// An admin removed credits.
    CreditsRemoved,
    /// An admin made a user an admin or a user.
    UserRoleChanged,
    /// An admin deactivated or reactivated a user.
    UserActivityChanged,
    /// An admin cleared a user's sign-in failures.
    UserUnlocked,
    /// An admin revoked every API key of a user.
    UserApiKeysRevoked,
    /// An admin sent a user a new confirmation link.
    UserVerificationSent,
    /// An admin created a credit pack.
    PackCreated,
    /// An admin changed a credit pack.
    PackChanged,
    /// An admin refunded a payment.
    PaymentRefunded,
    /// An admin marked a billing review as resolved.
    BillingReviewResolved,
    /// An admin changed a service's settings.
    ServiceSettingsChanged,
    /// An admin turned a plan on or off.
    PlanUpdated,
    /// A user made an API key.
    ApiKeyCreated,
    /// A user revoked an API key.
    ApiKeyRevoked,
    /// Billing refunded a second subscription on its own.
    SubscriptionSecondRefunded,
    /// A user changed an API key's limits.
    ApiKeyLimitsChanged,
    /// An admin made a failed or dead job due again.
    JobRetried,
    /// An admin discarded a job.
    JobDiscarded,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 19] = [
        AuditAction::CreditsAdded,
        AuditAction::CreditsRemoved,
        AuditAction::UserRoleChanged,
        AuditAction::UserActivityChanged,
        AuditAction::UserUnlocked,
        AuditAction::UserApiKeysRevoked,
        AuditAction::UserVerificationSent,
        AuditAction::PackCreated,
        AuditAction::PackChanged,
        AuditAction::PaymentRefunded,
        AuditAction::BillingReviewResolved,
        AuditAction::ServiceSettingsChanged,
        AuditAction::PlanUpdated,
        AuditAction::ApiKeyCreated,
        AuditAction::ApiKeyRevoked,
        AuditAction::SubscriptionSecondRefunded,
        AuditAction::ApiKeyLimitsChanged,
        AuditAction::JobRetried,
        AuditAction::JobDiscarded,
    ];

    /// The name the log stores. Stored entries keep their names: never change one.
    pub fn audit_name(self) -> &'static str {
        match self {
            AuditAction::CreditsAdded => "credits.added",
            AuditAction::CreditsRemoved => "credits.removed",
            AuditAction::UserRoleChanged => "user.role_changed",
            AuditAction::UserActivityChanged => "user.activity_changed",
            AuditAction::UserUnlocked => "user.unlocked",
            AuditAction::UserApiKeysRevoked => "user.api_keys_revoked",
            AuditAction::UserVerificationSent => "user.verification_sent",
            AuditAction::PackCreated => "pack.created",
            AuditAction::PackChanged => "pack.changed",
            AuditAction::PaymentRefunded => "payment.refunded",
            AuditAction::BillingReviewResolved => "billing.review_resolved",
            AuditAction::ServiceSettingsChanged => "service.settings_changed",
            AuditAction::PlanUpdated => "plan.updated",
            AuditAction::ApiKeyCreated => "api_key.create",
            AuditAction::ApiKeyRevoked => "api_key.revoke",
            AuditAction::SubscriptionSecondRefunded => "subscription.second_refunded",
            AuditAction::ApiKeyLimitsChanged => "api_key.limits",
            AuditAction::JobRetried => "job.retried",
            AuditAction::JobDiscarded => "job.discarded",
        }
    }

    /// The action a stored name records, if it is one of ours.
    pub fn from_audit_name(name: &str) -> Option<Self> {
        AuditAction::ALL
            .into_iter()
            .find(|action| action.audit_name() == name)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.audit_name())
    }
}

/// Records what an admin did to whom, with the state before and after. A failure to record is
/// logged loudly but does not undo the action (it already happened).
pub async fn record(
    state: &AppState,
    admin: &User,
    action: AuditAction,
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
        action: action.audit_name().to_owned(),
        subject,
        subject_label,
        before,
        after,
    };
    if let Err(error) = state.stores().audit.record(&entry).await {
        tracing::error!(%error, %action, admin = %admin.id, "could not write the audit log");
    }
}

/// The subject of an entry about a user.
pub fn user_subject(user: &User) -> Option<(Uuid, String)> {
    Some((user.id.as_uuid(), user.email.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_its_own_name_that_reads_back() {
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.audit_name()).collect();
        for action in AuditAction::ALL {
            assert_eq!(
                AuditAction::from_audit_name(action.audit_name()),
                Some(action)
            );
            assert_eq!(action.to_string(), action.audit_name());
            let (area, what) = action.audit_name().split_once('.').unwrap();
            assert!(!area.is_empty() && !what.is_empty(), "{action}");
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            AuditAction::ALL.len(),
            "two actions share a name"
        );
        assert_eq!(AuditAction::from_audit_name("user.deleted"), None);
    }
}
