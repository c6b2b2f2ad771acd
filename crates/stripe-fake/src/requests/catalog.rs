//! Products and prices, and the terms of a price given inline (`price_data`,
//! `default_price_data`).

use super::Reference;
use crate::error::ApiError;
use crate::form::Node;
use crate::model::{Interval, Metadata, Recurring};
use crate::money::MAX_AMOUNT;

/// What a price charges: from `price_data`, `default_price_data` or a new price's parameters.
#[derive(Debug, Clone)]
pub(crate) struct PriceTerms {
    pub currency: String,
    pub unit_amount: i64,
    pub recurring: Option<Recurring>,
}

impl PriceTerms {
    /// `currency`, `unit_amount` (or whole-unit `unit_amount_decimal`) and `recurring`.
    pub fn parse(p: &Node<'_>) -> Result<Self, ApiError> {
        let currency = p.required_str("currency")?.to_lowercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(ApiError::invalid(
                p.param("currency"),
                "parameter_invalid_string",
                format!("Invalid currency: {currency}. Use a three-letter ISO code in lowercase."),
            ));
        }
        let unit_amount = match (p.int("unit_amount")?, p.str("unit_amount_decimal")?) {
            (Some(amount), _) => amount,
            (None, Some(decimal)) => decimal.parse::<i64>().map_err(|_| {
                ApiError::invalid(
                    p.param("unit_amount_decimal"),
                    "parameter_invalid_string",
                    "This fake accepts only whole minor units in unit_amount_decimal.",
                )
            })?,
            (None, None) => return Err(ApiError::missing(p.param("unit_amount"))),
        };
        if unit_amount < 0 {
            return Err(ApiError::invalid(
                p.param("unit_amount"),
                "parameter_invalid_integer",
                "Invalid non-negative integer: unit_amount must be at least 0.",
            ));
        }
        if unit_amount > MAX_AMOUNT {
            return Err(ApiError::amount_too_large(
                p.param("unit_amount"),
                &currency,
            ));
        }
        let recurring = match p.node("recurring")? {
            Some(node) => Some(parse_recurring(&node)?),
            None => None,
        };
        Ok(Self {
            currency,
            unit_amount,
            recurring,
        })
    }
}

/// `recurring[interval]` and `recurring[interval_count]`: at most a year, licensed usage only.
fn parse_recurring(p: &Node<'_>) -> Result<Recurring, ApiError> {
    let text = p.required_str("interval")?;
    let interval = Interval::parse(text).ok_or_else(|| {
        ApiError::invalid(
            p.param("interval"),
            "parameter_invalid_string",
            format!(
                "Invalid {}: must be one of day, month, week, or year (got `{text}`).",
                p.param("interval")
            ),
        )
    })?;
    let interval_count = p.int("interval_count")?.unwrap_or(1);
    if interval_count < 1 {
        return Err(ApiError::invalid(
            p.param("interval_count"),
            "parameter_invalid_integer",
            "Invalid positive integer: interval_count must be at least 1.",
        ));
    }
    if interval_count > interval.per_year() {
        return Err(ApiError::invalid(
            p.param("interval_count"),
            "parameter_invalid_integer",
            "The maximum billing interval is one year (1 year, 12 months, 52 weeks or 365 days).",
        ));
    }
    if let Some(usage) = p.str("usage_type")?
        && usage != "licensed"
    {
        return Err(ApiError::invalid(
            p.param("usage_type"),
            "parameter_invalid_string",
            "This fake supports only `usage_type=licensed` (no metered prices).",
        ));
    }
    Ok(Recurring {
        interval,
        interval_count,
    })
}

/// A product made along with a price (`product_data`).
#[derive(Debug, Clone)]
pub(crate) struct ProductData {
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub metadata: Metadata,
}

impl ProductData {
    /// A new price's `product_data`: `name`, `active` and `metadata`.
    fn parse_for_price(p: &Node<'_>) -> Result<Self, ApiError> {
        Ok(Self {
            name: p.required_str("name")?.to_string(),
            description: None,
            active: p.bool("active")?.unwrap_or(true),
            metadata: p.metadata("metadata")?,
        })
    }

    /// A checkout line item's `price_data[product_data]`: `name`, `description` and
    /// `metadata`. Such ad-hoc products are hidden from active listings.
    fn parse_for_line_item(p: &Node<'_>) -> Result<Self, ApiError> {
        Ok(Self {
            name: p.required_str("name")?.to_string(),
            description: p.string("description")?,
            active: false,
            metadata: p.metadata("metadata")?,
        })
    }
}

/// The product a price belongs to: an existing one (`product`) or a new one (`product_data`).
#[derive(Debug, Clone)]
pub(crate) enum ProductChoice {
    Existing(Reference),
    New(ProductData),
}

impl ProductChoice {
    /// `product` or `product_data` of a new price.
    fn parse_for_price(p: &Node<'_>) -> Result<Self, ApiError> {
        match (Reference::parse(p, "product")?, p.node("product_data")?) {
            (Some(product), _) => Ok(Self::Existing(product)),
            (None, Some(data)) => Ok(Self::New(ProductData::parse_for_price(&data)?)),
            (None, None) => Err(ApiError::missing(p.param("product"))),
        }
    }

    /// `product` or `product_data` of a checkout line item's `price_data`.
    pub(super) fn parse_for_line_item(p: &Node<'_>) -> Result<Self, ApiError> {
        match (Reference::parse(p, "product")?, p.node("product_data")?) {
            (Some(product), _) => Ok(Self::Existing(product)),
            (None, Some(data)) => Ok(Self::New(ProductData::parse_for_line_item(&data)?)),
            (None, None) => Err(ApiError::missing(p.param("product_data"))),
        }
    }
}

/// `POST /v1/products`.
#[derive(Debug, Clone)]
pub(crate) struct NewProduct {
    /// A chosen id instead of a random `prod_...`.
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub metadata: Metadata,
    /// `default_price_data`: a price made with the product, which becomes its default.
    pub default_price: Option<PriceTerms>,
}

impl NewProduct {
    pub fn parse(p: &Node<'_>) -> Result<Self, ApiError> {
        let name = p.required_str("name")?.to_string();
        let id = p.string("id")?;
        Ok(Self {
            id,
            name,
            description: p.string("description")?,
            active: p.bool("active")?.unwrap_or(true),
            metadata: p.metadata("metadata")?,
            default_price: match p.node("default_price_data")? {
                Some(data) => Some(PriceTerms::parse(&data)?),
                None => None,
            },
        })
    }
}

/// `POST /v1/prices`.
#[derive(Debug, Clone)]
pub(crate) struct NewPrice {
    pub terms: PriceTerms,
    pub product: ProductChoice,
    pub lookup_key: Option<String>,
    /// Take the lookup key from the price that has it.
    pub transfer_lookup_key: bool,
    pub active: bool,
    pub metadata: Metadata,
    pub nickname: Option<String>,
}

impl NewPrice {
    pub fn parse(p: &Node<'_>) -> Result<Self, ApiError> {
        let terms = PriceTerms::parse(p)?;
        let product = ProductChoice::parse_for_price(p)?;
        Ok(Self {
            terms,
            product,
            lookup_key: p.string("lookup_key")?,
            transfer_lookup_key: p.bool("transfer_lookup_key")? == Some(true),
            active: p.bool("active")?.unwrap_or(true),
            metadata: p.metadata("metadata")?,
            nickname: p.string("nickname")?,
        })
    }
}
