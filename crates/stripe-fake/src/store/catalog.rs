//! Products and prices: the configured catalog, and the ones made through the API.

use serde_json::Value;

use super::Store;
use crate::clock::now;
use crate::config::CatalogItem;
use crate::error::ApiError;
use crate::ids;
use crate::model::{Metadata, Price, Product, Recurring};
use crate::requests::{NewPrice, NewProduct, PriceTerms, ProductChoice, ProductData};

/// What `quantity` of a price comes to, and the words invoices and the portal use for it.
pub(crate) struct Priced {
    pub unit_amount: i64,
    pub quantity: i64,
    /// `unit_amount × quantity`: within Stripe's cap, which every quantity and price is
    /// checked against when it is set.
    pub amount: i64,
    pub product: String,
}

impl Priced {
    /// `2 × Pro plan`; for one, `Pro plan`, or `1 × Pro plan` with `count_one` (a plan line).
    pub fn label(&self, count_one: bool) -> String {
        if self.quantity > 1 || count_one {
            format!("{} × {}", self.quantity, self.product)
        } else {
            self.product.clone()
        }
    }
}

impl Store {
    /// Makes each catalog item's product and its one active price.
    pub fn seed(&mut self, catalog: &[CatalogItem]) {
        for item in catalog {
            let created = now();
            let product_id = item.product_id.clone().unwrap_or_else(ids::product);
            let price_id = item.price_id.clone().unwrap_or_else(ids::price);
            let seq = self.next_seq();
            self.products.insert(
                product_id.clone(),
                Product {
                    seq,
                    id: product_id.clone(),
                    created,
                    updated: created,
                    name: item.name.clone(),
                    description: item.description.clone(),
                    active: true,
                    metadata: item.metadata.clone(),
                    default_price: Some(price_id.clone()),
                },
            );
            let seq = self.next_seq();
            self.prices.insert(
                price_id.clone(),
                Price {
                    seq,
                    id: price_id,
                    created,
                    product: product_id,
                    currency: item.currency.to_lowercase(),
                    unit_amount: item.unit_amount,
                    active: true,
                    metadata: item.metadata.clone(),
                    nickname: None,
                    lookup_key: item.lookup_key.clone(),
                    recurring: item.recurring.as_deref().and_then(Recurring::every),
                },
            );
        }
    }

    /// Seeds the catalog items with fixed price ids that a restored state does not have yet
    /// (an item added to the configuration since); the others were seeded the first time.
    pub(crate) fn seed_missing(&mut self, catalog: &[CatalogItem]) {
        let missing: Vec<CatalogItem> = catalog
            .iter()
            .filter(|item| {
                item.price_id
                    .as_ref()
                    .is_some_and(|id| !self.prices.contains_key(id))
            })
            .cloned()
            .collect();
        self.seed(&missing);
    }

    pub fn create_product(&mut self, new: NewProduct) -> Result<Value, ApiError> {
        if let Some(id) = &new.id
            && self.products.contains_key(id)
        {
            return Err(ApiError::business(
                "resource_already_exists",
                Some("id"),
                format!("Product already exists: '{id}'"),
            ));
        }
        let created = now();
        let seq = self.next_seq();
        let mut product = Product {
            seq,
            id: new.id.unwrap_or_else(ids::product),
            created,
            updated: created,
            name: new.name,
            description: new.description,
            active: new.active,
            metadata: new.metadata,
            default_price: None,
        };
        if let Some(terms) = new.default_price {
            let price = self.insert_price(&product.id, terms, created, true);
            product.default_price = Some(price);
        }
        let json = self.product_json(&product);
        self.products.insert(product.id.clone(), product);
        Ok(json)
    }

    pub fn create_price(&mut self, new: NewPrice) -> Result<Value, ApiError> {
        self.check_product(&new.product)?;
        if let Some(key) = &new.lookup_key {
            let taken = self
                .prices
                .values()
                .any(|pr| pr.lookup_key.as_deref() == Some(key));
            if taken && !new.transfer_lookup_key {
                return Err(ApiError::business(
                    "lookup_key_already_exists",
                    Some("lookup_key"),
                    format!("A price (`lookup_key`: {key}) already uses that lookup key."),
                ));
            }
        }
        let created = now();
        let product = self.product_for(new.product, created);
        if let Some(key) = &new.lookup_key {
            for other in self.prices.values_mut() {
                if other.lookup_key.as_deref() == Some(key) {
                    other.lookup_key = None;
                }
            }
        }
        let seq = self.next_seq();
        let price = Price {
            seq,
            id: ids::price(),
            created,
            product,
            currency: new.terms.currency,
            unit_amount: new.terms.unit_amount,
            active: new.active,
            metadata: new.metadata,
            nickname: new.nickname,
            lookup_key: new.lookup_key,
            recurring: new.terms.recurring,
        };
        let json = self.price_json(&price);
        self.prices.insert(price.id.clone(), price);
        Ok(json)
    }

    /// Refuses a `product` that names no product.
    pub(super) fn check_product(&self, choice: &ProductChoice) -> Result<(), ApiError> {
        match choice {
            ProductChoice::Existing(product) if !self.products.contains_key(&product.id) => {
                Err(ApiError::no_such("product", &product.param, &product.id))
            }
            _ => Ok(()),
        }
    }

    /// The id of the product a price goes to: the one named, or a new one made now.
    pub(super) fn product_for(&mut self, choice: ProductChoice, created: i64) -> String {
        match choice {
            ProductChoice::Existing(product) => product.id,
            ProductChoice::New(data) => self.insert_product(data, created),
        }
    }

    fn insert_product(&mut self, data: ProductData, created: i64) -> String {
        let seq = self.next_seq();
        let product = Product {
            seq,
            id: ids::product(),
            created,
            updated: created,
            name: data.name,
            description: data.description,
            active: data.active,
            metadata: data.metadata,
            default_price: None,
        };
        let id = product.id.clone();
        self.products.insert(id.clone(), product);
        id
    }

    /// Stores a price of `product` with nothing but its terms; returns its id.
    pub(super) fn insert_price(
        &mut self,
        product: &str,
        terms: PriceTerms,
        created: i64,
        active: bool,
    ) -> String {
        let seq = self.next_seq();
        let price = Price {
            seq,
            id: ids::price(),
            created,
            product: product.to_string(),
            currency: terms.currency,
            unit_amount: terms.unit_amount,
            active,
            metadata: Metadata::new(),
            nickname: None,
            lookup_key: None,
            recurring: terms.recurring,
        };
        let id = price.id.clone();
        self.prices.insert(id.clone(), price);
        id
    }

    /// What `quantity` of `price` comes to, with its product's name.
    pub(crate) fn priced(&self, price: &str, quantity: i64) -> Priced {
        let (unit_amount, product) = self.price_and_product(price);
        Priced {
            unit_amount,
            quantity,
            amount: unit_amount.saturating_mul(quantity),
            product,
        }
    }

    /// A price's unit amount and its product's name.
    pub(crate) fn price_and_product(&self, price: &str) -> (i64, String) {
        match self.prices.get(price) {
            Some(p) => (
                p.unit_amount,
                self.products
                    .get(&p.product)
                    .map(|prod| prod.name.clone())
                    .unwrap_or_default(),
            ),
            None => (0, String::new()),
        }
    }
}
