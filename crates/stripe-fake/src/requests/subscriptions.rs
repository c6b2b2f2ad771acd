//! Subscription changes and cancellations.

use super::{MetadataUpdate, Reference};
use crate::error::ApiError;
use crate::form::Node;

/// `proration_behavior` of a subscription update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proration {
    /// Proration lines wait for the next invoice.
    Create,
    /// An invoice of the proration lines now.
    AlwaysInvoice,
    None,
}

/// `POST /v1/subscriptions/{id}` (and the billing portal's "Cancel at period end").
#[derive(Debug, Clone)]
pub(crate) struct SubscriptionUpdate {
    pub cancel_at_period_end: Option<bool>,
    pub proration: Proration,
    pub items: Vec<ItemUpdate>,
    pub metadata: MetadataUpdate,
}

/// `items[n]`: a new price or quantity for an existing item.
#[derive(Debug, Clone)]
pub(crate) struct ItemUpdate {
    /// `items[n][id]`: the subscription item.
    pub item: Reference,
    pub price: Option<Reference>,
    /// From 1 to the cap.
    pub quantity: Option<i64>,
    /// `items[n][quantity]`, where a line total past Stripe's cap is reported.
    pub quantity_param: String,
}

impl SubscriptionUpdate {
    pub fn parse(p: &Node<'_>) -> Result<Self, ApiError> {
        let cancel_at_period_end = p.bool("cancel_at_period_end")?;
        let proration = match p.str("proration_behavior")? {
            None | Some("create_prorations") => Proration::Create,
            Some("always_invoice") => Proration::AlwaysInvoice,
            Some("none") => Proration::None,
            Some(other) => {
                return Err(ApiError::invalid(
                    "proration_behavior",
                    "parameter_invalid_string",
                    format!(
                        "Invalid proration_behavior: must be one of always_invoice, create_prorations, or none (got `{other}`)."
                    ),
                ));
            }
        };
        let items = p
            .nodes("items")?
            .iter()
            .map(ItemUpdate::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            cancel_at_period_end,
            proration,
            items,
            metadata: MetadataUpdate::parse(p)?,
        })
    }
}

impl ItemUpdate {
    fn parse(item: &Node<'_>) -> Result<Self, ApiError> {
        let Some(id) = Reference::parse(item, "id")? else {
            return Err(ApiError::invalid(
                item.param("id"),
                "parameter_missing",
                format!(
                    "This fake changes existing subscription items only: pass {} (adding items is not supported).",
                    item.param("id")
                ),
            ));
        };
        if item.bool("deleted")? == Some(true) {
            return Err(ApiError::invalid(
                item.param("deleted"),
                "parameter_invalid_boolean",
                "This fake does not remove subscription items: cancel the subscription instead.",
            ));
        }
        Ok(Self {
            item: id,
            price: Reference::parse(item, "price")?,
            quantity: item.quantity("quantity")?,
            quantity_param: item.param("quantity"),
        })
    }
}

/// `DELETE /v1/subscriptions/{id}`: the fake cancels without a final invoice, so
/// `invoice_now=true` and `prorate=true` are refused.
pub(crate) fn refuse_final_invoice(p: &Node<'_>) -> Result<(), ApiError> {
    for flag in ["invoice_now", "prorate"] {
        if p.bool(flag)? == Some(true) {
            return Err(ApiError::invalid(
                flag,
                "parameter_invalid_boolean",
                format!(
                    "This fake cancels without a final invoice: `{flag}=true` is not supported."
                ),
            ));
        }
    }
    Ok(())
}
