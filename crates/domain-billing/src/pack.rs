//! Credit packs: what a user can buy.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use quickscale_domain_credits::Credits;

use crate::{Currency, Money};

/// A pack's id, sent to the processor as `metadata[pack_id]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct PackId(pub Uuid);

/// Why a pack cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// The name is empty or longer than 80 characters.
    #[error("a pack needs a name of 1 to 80 characters")]
    Name,
    /// A pack of zero credits would sell nothing.
    #[error("a pack must contain some credits")]
    NoCredits,
    /// Free credits are an admin grant, not a purchase: the processor takes no zero payment.
    #[error("a pack must cost something")]
    Free,
}

/// A bundle of credits sold for a price, e.g. 100 credits for $10.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CreditPack {
    /// Its id.
    pub id: PackId,
    /// What buyers see on the pricing page and the processor's checkout.
    pub name: String,
    /// What a payment for it grants.
    pub credits: Credits,
    /// What it costs.
    pub price: Money,
    /// Whether it is for sale; inactive packs stay for the payments that name them.
    pub active: bool,
    /// Where it appears on the pricing page, lowest first.
    pub display_order: i32,
    /// The Stripe price this pack is sold with, once synced.
    pub stripe_price_id: Option<String>,
}

impl CreditPack {
    /// A new, active pack: a name of 1 to 80 characters, some credits, a price above zero.
    pub fn new(
        name: &str,
        credits: Credits,
        price: Money,
        display_order: i32,
    ) -> Result<Self, PackError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(PackError::Name);
        }
        if credits.is_zero() {
            return Err(PackError::NoCredits);
        }
        if price.minor() == 0 {
            return Err(PackError::Free);
        }
        Ok(CreditPack {
            id: PackId(Uuid::now_v7()),
            name: name.to_owned(),
            credits,
            price,
            active: true,
            display_order,
            stripe_price_id: None,
        })
    }

    /// The pack every new project starts with: 100 credits for $10.
    pub fn starter() -> Self {
        let price = Money::new(1000, Currency::USD).expect("positive");
        CreditPack::new("Starter pack", Credits::whole(100), price, 0).expect("valid")
    }
}
