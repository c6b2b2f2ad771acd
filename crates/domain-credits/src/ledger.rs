//! Ledger entries: the immutable record of every change to an account.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{AccountId, Actor, Credits, EntryId, GrantId, IdempotencyKey};

/// What an entry records. Its sign says whether it adds to or takes from the balance.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryKind {
    /// Credits granted (welcome, purchase, subscription).
    Grant,
    /// Credits spent on a service run.
    Consume,
    /// Credits that reached their expiry unspent.
    Expire,
    /// Credits an admin added.
    AdminAdd,
    /// Credits an admin removed.
    AdminRemove,
    /// A consumption given back (a service run that failed).
    Reversal,
    /// Credits taken back because their payment was refunded.
    Clawback,
    /// Credits reserved for a run that takes a while: not spendable until the hold is settled
    /// or released.
    Hold,
    /// A hold ended with a charge: the part of the hold not charged comes back (the entry's
    /// amount); the charge is the hold's amount less what came back and what expired meanwhile.
    Settle,
    /// A hold ended without a charge: all of it comes back.
    Release,
}

/// Whether an entry adds to or takes from the balance.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// Adds to the balance.
    Credit,
    /// Takes from the balance.
    Debit,
}

impl EntryKind {
    /// Every kind, for parsing and for filters that list them.
    pub const ALL: [EntryKind; 10] = [
        EntryKind::Grant,
        EntryKind::Consume,
        EntryKind::Expire,
        EntryKind::AdminAdd,
        EntryKind::AdminRemove,
        EntryKind::Reversal,
        EntryKind::Clawback,
        EntryKind::Hold,
        EntryKind::Settle,
        EntryKind::Release,
    ];

    /// Whether entries of this kind add to or take from the balance (their amount is never
    /// negative).
    pub fn direction(self) -> Direction {
        match self {
            EntryKind::Grant
            | EntryKind::AdminAdd
            | EntryKind::Reversal
            | EntryKind::Settle
            | EntryKind::Release => Direction::Credit,
            EntryKind::Consume
            | EntryKind::Expire
            | EntryKind::AdminRemove
            | EntryKind::Clawback
            | EntryKind::Hold => Direction::Debit,
        }
    }

    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Grant => "grant",
            EntryKind::Consume => "consume",
            EntryKind::Expire => "expire",
            EntryKind::AdminAdd => "admin_add",
            EntryKind::AdminRemove => "admin_remove",
            EntryKind::Reversal => "reversal",
            EntryKind::Clawback => "clawback",
            EntryKind::Hold => "hold",
            EntryKind::Settle => "settle",
            EntryKind::Release => "release",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Grant => "Granted",
            EntryKind::Consume => "Spent",
            EntryKind::Expire => "Expired",
            EntryKind::AdminAdd => "Added by admin",
            EntryKind::AdminRemove => "Removed by admin",
            EntryKind::Reversal => "Refunded",
            EntryKind::Clawback => "Clawed back",
            EntryKind::Hold => "Held for a run",
            EntryKind::Settle => "Hold settled, rest returned",
            EntryKind::Release => "Hold released",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntryKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntryKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown entry kind {s:?}"))
    }
}

/// One line of an account's ledger. Never edited: corrections are new entries.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Numbered by the store in writing order, so the history pages by it.
    pub id: EntryId,
    /// Whose ledger it is in.
    pub account: AccountId,
    /// What it records, and so its direction.
    pub kind: EntryKind,
    /// Always non-negative; `kind` gives the direction.
    pub amount: Credits,
    /// The account's balance once this entry applied.
    pub balance_after: Credits,
    /// Who made the change.
    pub actor: Actor,
    /// Why, in the words of the operation (or "Expired unused" for expiries).
    pub reason: String,
    /// The grant this entry created, expired or clawed back from.
    pub grant: Option<GrantId>,
    /// The consumption this entry reverses, or the hold this entry settles or releases.
    pub reverses: Option<EntryId>,
    /// The key of the operation this entry records; `None` on the expiries swept before it.
    pub idempotency_key: Option<IdempotencyKey>,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl LedgerEntry {
    /// The change to the balance in hundredths, signed.
    pub fn signed_cents(&self) -> i64 {
        match self.kind.direction() {
            Direction::Credit => self.amount.cents(),
            Direction::Debit => -self.amount.cents(),
        }
    }
}

/// How much of one grant a consumption took.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Allocation {
    /// The grant.
    pub grant: GrantId,
    /// How much of it, more than zero.
    pub amount: Credits,
}
