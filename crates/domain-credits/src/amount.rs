//! `Credits`: a non-negative amount with exactly two decimal places.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Why a text or number is not a valid credit amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// Nothing was entered.
    #[error("enter an amount")]
    Empty,
    /// Not a decimal number; holds the first 40 characters of the text, to show back.
    #[error("\"{0}\" is not a number")]
    NotANumber(String),
    /// Below zero: credits are taken away by operations, never by negative amounts.
    #[error("the amount cannot be negative")]
    Negative,
    /// More than two decimal places: rounding would create or lose hundredths of a credit.
    #[error("the amount can have at most two decimal places")]
    TooPrecise,
    /// Above [`Credits::max`].
    #[error("the amount is too large (at most {max})")]
    TooLarge {
        /// The largest amount accepted.
        max: Credits,
    },
    /// Zero where an operation must move something.
    #[error("the amount must be greater than zero")]
    Zero,
}

/// A quantity of credits: never negative, always two decimal places, never a float.
///
/// Stored as hundredths (`cents`) by the storage adapters so that every backend is exact.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Credits(Decimal);

impl Credits {
    /// No credits.
    pub const ZERO: Credits = Credits(Decimal::ZERO);
    /// The largest amount any single value may hold: ten billion credits.
    pub const MAX_CENTS: i64 = 1_000_000_000_000;

    /// The amount with its unit, for people: "1 credit", "0 credits", "2.50 credits". Pages,
    /// emails, problem documents and messages all word amounts with this.
    pub fn with_unit(self) -> String {
        if self == Credits::whole(1) {
            "1 credit".to_owned()
        } else {
            format!("{self} credits")
        }
    }

    /// Parses user input such as `"12"`, `"0.5"` or `" 3.25 "`.
    pub fn parse(text: &str) -> Result<Self, AmountError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        let value = Decimal::from_str_exact(text)
            .map_err(|_| AmountError::NotANumber(text.chars().take(40).collect()))?;
        Self::from_decimal(value)
    }

    /// Accepts a decimal with at most two significant decimal places.
    pub fn from_decimal(value: Decimal) -> Result<Self, AmountError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(AmountError::Negative);
        }
        if value.normalize().scale() > 2 {
            return Err(AmountError::TooPrecise);
        }
        let mut value = value;
        value.rescale(2);
        let cents = value.mantissa();
        if cents > i128::from(Self::MAX_CENTS) {
            return Err(AmountError::TooLarge { max: Self::max() });
        }
        Ok(Credits(value.abs()))
    }

    /// An amount from hundredths of a credit, as the storage adapters keep it.
    pub fn from_cents(cents: i64) -> Result<Self, AmountError> {
        if cents < 0 {
            return Err(AmountError::Negative);
        }
        if cents > Self::MAX_CENTS {
            return Err(AmountError::TooLarge { max: Self::max() });
        }
        Ok(Credits(Decimal::new(cents, 2)))
    }

    /// A whole number of credits.
    pub fn whole(credits: u32) -> Self {
        Credits(Decimal::new(i64::from(credits) * 100, 2))
    }

    /// The largest representable amount.
    pub fn max() -> Self {
        Credits(Decimal::new(Self::MAX_CENTS, 2))
    }

    /// Hundredths of a credit.
    pub fn cents(self) -> i64 {
        // The invariant (0 <= cents <= MAX_CENTS, scale 2) makes this conversion exact.
        i64::try_from(self.0.mantissa()).unwrap_or(i64::MAX)
    }

    /// The value as a decimal with two places.
    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    /// Whether there is nothing (an empty grant, a free service's cost).
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Requires a strictly positive amount (operations never move zero credits).
    pub fn non_zero(self) -> Result<Self, AmountError> {
        if self.is_zero() {
            Err(AmountError::Zero)
        } else {
            Ok(self)
        }
    }

    /// `None` when the sum would exceed [`Credits::max`].
    pub fn checked_add(self, other: Credits) -> Option<Credits> {
        Credits::from_cents(self.cents().checked_add(other.cents())?).ok()
    }

    /// `None` when the result would be negative.
    pub fn checked_sub(self, other: Credits) -> Option<Credits> {
        Credits::from_cents(self.cents().checked_sub(other.cents())?).ok()
    }

    /// Subtracts, stopping at zero.
    pub fn saturating_sub(self, other: Credits) -> Credits {
        self.checked_sub(other).unwrap_or(Credits::ZERO)
    }

    /// Adds, stopping at the maximum.
    pub fn saturating_add(self, other: Credits) -> Credits {
        self.checked_add(other).unwrap_or_else(Credits::max)
    }
}

impl fmt::Display for Credits {
    /// `100`, `99.50`: whole amounts without decimals, others with two.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.fract().is_zero() {
            write!(f, "{}", self.0.trunc())
        } else {
            write!(f, "{:.2}", self.0)
        }
    }
}

impl fmt::Debug for Credits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credits({:.2})", self.0)
    }
}

impl FromStr for Credits {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Credits::parse(s)
    }
}

impl TryFrom<Decimal> for Credits {
    type Error = AmountError;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        Credits::from_decimal(value)
    }
}

impl From<Credits> for Decimal {
    fn from(value: Credits) -> Self {
        value.0
    }
}

impl std::iter::Sum for Credits {
    /// Sums, stopping at the maximum.
    fn sum<I: Iterator<Item = Credits>>(iter: I) -> Self {
        iter.fold(Credits::ZERO, Credits::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_worded_with_their_unit() {
        assert_eq!(Credits::whole(1).with_unit(), "1 credit");
        assert_eq!(Credits::ZERO.with_unit(), "0 credits");
        assert_eq!(Credits::whole(2).with_unit(), "2 credits");
        assert_eq!(Credits::parse("1.50").unwrap().with_unit(), "1.50 credits");
        assert_eq!(Credits::parse("0.01").unwrap().with_unit(), "0.01 credits");
    }

    #[test]
    fn parses_whole_and_fractional_amounts() {
        assert_eq!(Credits::parse("12").unwrap().cents(), 1200);
        assert_eq!(Credits::parse(" 0.5 ").unwrap().cents(), 50);
        assert_eq!(Credits::parse("3.25").unwrap().cents(), 325);
        assert_eq!(Credits::parse("1.500").unwrap().cents(), 150);
    }

    #[test]
    fn rejects_bad_input_with_reasons() {
        assert_eq!(Credits::parse(""), Err(AmountError::Empty));
        assert_eq!(Credits::parse("-1"), Err(AmountError::Negative));
        assert_eq!(Credits::parse("1.234"), Err(AmountError::TooPrecise));
        assert!(matches!(
            Credits::parse("abc"),
            Err(AmountError::NotANumber(_))
        ));
        assert!(matches!(
            Credits::parse("1e3"),
            Err(AmountError::NotANumber(_))
        ));
        assert!(matches!(
            Credits::parse("99999999999"),
            Err(AmountError::TooLarge { .. })
        ));
        assert_eq!(Credits::ZERO.non_zero(), Err(AmountError::Zero));
    }

    #[test]
    fn displays_whole_amounts_without_decimals() {
        assert_eq!(Credits::whole(100).to_string(), "100");
        assert_eq!(Credits::from_cents(9950).unwrap().to_string(), "99.50");
        assert_eq!(Credits::from_cents(5).unwrap().to_string(), "0.05");
    }

    #[test]
    fn subtraction_never_goes_negative() {
        let one = Credits::whole(1);
        let two = Credits::whole(2);
        assert_eq!(one.checked_sub(two), None);
        assert_eq!(one.saturating_sub(two), Credits::ZERO);
        assert_eq!(two.checked_sub(one), Some(one));
    }

    #[test]
    fn negative_zero_is_zero() {
        assert_eq!(Credits::parse("-0").unwrap(), Credits::ZERO);
    }
}
