//! The consumption order: which grants pay for a debit.

use time::OffsetDateTime;

use crate::{Allocation, Credits, Grant};

/// Not enough usable credits; nothing was debited.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{} are required but only {} can be used", .required.with_unit(), .available.with_unit())]
pub struct InsufficientCredits {
    /// What the debit asked for.
    pub required: Credits,
    /// What the usable grants hold at the operation's time (expired credits do not count).
    pub available: Credits,
}

/// The usable grants in the order they are spent.
///
/// 1. Grants that expire are spent before those that do not, soonest expiry first
///    (so subscription credits go before pay-as-you-go ones).
/// 2. Then the rest, oldest first.
///
/// Ties fall back to the grant time, then the grant id, so the order is total and stable.
/// Expired or empty grants are never part of it.
pub fn consumption_order(grants: &[Grant], now: OffsetDateTime) -> Vec<&Grant> {
    let mut usable: Vec<&Grant> = grants.iter().filter(|g| g.is_usable_at(now)).collect();
    usable.sort_by(|a, b| {
        // `None` (never expires) sorts after every date.
        let expiry_rank = |g: &Grant| (g.expires_at.is_none(), g.expires_at);
        expiry_rank(a)
            .cmp(&expiry_rank(b))
            .then(a.granted_at.cmp(&b.granted_at))
            .then(a.id.cmp(&b.id))
    });
    usable
}

/// The sum of what is usable at `now`.
pub fn usable_balance(grants: &[Grant], now: OffsetDateTime) -> Credits {
    grants
        .iter()
        .filter(|g| g.is_usable_at(now))
        .map(|g| g.remaining)
        .sum()
}

/// Plans a debit of `amount` across the grants, all or nothing.
///
/// Returns which grants pay how much, in consumption order; the allocations always sum to
/// `amount` exactly. When the usable balance is short, returns how much was required and how
/// much was available, and nothing is to be debited.
pub fn plan_consumption(
    grants: &[Grant],
    amount: Credits,
    now: OffsetDateTime,
) -> Result<Vec<Allocation>, InsufficientCredits> {
    let available = usable_balance(grants, now);
    if available < amount {
        return Err(InsufficientCredits {
            required: amount,
            available,
        });
    }
    let mut left = amount;
    let mut plan = Vec::new();
    for grant in consumption_order(grants, now) {
        if left.is_zero() {
            break;
        }
        let take = left.min(grant.remaining);
        plan.push(Allocation {
            grant: grant.id,
            amount: take,
        });
        left = left.saturating_sub(take);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::{GrantId, GrantKind, SourceRef};

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn grant(
        id: i64,
        kind: GrantKind,
        remaining: u32,
        age_days: i64,
        expires_in_days: Option<i64>,
    ) -> Grant {
        Grant {
            id: GrantId(id),
            kind,
            amount: Credits::whole(remaining.max(1) * 2),
            remaining: Credits::whole(remaining),
            granted_at: NOW - Duration::days(age_days),
            expires_at: expires_in_days.map(|d| NOW + Duration::days(d)),
            source: SourceRef::parse(format!("test:{id}")).unwrap(),
        }
    }

    #[test]
    fn subscription_credits_go_before_pay_as_you_go() {
        let grants = [
            grant(1, GrantKind::Purchase, 10, 30, None),
            grant(2, GrantKind::Subscription, 10, 1, Some(20)),
        ];
        let plan = plan_consumption(&grants, Credits::whole(12), NOW).unwrap();
        assert_eq!(
            plan,
            vec![
                Allocation {
                    grant: GrantId(2),
                    amount: Credits::whole(10)
                },
                Allocation {
                    grant: GrantId(1),
                    amount: Credits::whole(2)
                },
            ]
        );
    }

    #[test]
    fn soonest_expiry_first_then_oldest_first() {
        let grants = [
            grant(1, GrantKind::Admin, 1, 1, None),
            grant(2, GrantKind::Welcome, 1, 9, None),
            grant(3, GrantKind::Subscription, 1, 2, Some(30)),
            grant(4, GrantKind::Subscription, 1, 3, Some(5)),
        ];
        let order: Vec<i64> = consumption_order(&grants, NOW)
            .iter()
            .map(|g| g.id.0)
            .collect();
        assert_eq!(order, vec![4, 3, 2, 1]);
    }

    #[test]
    fn expired_and_empty_grants_are_never_spent() {
        let grants = [
            grant(1, GrantKind::Subscription, 50, 40, Some(-1)),
            grant(2, GrantKind::Purchase, 0, 10, None),
            grant(3, GrantKind::Purchase, 5, 10, None),
        ];
        assert_eq!(usable_balance(&grants, NOW), Credits::whole(5));
        let err = plan_consumption(&grants, Credits::whole(6), NOW).unwrap_err();
        assert_eq!(
            err,
            InsufficientCredits {
                required: Credits::whole(6),
                available: Credits::whole(5)
            }
        );
    }

    #[test]
    fn a_grant_is_expired_at_its_expiry_instant() {
        let mut g = grant(1, GrantKind::Subscription, 5, 1, None);
        g.expires_at = Some(NOW);
        assert!(!g.is_usable_at(NOW));
        assert!(g.is_usable_at(NOW - Duration::seconds(1)));
    }
}
