//! The ledger invariants, checked over everything stored for an account.

use std::collections::HashMap;

use crate::store::AccountSnapshot;
use crate::{EntryId, EntryKind, GrantId};

/// One broken invariant, described for a person.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{0}")]
pub struct Violation(pub String);

/// Checks every invariant of the credit rules (docs/architecture.md, "The credit rules") on one
/// account and lists what is broken:
///
/// - no grant's remaining is negative or above its amount;
/// - each entry's balance-after is the running sum of the ledger, and never negative;
/// - the ledger sums to the sum of the grants' remainders;
/// - each grant's remainder is its amount less what was spent, expired or clawed back from it,
///   plus what was reversed into it;
/// - debits' allocations sum to the entry's amount, and no debit spent a grant that had
///   expired at the time;
/// - only consumptions are reversed, each at most once;
/// - only holds are settled or released, each at most once, never giving back more than held.
pub fn verify(snapshot: &AccountSnapshot) -> Vec<Violation> {
    let mut problems = Vec::new();
    let mut bad = |message: String| problems.push(Violation(message));
    let grants: HashMap<GrantId, _> = snapshot.grants.iter().map(|g| (g.id, g)).collect();

    for grant in &snapshot.grants {
        if grant.remaining > grant.amount {
            bad(format!(
                "grant {} has {} left of {}",
                grant.id, grant.remaining, grant.amount
            ));
        }
    }

    let mut running: i64 = 0;
    for entry in &snapshot.entries {
        running += entry.signed_cents();
        if running < 0 {
            bad(format!("the ledger goes negative at entry {}", entry.id));
        }
        if entry.balance_after.cents() != running {
            bad(format!(
                "entry {} says the balance after is {} but the ledger sums to {:.2}",
                entry.id,
                entry.balance_after,
                running as f64 / 100.0
            ));
        }
    }
    let remaining: i64 = snapshot.grants.iter().map(|g| g.remaining.cents()).sum();
    if running != remaining {
        bad(format!(
            "the ledger sums to {running} hundredths but the grants hold {remaining}"
        ));
    }

    // Per grant: amount - debits - expiries + reversals = remaining.
    let mut movement: HashMap<GrantId, i64> = HashMap::new();
    let mut allocated: HashMap<EntryId, i64> = HashMap::new();
    let entries: HashMap<EntryId, _> = snapshot.entries.iter().map(|e| (e.id, e)).collect();
    for (entry_id, allocation) in &snapshot.allocations {
        let Some(entry) = entries.get(entry_id) else {
            bad(format!("allocation points at missing entry {entry_id}"));
            continue;
        };
        *allocated.entry(*entry_id).or_default() += allocation.amount.cents();
        let signed = match entry.kind {
            EntryKind::Reversal | EntryKind::Settle | EntryKind::Release => {
                allocation.amount.cents()
            }
            _ => -allocation.amount.cents(),
        };
        *movement.entry(allocation.grant).or_default() += signed;
        match grants.get(&allocation.grant) {
            None => bad(format!(
                "entry {entry_id} spent missing grant {}",
                allocation.grant
            )),
            Some(grant)
                if matches!(
                    entry.kind,
                    EntryKind::Consume | EntryKind::AdminRemove | EntryKind::Hold
                ) && grant.is_expired_at(entry.at) =>
            {
                bad(format!(
                    "entry {entry_id} spent grant {} after it expired",
                    grant.id
                ))
            }
            Some(_) => {}
        }
    }
    for entry in &snapshot.entries {
        let needs_allocations = matches!(
            entry.kind,
            EntryKind::Consume
                | EntryKind::AdminRemove
                | EntryKind::Clawback
                | EntryKind::Reversal
                | EntryKind::Hold
                | EntryKind::Settle
                | EntryKind::Release
        );
        if needs_allocations
            && allocated.get(&entry.id).copied().unwrap_or(0) != entry.amount.cents()
        {
            bad(format!(
                "entry {}'s allocations do not add up to {}",
                entry.id, entry.amount
            ));
        }
        if entry.kind == EntryKind::Expire {
            match entry.grant {
                Some(grant) => *movement.entry(grant).or_default() -= entry.amount.cents(),
                None => bad(format!("expiry entry {} names no grant", entry.id)),
            }
        }
    }
    for grant in &snapshot.grants {
        let expected = grant.amount.cents() + movement.get(&grant.id).copied().unwrap_or(0);
        if expected != grant.remaining.cents() {
            bad(format!(
                "grant {} should have {:.2} left but has {}",
                grant.id,
                expected as f64 / 100.0,
                grant.remaining
            ));
        }
    }

    let mut reversed: HashMap<EntryId, EntryId> = HashMap::new();
    for entry in snapshot.entries.iter().filter(|e| {
        matches!(
            e.kind,
            EntryKind::Reversal | EntryKind::Settle | EntryKind::Release
        )
    }) {
        let (what, target_kind, described) = match entry.kind {
            EntryKind::Reversal => (
                "reversal",
                EntryKind::Consume,
                "reverses {target}, which is not a consumption",
            ),
            _ => (
                "hold ending",
                EntryKind::Hold,
                "ends {target}, which is not a hold",
            ),
        };
        let Some(target) = entry.reverses else {
            bad(format!("{what} {} names no entry", entry.id));
            continue;
        };
        match entries.get(&target) {
            Some(t) if t.kind == target_kind => {
                if t.kind == EntryKind::Hold && entry.amount > t.amount {
                    bad(format!(
                        "hold ending {} gives back {} of a hold of {}",
                        entry.id, entry.amount, t.amount
                    ));
                }
            }
            _ => bad(format!(
                "{what} {} {}",
                entry.id,
                described.replace("{target}", &target.to_string())
            )),
        }
        if let Some(first) = reversed.insert(target, entry.id) {
            bad(format!(
                "entry {target} was reversed twice ({first} and {})",
                entry.id
            ));
        }
    }
    problems
}
