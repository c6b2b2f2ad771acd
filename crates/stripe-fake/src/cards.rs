//! Stripe's test cards: which numbers the fake knows and what each does when charged, and the
//! card a payer entered.

use serde::{Deserialize, Serialize};

/// A card's behaviour, from Stripe's list of test cards.
pub(crate) enum CardBehaviour {
    Succeeds {
        brand: &'static str,
        funding: &'static str,
    },
    Declined {
        code: &'static str,
        decline_code: Option<&'static str>,
        message: &'static str,
    },
}

impl CardBehaviour {
    pub fn succeeds(&self) -> bool {
        matches!(self, Self::Succeeds { .. })
    }
}

/// Stripe's test card that can be saved to a customer but declines every charge.
pub(crate) const CARD_ATTACHES_THEN_DECLINES: &str = "4000000000000341";

/// The test card the controls pay with when none is given.
pub(crate) const CARD_SUCCEEDS: &str = "4242424242424242";

/// The test card the controls decline with when none is given.
pub(crate) const CARD_DECLINED: &str = "4000000000000002";

/// Whether a card can be saved as a customer's payment method: one that pays, or the one that
/// attaches and then declines.
pub(crate) fn card_attaches(number: &str) -> bool {
    number == CARD_ATTACHES_THEN_DECLINES || card_behaviour(number).is_some_and(|b| b.succeeds())
}

/// Stripe's test cards that the fake knows.
pub(crate) fn card_behaviour(number: &str) -> Option<CardBehaviour> {
    use CardBehaviour::{Declined, Succeeds};
    let declined = |decline_code, message| Declined {
        code: "card_declined",
        decline_code: Some(decline_code),
        message,
    };
    Some(match number {
        CARD_SUCCEEDS => Succeeds {
            brand: "visa",
            funding: "credit",
        },
        "4000056655665556" => Succeeds {
            brand: "visa",
            funding: "debit",
        },
        "5555555555554444" => Succeeds {
            brand: "mastercard",
            funding: "credit",
        },
        "378282246310005" => Succeeds {
            brand: "amex",
            funding: "credit",
        },
        CARD_DECLINED => declined("generic_decline", "Your card was declined."),
        // Saved to a customer fine (the billing portal), declined whenever it is charged.
        CARD_ATTACHES_THEN_DECLINES => declined("generic_decline", "Your card was declined."),
        "4000000000009995" => declined("insufficient_funds", "Your card has insufficient funds."),
        "4000000000009987" => declined("lost_card", "Your card was declined."),
        "4000000000009979" => declined("stolen_card", "Your card was declined."),
        "4000000000000069" => Declined {
            code: "expired_card",
            decline_code: None,
            message: "Your card has expired.",
        },
        "4000000000000127" => Declined {
            code: "incorrect_cvc",
            decline_code: None,
            message: "Your card's security code is incorrect.",
        },
        "4000000000000119" => Declined {
            code: "processing_error",
            decline_code: None,
            message: "An error occurred while processing your card. Try again in a little bit.",
        },
        _ => return None,
    })
}

/// What the payer typed on the checkout page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CardInput {
    pub number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl CardInput {
    /// A test card number with the expiry the controls use (12 / 34).
    pub fn test(number: &str) -> Self {
        Self {
            number: number.to_string(),
            exp_month: 12,
            exp_year: 2034,
            email: None,
            name: None,
        }
    }

    pub fn last4(&self) -> &str {
        &self.number[self.number.len().saturating_sub(4)..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_that_declines_later_can_be_saved_but_not_charged() {
        assert!(card_attaches(CARD_ATTACHES_THEN_DECLINES));
        assert!(
            !card_behaviour(CARD_ATTACHES_THEN_DECLINES)
                .unwrap()
                .succeeds()
        );
        assert!(card_attaches(CARD_SUCCEEDS));
        assert!(!card_attaches(CARD_DECLINED));
        assert!(!card_attaches("1234567812345678"));
    }
}
