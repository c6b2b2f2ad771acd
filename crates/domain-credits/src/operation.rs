//! Operations on an account and the pure decision of what each one changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::plan::{consumption_order, plan_consumption, usable_balance};
use crate::{
    Actor, Allocation, CreditError, Credits, EntryId, EntryKind, Grant, GrantId, GrantKind,
    IdempotencyKey, LedgerEntry, Reason, SourceRef,
};

/// A change someone wants to make to an account.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum CreditCommand {
    /// Add a lot of credits (welcome, purchase, subscription period, admin).
    Grant {
        /// What the credits are for; an admin grant is recorded as an admin addition.
        kind: GrantKind,
        /// How many, more than zero.
        amount: Credits,
        /// When they stop being spendable (after the operation's time), or never.
        expires_at: Option<OffsetDateTime>,
        /// What they come from; one source grants at most once per account.
        source: SourceRef,
    },
    /// Spend credits on a service run, in consumption order, all or nothing.
    Consume {
        /// How many, more than zero.
        amount: Credits,
    },
    /// An admin removes credits, in consumption order, never overdrawing.
    AdminRemove {
        /// How many, more than zero.
        amount: Credits,
    },
    /// Give a consumption back to the grants it came from (a failed service run).
    /// Credits whose grant has expired in the meantime are not given back.
    Reverse {
        /// The consumption entry to give back.
        entry: EntryId,
    },
    /// Reserve credits for a run that takes a while, from the grants a consumption of the same
    /// amount would take, all or nothing. The held credits are not spendable until the hold is
    /// settled or released (each exactly once).
    Hold {
        /// How many, more than zero.
        amount: Credits,
    },
    /// End a hold with a charge of at most its amount; the rest goes back to the grants it came
    /// from (the charge is taken from the grants the consumption order spends first). Ending a
    /// hold that has already ended changes nothing and returns the first ending's receipt.
    Settle {
        /// The hold entry.
        hold: EntryId,
        /// What the run cost, from zero to the hold's amount.
        charge: Credits,
    },
    /// End a hold with no charge: all of it goes back (credits whose grant has expired
    /// meanwhile are not given back). Ending a hold that has already ended changes nothing and
    /// returns the first ending's receipt.
    Release {
        /// The hold entry.
        hold: EntryId,
    },
    /// Take back up to `amount` from the grants of `source` (a refunded payment); what was
    /// already spent cannot be taken back and is reported as the shortfall.
    ClawBack {
        /// The payment or invoice whose grants give the credits back.
        source: SourceRef,
        /// How many to take back at most.
        amount: Credits,
    },
}

impl CreditCommand {
    /// Identifies the intent, so that reusing a key for a different intent is caught.
    fn fingerprint(&self) -> String {
        match self {
            CreditCommand::Grant {
                kind,
                amount,
                expires_at,
                source,
            } => format!(
                "grant|{kind}|{}|{}|{source}",
                amount.cents(),
                expires_at.map_or(0, |t| t.unix_timestamp())
            ),
            CreditCommand::Consume { amount } => format!("consume|{}", amount.cents()),
            CreditCommand::AdminRemove { amount } => format!("admin_remove|{}", amount.cents()),
            CreditCommand::Reverse { entry } => format!("reverse|{entry}"),
            CreditCommand::ClawBack { source, amount } => {
                format!("clawback|{source}|{}", amount.cents())
            }
            CreditCommand::Hold { amount } => format!("hold|{}", amount.cents()),
            CreditCommand::Settle { hold, charge } => {
                format!("settle|{hold}|{}", charge.cents())
            }
            CreditCommand::Release { hold } => format!("release|{hold}"),
        }
    }
}

/// A command with who asks for it, why, and the key that makes it happen at most once.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Operation {
    /// Makes the operation happen at most once: a second call with the same key returns the
    /// first receipt.
    pub key: IdempotencyKey,
    /// Who asks (a user, an admin, the system), recorded on the entry.
    pub actor: Actor,
    /// Why, recorded on the entry and shown in the history.
    pub reason: Reason,
    /// What changes.
    pub command: CreditCommand,
}

impl Operation {
    /// What the operation asks for (command and amounts, not who or why), stored with its key
    /// so that a key reused for a different request is refused instead of replayed.
    pub fn fingerprint(&self) -> String {
        self.command.fingerprint()
    }
}

/// The outcome of an operation, returned again unchanged when the operation is replayed.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Receipt {
    /// The entry that records the operation.
    pub entry: EntryId,
    /// What the entry records.
    pub kind: EntryKind,
    /// How much moved.
    pub amount: Credits,
    /// What was asked for but could not move (a clawback of spent credits, a reversal into
    /// expired grants). Zero otherwise.
    pub shortfall: Credits,
    /// The balance right after the operation.
    pub balance_after: Credits,
    /// When the operation happened (the first call's time on a replay).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// True when this is the stored result of an earlier call with the same key.
    pub replayed: bool,
}

/// A grant to be created by the store, which numbers it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NewGrant {
    /// See [`Grant::kind`].
    pub kind: GrantKind,
    /// See [`Grant::amount`]; the grant starts with all of it remaining.
    pub amount: Credits,
    /// See [`Grant::granted_at`].
    pub granted_at: OffsetDateTime,
    /// See [`Grant::expires_at`].
    pub expires_at: Option<OffsetDateTime>,
    /// See [`Grant::source`].
    pub source: SourceRef,
}

/// Which grant an entry is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GrantLink {
    /// A grant the account already had.
    Existing(GrantId),
    /// The grant created by the same decision.
    Created,
}

/// An entry to be appended by the store, which numbers it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NewEntry {
    /// See [`LedgerEntry::kind`].
    pub kind: EntryKind,
    /// See [`LedgerEntry::amount`].
    pub amount: Credits,
    /// See [`LedgerEntry::balance_after`].
    pub balance_after: Credits,
    /// See [`LedgerEntry::actor`].
    pub actor: Actor,
    /// See [`LedgerEntry::reason`].
    pub reason: String,
    /// The grant the entry creates, expires or claws back from.
    pub grant: Option<GrantLink>,
    /// See [`LedgerEntry::reverses`].
    pub reverses: Option<EntryId>,
    /// Which grants the amount came from or went back to, for consumptions, reversals and
    /// clawbacks.
    pub allocations: Vec<Allocation>,
    /// See [`Receipt::shortfall`].
    pub shortfall: Credits,
    /// Set on the one entry that records the operation itself (not on expiry sweeps).
    pub idempotency: Option<(IdempotencyKey, String)>,
    /// See [`LedgerEntry::at`].
    pub at: OffsetDateTime,
}

/// One change the store must write, in order, inside the transaction.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Effect {
    /// Insert a grant; at most one per decision, which [`GrantLink::Created`] refers to.
    CreateGrant(NewGrant),
    /// Overwrite what is left of a grant.
    SetRemaining {
        /// The grant to change.
        grant: GrantId,
        /// Its new remaining amount, from zero to its amount.
        remaining: Credits,
    },
    /// Append a ledger entry.
    Append(NewEntry),
}

/// A consumption entry with what is needed to reverse it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Consumption {
    /// The entry named by the reversal.
    pub entry: LedgerEntry,
    /// The grants it took from, and how much from each: a reversal gives back to these.
    pub allocations: Vec<Allocation>,
    /// The grants the allocations point at, as they are now.
    pub grants: Vec<Grant>,
    /// The entry that already reversed it (or, for a hold, settled or released it), if any.
    pub reversed_by: Option<EntryId>,
}

/// What the decision needs besides the account's open grants.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Context {
    /// For `Grant` and `ClawBack`: every grant (open or not) that has the command's source.
    pub source_grants: Vec<Grant>,
    /// For `Reverse`: the entry to reverse; for `Settle` and `Release`: the hold.
    pub consumption: Option<Consumption>,
}

/// The changes an operation makes, and the receipt it will answer with.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Decision {
    /// The writes, in the order the store must apply them.
    pub effects: Vec<Effect>,
    /// See [`Receipt::kind`].
    pub kind: EntryKind,
    /// See [`Receipt::amount`].
    pub amount: Credits,
    /// See [`Receipt::shortfall`].
    pub shortfall: Credits,
    /// See [`Receipt::balance_after`].
    pub balance_after: Credits,
}

/// Decides what `op` changes, given the account's open grants (those with something left,
/// expired or not) at `now`. Pure: no I/O, no clock, no randomness.
///
/// Every decision starts by expiring what is due (an `Expire` entry per grant), so that after
/// any operation the ledger sums to the usable balance.
pub fn decide(
    open_grants: &[Grant],
    context: &Context,
    op: &Operation,
    now: OffsetDateTime,
) -> Result<Decision, CreditError> {
    let mut grants: BTreeMap<GrantId, Grant> =
        open_grants.iter().map(|g| (g.id, g.clone())).collect();
    let mut running: Credits = grants.values().map(|g| g.remaining).sum();
    let mut effects = Vec::new();

    // 1. Expire what is due, soonest first.
    let mut due: Vec<&Grant> = grants
        .values()
        .filter(|g| g.is_expired_at(now) && !g.remaining.is_zero())
        .collect();
    due.sort_by_key(|g| (g.expires_at, g.id));
    let due: Vec<(GrantId, Credits)> = due.iter().map(|g| (g.id, g.remaining)).collect();
    for (id, remaining) in due {
        running = running.saturating_sub(remaining);
        effects.push(Effect::SetRemaining {
            grant: id,
            remaining: Credits::ZERO,
        });
        effects.push(Effect::Append(NewEntry {
            kind: EntryKind::Expire,
            amount: remaining,
            balance_after: running,
            actor: Actor::System,
            reason: "Expired unused".to_owned(),
            grant: Some(GrantLink::Existing(id)),
            reverses: None,
            allocations: Vec::new(),
            shortfall: Credits::ZERO,
            idempotency: None,
            at: now,
        }));
        if let Some(grant) = grants.get_mut(&id) {
            grant.remaining = Credits::ZERO;
        }
    }

    // 2. The operation itself.
    let mut primary = NewEntry {
        kind: EntryKind::Consume,
        amount: Credits::ZERO,
        balance_after: running,
        actor: op.actor,
        reason: op.reason.as_str().to_owned(),
        grant: None,
        reverses: None,
        allocations: Vec::new(),
        shortfall: Credits::ZERO,
        idempotency: Some((op.key.clone(), op.fingerprint())),
        at: now,
    };
    match &op.command {
        CreditCommand::Grant {
            kind,
            amount,
            expires_at,
            source,
        } => {
            let amount = amount.non_zero()?;
            if expires_at.is_some_and(|expiry| expiry <= now) {
                return Err(CreditError::ExpiryInPast);
            }
            if !context.source_grants.is_empty() {
                return Err(CreditError::DuplicateSource(source.clone()));
            }
            running = running
                .checked_add(amount)
                .ok_or(crate::AmountError::TooLarge {
                    max: Credits::max(),
                })?;
            effects.push(Effect::CreateGrant(NewGrant {
                kind: *kind,
                amount,
                granted_at: now,
                expires_at: *expires_at,
                source: source.clone(),
            }));
            primary.kind = if *kind == GrantKind::Admin {
                EntryKind::AdminAdd
            } else {
                EntryKind::Grant
            };
            primary.amount = amount;
            primary.grant = Some(GrantLink::Created);
        }
        CreditCommand::Consume { amount }
        | CreditCommand::AdminRemove { amount }
        | CreditCommand::Hold { amount } => {
            let amount = amount.non_zero()?;
            let current: Vec<Grant> = grants.values().cloned().collect();
            let plan = plan_consumption(&current, amount, now)?;
            for allocation in &plan {
                let grant = grants
                    .get_mut(&allocation.grant)
                    .expect("planned from these grants");
                grant.remaining = grant.remaining.saturating_sub(allocation.amount);
                effects.push(Effect::SetRemaining {
                    grant: grant.id,
                    remaining: grant.remaining,
                });
            }
            running = running.saturating_sub(amount);
            primary.kind = match op.command {
                CreditCommand::Consume { .. } => EntryKind::Consume,
                CreditCommand::Hold { .. } => EntryKind::Hold,
                _ => EntryKind::AdminRemove,
            };
            primary.amount = amount;
            primary.allocations = plan;
        }
        CreditCommand::Reverse { entry } => {
            let consumption = context
                .consumption
                .as_ref()
                .filter(|c| c.entry.id == *entry)
                .ok_or(CreditError::EntryNotFound(*entry))?;
            if consumption.entry.kind != EntryKind::Consume {
                return Err(CreditError::NotReversible {
                    entry: *entry,
                    kind: consumption.entry.kind,
                });
            }
            if let Some(by) = consumption.reversed_by {
                return Err(CreditError::AlreadyReversed { entry: *entry, by });
            }
            let mut restored = Vec::new();
            let mut lost = Credits::ZERO;
            for allocation in &consumption.allocations {
                let grant = match grants.get(&allocation.grant) {
                    Some(open) => open.clone(),
                    None => consumption
                        .grants
                        .iter()
                        .find(|g| g.id == allocation.grant)
                        .cloned()
                        .ok_or_else(|| {
                            crate::StorageError::corrupt(format!(
                                "allocation of entry {entry} points at missing grant {}",
                                allocation.grant
                            ))
                        })?,
                };
                if grant.is_expired_at(now) {
                    lost = lost.saturating_add(allocation.amount);
                    continue;
                }
                let remaining = grant
                    .remaining
                    .saturating_add(allocation.amount)
                    .min(grant.amount);
                effects.push(Effect::SetRemaining {
                    grant: grant.id,
                    remaining,
                });
                grants.insert(grant.id, Grant { remaining, ..grant });
                restored.push(*allocation);
            }
            let amount: Credits = restored.iter().map(|a| a.amount).sum();
            running = running.saturating_add(amount);
            primary.kind = EntryKind::Reversal;
            primary.amount = amount;
            primary.shortfall = lost;
            primary.reverses = Some(*entry);
            primary.allocations = restored;
        }
        CreditCommand::Settle { hold, .. } | CreditCommand::Release { hold } => {
            let held = context
                .consumption
                .as_ref()
                .filter(|c| c.entry.id == *hold)
                .ok_or(CreditError::EntryNotFound(*hold))?;
            if held.entry.kind != EntryKind::Hold {
                return Err(CreditError::NotAHold {
                    entry: *hold,
                    kind: held.entry.kind,
                });
            }
            let charge = match &op.command {
                CreditCommand::Settle { charge, .. } => *charge,
                _ => Credits::ZERO,
            };
            if charge > held.entry.amount {
                return Err(CreditError::ChargeAboveHold {
                    charge,
                    held: held.entry.amount,
                });
            }
            if let Some(by) = held.reversed_by {
                // run_operation answers with the first ending's receipt before deciding.
                return Err(CreditError::AlreadyReversed { entry: *hold, by });
            }
            let (returned, lost) = return_from_hold(held, &mut grants, charge, now)?;
            let amount: Credits = returned.iter().map(|a| a.amount).sum();
            for allocation in &returned {
                effects.push(Effect::SetRemaining {
                    grant: allocation.grant,
                    remaining: grants[&allocation.grant].remaining,
                });
            }
            running = running.saturating_add(amount);
            primary.kind = if matches!(op.command, CreditCommand::Settle { .. }) {
                EntryKind::Settle
            } else {
                EntryKind::Release
            };
            primary.amount = amount;
            primary.shortfall = lost;
            primary.reverses = Some(*hold);
            primary.allocations = returned;
        }
        CreditCommand::ClawBack { source, amount } => {
            let amount = amount.non_zero()?;
            if context.source_grants.is_empty() {
                return Err(CreditError::UnknownSource(source.clone()));
            }
            // Only what is still usable can be taken back (what expired was swept above).
            let from_source: Vec<Grant> = context
                .source_grants
                .iter()
                .map(|g| grants.get(&g.id).cloned().unwrap_or_else(|| g.clone()))
                .collect();
            let available = usable_balance(&from_source, now);
            let take = amount.min(available);
            let mut left = take;
            let mut allocations = Vec::new();
            for grant in consumption_order(&from_source, now) {
                if left.is_zero() {
                    break;
                }
                let part = left.min(grant.remaining);
                left = left.saturating_sub(part);
                let remaining = grant.remaining.saturating_sub(part);
                effects.push(Effect::SetRemaining {
                    grant: grant.id,
                    remaining,
                });
                allocations.push(Allocation {
                    grant: grant.id,
                    amount: part,
                });
            }
            running = running.saturating_sub(take);
            primary.kind = EntryKind::Clawback;
            primary.amount = take;
            primary.shortfall = amount.saturating_sub(take);
            primary.grant = from_source.first().map(|g| GrantLink::Existing(g.id));
            primary.allocations = allocations;
        }
    }
    primary.balance_after = running;
    let decision = Decision {
        kind: primary.kind,
        amount: primary.amount,
        shortfall: primary.shortfall,
        balance_after: running,
        effects: Vec::new(),
    };
    effects.push(Effect::Append(primary));
    Ok(Decision {
        effects,
        ..decision
    })
}

/// What ending `hold` with `charge` gives back, and how much could not go back because its grant
/// expired meanwhile. The charge keeps the parts taken from the grants the consumption order
/// spends first; the rest returns to its grants (updated in `grants`).
fn return_from_hold(
    hold: &Consumption,
    grants: &mut BTreeMap<GrantId, Grant>,
    charge: Credits,
    now: OffsetDateTime,
) -> Result<(Vec<Allocation>, Credits), CreditError> {
    let grant_of = |id: GrantId, grants: &BTreeMap<GrantId, Grant>| {
        grants
            .get(&id)
            .or_else(|| hold.grants.iter().find(|g| g.id == id))
            .cloned()
            .ok_or_else(|| {
                crate::StorageError::corrupt(format!(
                    "allocation of hold {} points at missing grant {id}",
                    hold.entry.id
                ))
            })
    };
    let mut parts = Vec::with_capacity(hold.allocations.len());
    for allocation in &hold.allocations {
        parts.push((grant_of(allocation.grant, grants)?, allocation.amount));
    }
    // The consumption order's key, whether or not the grant is still usable.
    parts.sort_by(|(a, _), (b, _)| {
        let rank = |g: &Grant| (g.expires_at.is_none(), g.expires_at, g.granted_at, g.id);
        rank(a).cmp(&rank(b))
    });
    let mut keep = charge;
    let mut returned = Vec::new();
    let mut lost = Credits::ZERO;
    for (grant, part) in parts {
        let kept = keep.min(part);
        keep = keep.saturating_sub(kept);
        let back = part.saturating_sub(kept);
        if back.is_zero() {
            continue;
        }
        if grant.is_expired_at(now) {
            lost = lost.saturating_add(back);
            continue;
        }
        let remaining = grant.remaining.saturating_add(back).min(grant.amount);
        grants.insert(grant.id, Grant { remaining, ..grant });
        returned.push(Allocation {
            grant: grant.id,
            amount: back,
        });
    }
    Ok((returned, lost))
}
