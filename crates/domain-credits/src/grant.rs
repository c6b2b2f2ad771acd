//! Grants: the lots a balance is made of.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Credits, GrantId, SourceRef};

/// What a grant was given for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GrantKind {
    /// The sign-up bonus.
    Welcome,
    /// Pay-as-you-go credits bought with a credit pack.
    Purchase,
    /// Credits that come with a subscription period (they expire with it).
    Subscription,
    /// Credits an administrator added by hand.
    Admin,
}

impl GrantKind {
    /// Every kind, for parsing and for filters that list them.
    pub const ALL: [GrantKind; 4] = [
        GrantKind::Welcome,
        GrantKind::Purchase,
        GrantKind::Subscription,
        GrantKind::Admin,
    ];

    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::Welcome => "welcome",
            GrantKind::Purchase => "purchase",
            GrantKind::Subscription => "subscription",
            GrantKind::Admin => "admin",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            GrantKind::Welcome => "Welcome bonus",
            GrantKind::Purchase => "Pay-as-you-go",
            GrantKind::Subscription => "Subscription",
            GrantKind::Admin => "Admin grant",
        }
    }

    /// A label for the ledger entry that created a grant of this kind.
    pub fn entry_label(self) -> &'static str {
        match self {
            GrantKind::Welcome => "Welcome bonus",
            GrantKind::Purchase => "Purchased",
            GrantKind::Subscription => "Subscription credits",
            GrantKind::Admin => "Added by admin",
        }
    }
}

impl fmt::Display for GrantKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GrantKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GrantKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown grant kind {s:?}"))
    }
}

/// A lot of credits: how much was granted, how much is left, and until when it can be used.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Grant {
    /// The grant's id; consumption entries point at it through their allocations.
    pub id: GrantId,
    /// What it was given for; subscription credits expire with their period.
    pub kind: GrantKind,
    /// How much was granted; never changes.
    pub amount: Credits,
    /// How much is left to spend or hold, from zero to `amount`.
    pub remaining: Credits,
    /// When it was granted; among grants that never expire, the oldest is spent first.
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
    /// From this instant on the grant cannot be spent; `None` for credits that never expire.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// What it came from (a payment, an invoice, an admin action), unique per account.
    pub source: SourceRef,
}

impl Grant {
    /// Expired grants can never be spent: a grant is expired from its expiry instant on.
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|expiry| expiry <= now)
    }

    /// Usable grants are not expired and have something left.
    pub fn is_usable_at(&self, now: OffsetDateTime) -> bool {
        !self.remaining.is_zero() && !self.is_expired_at(now)
    }
}
