//! What each request asks for, parsed from its form at the API's edge: the store's operations
//! take these typed values, never a form. Parsing checks what the request alone can tell
//! (required parameters, numbers, enumerations, parameters that exclude each other, Stripe's
//! limits); what depends on the state (does that customer exist, is that price active) is the
//! store's to check, with the parameter's name kept here for its error.

mod catalog;
mod checkout;
mod customers;
mod refunds;
mod subscriptions;

pub(crate) use catalog::{NewPrice, NewProduct, PriceTerms, ProductChoice, ProductData};
pub(crate) use checkout::{LinePrice, NewLineItem, NewSession};
pub(crate) use customers::{CustomerUpdate, NewCustomer, NewPortalSession};
pub(crate) use refunds::{NewRefund, RefundTarget};
pub(crate) use subscriptions::{ItemUpdate, Proration, SubscriptionUpdate, refuse_final_invoice};

use crate::error::ApiError;
use crate::form::Node;
use crate::model::Metadata;

/// An id given in a parameter, with the parameter's full name (`line_items[0][price]`) for the
/// error when nothing has that id.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub id: String,
    pub param: String,
}

impl Reference {
    /// `key` under `p`, when given.
    pub fn parse(p: &Node<'_>, key: &str) -> Result<Option<Self>, ApiError> {
        Ok(p.str(key)?.map(|id| Self {
            id: id.to_string(),
            param: p.param(key),
        }))
    }
}

/// How an update changes an object's `metadata`, with Stripe's semantics: keys given are set,
/// keys given empty are unset, `metadata=` unsets them all.
#[derive(Debug, Clone)]
pub(crate) enum MetadataUpdate {
    Keep,
    Clear,
    Change { set: Metadata, unset: Vec<String> },
}

impl MetadataUpdate {
    /// `metadata[...]` of an update.
    pub fn parse(p: &Node<'_>) -> Result<Self, ApiError> {
        if !p.has("metadata") {
            return Ok(Self::Keep);
        }
        let set = p.metadata("metadata")?;
        let Some(node) = p.node("metadata")? else {
            return Ok(Self::Clear);
        };
        let mut unset = Vec::new();
        for key in node.keys() {
            if node.str(key)?.is_none() {
                unset.push(key.to_string());
            }
        }
        Ok(Self::Change { set, unset })
    }

    pub fn apply(&self, target: &mut Metadata) {
        match self {
            Self::Keep => {}
            Self::Clear => target.clear(),
            Self::Change { set, unset } => {
                for key in unset {
                    target.remove(key);
                }
                target.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Params;

    fn update(query: &str) -> MetadataUpdate {
        MetadataUpdate::parse(&Params::parse(query.as_bytes()).node()).unwrap()
    }

    fn metadata(pairs: &[(&str, &str)]) -> Metadata {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn metadata_updates_set_unset_and_clear_keys() {
        let mut target = metadata(&[("a", "1"), ("b", "2")]);
        update("name=x").apply(&mut target);
        assert_eq!(target, metadata(&[("a", "1"), ("b", "2")]));
        update("metadata[a]=&metadata[c]=3").apply(&mut target);
        assert_eq!(target, metadata(&[("b", "2"), ("c", "3")]));
        update("metadata=").apply(&mut target);
        assert!(target.is_empty());
    }
}
