//! Checkout sessions.

use super::{PriceTerms, ProductChoice, Reference};
use crate::error::ApiError;
use crate::form::Node;
use crate::model::{CheckoutMode, Metadata};

/// `POST /v1/checkout/sessions`.
#[derive(Debug, Clone)]
pub(crate) struct NewSession {
    pub mode: CheckoutMode,
    pub customer: Option<Reference>,
    pub customer_email: Option<String>,
    pub client_reference_id: Option<String>,
    /// An `http(s)` URL, with `{CHECKOUT_SESSION_ID}` where the session's id goes.
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub metadata: Metadata,
    /// At least one.
    pub line_items: Vec<NewLineItem>,
    /// `None`: the configured time to live.
    pub expires_at: Option<i64>,
    /// `payment_intent_data[metadata]` and `[description]` (payment mode only).
    pub intent_metadata: Metadata,
    pub intent_description: Option<String>,
    /// `subscription_data[metadata]` (subscription mode only).
    pub subscription_metadata: Metadata,
}

/// `line_items[n]`.
#[derive(Debug, Clone)]
pub(crate) struct NewLineItem {
    /// From 1 to the cap.
    pub quantity: i64,
    pub price: LinePrice,
    /// `line_items[n][quantity]`, where a line total past Stripe's cap is reported.
    pub quantity_param: String,
    /// `line_items[n][price]` (or `[price_data]`), where a price of the wrong kind for the
    /// session's mode is reported.
    pub price_param: String,
}

/// A line item's price: an existing one, or one made for this session (`price_data`).
#[derive(Debug, Clone)]
pub(crate) enum LinePrice {
    Existing(Reference),
    Inline {
        terms: PriceTerms,
        product: ProductChoice,
    },
}

impl NewSession {
    /// `customer_exists` looks the customer up as soon as it is read: an unknown customer is
    /// reported before the errors of the parameters after it.
    pub fn parse(p: &Node<'_>, customer_exists: impl Fn(&str) -> bool) -> Result<Self, ApiError> {
        let mode = match p.str("mode")? {
            None => return Err(ApiError::missing("mode")),
            Some("payment") => CheckoutMode::Payment,
            Some("subscription") => CheckoutMode::Subscription,
            Some("setup") => {
                return Err(ApiError::invalid(
                    "mode",
                    "parameter_invalid_string",
                    "This fake supports only `mode=payment` and `mode=subscription`, not `setup`.",
                ));
            }
            Some(other) => {
                return Err(ApiError::invalid(
                    "mode",
                    "parameter_invalid_string",
                    format!(
                        "Invalid mode: must be one of payment, setup, or subscription (got `{other}`)."
                    ),
                ));
            }
        };
        if let Some(ui_mode) = p.str("ui_mode")?
            && ui_mode != "hosted"
        {
            return Err(ApiError::invalid(
                "ui_mode",
                "parameter_invalid_string",
                "This fake supports only the hosted checkout page (`ui_mode=hosted`).",
            ));
        }
        let customer = Reference::parse(p, "customer")?;
        if let Some(customer) = &customer
            && !customer_exists(&customer.id)
        {
            return Err(ApiError::no_such("customer", &customer.param, &customer.id));
        }
        let customer_email = p.string("customer_email")?;
        if customer.is_some() && customer_email.is_some() {
            return Err(ApiError::invalid(
                "customer_email",
                "parameter_invalid_string",
                "You may only specify one of these parameters: customer, customer_email.",
            ));
        }
        if mode == CheckoutMode::Subscription && customer.is_none() && customer_email.is_none() {
            return Err(ApiError::invalid(
                "customer_email",
                "parameter_missing",
                "In `subscription` mode this fake needs `customer` or `customer_email` (it does not \
                 collect the email on the checkout page).",
            ));
        }
        // Each mode's own data hash is refused in the other mode.
        for (param, only_in) in [
            ("payment_intent_data", CheckoutMode::Payment),
            ("subscription_data", CheckoutMode::Subscription),
        ] {
            if p.has(param) && mode != only_in {
                return Err(ApiError::invalid(
                    param,
                    "parameter_invalid_string",
                    format!(
                        "You can only pass `{param}` in `{}` mode (this session is in `{}` mode).",
                        only_in.as_str(),
                        mode.as_str()
                    ),
                ));
            }
        }
        for url_param in ["success_url", "cancel_url"] {
            if let Some(url) = p.str(url_param)?
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(ApiError::invalid(
                    url_param,
                    "url_invalid",
                    format!("Not a valid URL: {url}"),
                ));
            }
        }
        let items = p.nodes("line_items")?;
        if items.is_empty() {
            return Err(ApiError::missing("line_items"));
        }
        let line_items = items
            .iter()
            .map(NewLineItem::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let expires_at = p.int("expires_at")?;
        let (intent_metadata, intent_description) = match p.node("payment_intent_data")? {
            Some(data) => (data.metadata("metadata")?, data.string("description")?),
            None => (Metadata::new(), None),
        };
        let subscription_metadata = match p.node("subscription_data")? {
            Some(data) => data.metadata("metadata")?,
            None => Metadata::new(),
        };
        Ok(Self {
            mode,
            customer,
            customer_email,
            client_reference_id: p.string("client_reference_id")?,
            success_url: p.string("success_url")?,
            cancel_url: p.string("cancel_url")?,
            metadata: p.metadata("metadata")?,
            line_items,
            expires_at,
            intent_metadata,
            intent_description,
            subscription_metadata,
        })
    }
}

impl NewLineItem {
    fn parse(item: &Node<'_>) -> Result<Self, ApiError> {
        let quantity = item
            .quantity("quantity")?
            .ok_or_else(|| ApiError::missing(item.param("quantity")))?;
        let price = match (Reference::parse(item, "price")?, item.node("price_data")?) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    item.param("price_data"),
                    "parameter_invalid_string",
                    "You may only specify one of these parameters: price, price_data.",
                ));
            }
            (Some(price), None) => LinePrice::Existing(price),
            (None, Some(data)) => LinePrice::Inline {
                terms: PriceTerms::parse(&data)?,
                product: ProductChoice::parse_for_line_item(&data)?,
            },
            (None, None) => return Err(ApiError::missing(item.param("price"))),
        };
        let price_param = if item.has("price") {
            item.param("price")
        } else {
            item.param("price_data")
        };
        Ok(Self {
            quantity,
            price,
            quantity_param: item.param("quantity"),
            price_param,
        })
    }
}
