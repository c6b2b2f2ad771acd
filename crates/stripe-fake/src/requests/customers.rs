//! Customers and billing-portal sessions.

use super::{MetadataUpdate, Reference};
use crate::error::ApiError;
use crate::form::Node;
use crate::model::Metadata;

/// `POST /v1/customers`.
#[derive(Debug, Clone)]
pub(crate) struct NewCustomer {
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub phone: Option<String>,
    pub metadata: Metadata,
}

impl NewCustomer {
    pub fn parse(p: &Node<'_>) -> Result<Self, ApiError> {
        Ok(Self {
            email: p.string("email")?,
            name: p.string("name")?,
            description: p.string("description")?,
            phone: p.string("phone")?,
            metadata: p.metadata("metadata")?,
        })
    }
}

/// `POST /v1/customers/{id}`: each field left alone (`None`), set, or unset (`Some(None)`).
#[derive(Debug, Clone)]
pub(crate) struct CustomerUpdate {
    pub email: Option<Option<String>>,
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub metadata: MetadataUpdate,
}

impl CustomerUpdate {
    pub fn parse(p: &Node<'_>) -> Result<Self, ApiError> {
        Ok(Self {
            email: p.update_str("email")?,
            name: p.update_str("name")?,
            description: p.update_str("description")?,
            phone: p.update_str("phone")?,
            metadata: MetadataUpdate::parse(p)?,
        })
    }
}

/// `POST /v1/billing_portal/sessions`.
#[derive(Debug, Clone)]
pub(crate) struct NewPortalSession {
    pub customer: Reference,
    pub return_url: Option<String>,
}

impl NewPortalSession {
    pub fn parse(p: &Node<'_>) -> Result<Self, ApiError> {
        let customer =
            Reference::parse(p, "customer")?.ok_or_else(|| ApiError::missing("customer"))?;
        Ok(Self {
            customer,
            return_url: p.string("return_url")?,
        })
    }
}
