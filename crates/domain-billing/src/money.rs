//! Money: an integer number of minor units (cents) and a currency.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A three-letter ISO 4217 code, lower-case as Stripe writes it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// Holds the text that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a currency is a three-letter code such as usd (got {0:?})")]
pub struct CurrencyError(pub String);

impl Currency {
    /// US dollars.
    pub const USD: Currency = Currency(*b"usd");
    /// Euros.
    pub const EUR: Currency = Currency(*b"eur");

    /// Accepts any three ASCII letters, in either case. Whether the processor takes the currency is
    /// the processor's to say.
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        let lower = code.trim().to_ascii_lowercase();
        match lower.as_bytes() {
            [a, b, c] if lower.bytes().all(|b| b.is_ascii_lowercase()) => {
                Ok(Currency([*a, *b, *c]))
            }
            _ => Err(CurrencyError(code.to_owned())),
        }
    }

    /// The code, lower-case (`usd`).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Currencies whose minor unit is the major unit (Stripe's zero-decimal currencies).
    pub fn decimals(&self) -> u32 {
        const ZERO_DECIMAL: [&str; 16] = [
            "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
            "vuv", "xaf", "xof", "xpf",
        ];
        if ZERO_DECIMAL.contains(&self.as_str()) {
            0
        } else {
            2
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.as_str().to_owned()
    }
}

/// Why an amount of money cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Below zero: refunds are their own records, never negative payments.
    #[error("an amount of money cannot be negative")]
    Negative,
    /// Two currencies met in one sum; there is no exchange rate here.
    #[error("amounts in different currencies ({0} and {1}) cannot be combined")]
    CurrencyMismatch(Currency, Currency),
    /// The sum does not fit in 64 bits of minor units.
    #[error("the amount is too large")]
    Overflow,
}

/// An amount of money in minor units (cents for USD). Never a float.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// `minor` units of `currency` (cents for USD, yen for JPY).
    pub fn new(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Money { minor, currency })
    }

    /// Nothing, in a currency (the refunded total of a new payment).
    pub fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// The amount in minor units, as the processor counts it.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The sum, in the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            minor,
            currency: self.currency,
        })
    }

    /// The difference, in the same currency; never below zero.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        Money::new(self.minor - other.minor, self.currency)
    }
}

impl fmt::Display for Money {
    /// `$10.00`, `€5.50`, `¥500`, or `12.00 CHF` for other currencies.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decimals = self.currency.decimals();
        let number = if decimals == 0 {
            self.minor.to_string()
        } else {
            format!("{}.{:02}", self.minor / 100, self.minor % 100)
        };
        match self.currency.as_str() {
            "usd" => write!(f, "${number}"),
            "eur" => write!(f, "€{number}"),
            "gbp" => write!(f, "£{number}"),
            "jpy" => write!(f, "¥{number}"),
            other => write!(f, "{number} {}", other.to_ascii_uppercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_currency() {
        assert_eq!(
            Money::new(1000, Currency::USD).unwrap().to_string(),
            "$10.00"
        );
        assert_eq!(Money::new(550, Currency::EUR).unwrap().to_string(), "€5.50");
        assert_eq!(
            Money::new(500, Currency::parse("JPY").unwrap())
                .unwrap()
                .to_string(),
            "¥500"
        );
        assert_eq!(
            Money::new(1205, Currency::parse("chf").unwrap())
                .unwrap()
                .to_string(),
            "12.05 CHF"
        );
    }

    #[test]
    fn refuses_negative_amounts_and_mixed_currencies() {
        assert_eq!(Money::new(-1, Currency::USD), Err(MoneyError::Negative));
        let usd = Money::new(1, Currency::USD).unwrap();
        let eur = Money::new(1, Currency::EUR).unwrap();
        assert!(matches!(
            usd.checked_add(eur),
            Err(MoneyError::CurrencyMismatch(..))
        ));
        assert_eq!(
            usd.checked_sub(Money::new(2, Currency::USD).unwrap()),
            Err(MoneyError::Negative)
        );
        assert!(Currency::parse("us").is_err());
        assert!(Currency::parse("u5d").is_err());
    }
}
