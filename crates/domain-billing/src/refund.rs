//! The refund rules: never more than was paid, counted cumulatively; credits taken back in
//! proportion to the money returned.

use quickscale_domain_credits::Credits;

use crate::{Money, MoneyError};

/// Why a refund is refused before anything is asked of the processor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefundError {
    /// A refund of nothing.
    #[error("the refund must be more than zero")]
    Zero,
    /// More than what is left of the payment after earlier refunds.
    #[error("only {refundable} can still be refunded")]
    TooMuch {
        /// What is left to refund.
        refundable: Money,
    },
    /// The amount's currency is not the payment's.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Checks that `requested` fits in what is left of `paid` after `already` (refunded or being
/// refunded). Returns what will be left after it.
pub fn check_refund(paid: Money, already: Money, requested: Money) -> Result<Money, RefundError> {
    if requested.minor() == 0 {
        return Err(RefundError::Zero);
    }
    let refundable = paid.checked_sub(already)?;
    if requested.currency() != paid.currency() {
        return Err(MoneyError::CurrencyMismatch(requested.currency(), paid.currency()).into());
    }
    if requested.minor() > refundable.minor() {
        return Err(RefundError::TooMuch { refundable });
    }
    Ok(refundable.checked_sub(requested)?)
}

/// The credits that correspond to `refunded` out of `paid` for a purchase of `credits`,
/// rounded down to the hundredth (the customer keeps the benefit of rounding).
pub fn credits_for_refund(credits: Credits, paid: Money, refunded: Money) -> Credits {
    if paid.minor() <= 0 {
        return Credits::ZERO;
    }
    let cents = i128::from(credits.cents()) * i128::from(refunded.minor().min(paid.minor()))
        / i128::from(paid.minor());
    Credits::from_cents(i64::try_from(cents).unwrap_or(0)).unwrap_or(Credits::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::USD).unwrap()
    }

    #[test]
    fn refunds_are_checked_cumulatively() {
        assert_eq!(check_refund(usd(1000), usd(0), usd(400)), Ok(usd(600)));
        assert_eq!(check_refund(usd(1000), usd(400), usd(600)), Ok(usd(0)));
        assert_eq!(
            check_refund(usd(1000), usd(400), usd(601)),
            Err(RefundError::TooMuch {
                refundable: usd(600)
            })
        );
        assert_eq!(
            check_refund(usd(1000), usd(0), usd(0)),
            Err(RefundError::Zero)
        );
    }

    #[test]
    fn credits_follow_the_money_rounded_down() {
        assert_eq!(
            credits_for_refund(Credits::whole(100), usd(1000), usd(1000)),
            Credits::whole(100)
        );
        assert_eq!(
            credits_for_refund(Credits::whole(100), usd(1000), usd(250)),
            Credits::whole(25)
        );
        assert_eq!(
            credits_for_refund(Credits::whole(100), usd(999), usd(333)),
            Credits::from_cents(3333).unwrap()
        );
    }
}
