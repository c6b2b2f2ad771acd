//! The registry: the services an app offers, registered explicitly in code.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{DescriptorError, Service, ServiceDescriptor};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    #[error("two services use the slug {0}")]
    DuplicateSlug(String),
}

/// A registered service with its descriptor, read once.
#[derive(Clone)]
pub struct Registered {
    pub descriptor: ServiceDescriptor,
    pub service: Arc<dyn Service>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("descriptor", &self.descriptor)
            .finish()
    }
}

/// Every service the app offers, by slug, in registration order.
#[derive(Clone, Default, Debug)]
pub struct ServiceRegistry {
    order: Vec<String>,
    services: BTreeMap<String, Registered>,
}

impl ServiceRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a service; refuses an invalid descriptor or a slug already taken.
    pub fn register(
        &mut self,
        service: impl Service + 'static,
    ) -> Result<&mut Self, RegistryError> {
        self.register_arc(Arc::new(service))
    }

    pub fn register_arc(&mut self, service: Arc<dyn Service>) -> Result<&mut Self, RegistryError> {
        let descriptor = service.descriptor();
        descriptor.validate()?;
        if self.services.contains_key(&descriptor.slug) {
            return Err(RegistryError::DuplicateSlug(descriptor.slug));
        }
        self.order.push(descriptor.slug.clone());
        self.services.insert(
            descriptor.slug.clone(),
            Registered {
                descriptor,
                service,
            },
        );
        Ok(self)
    }

    pub fn get(&self, slug: &str) -> Option<&Registered> {
        self.services.get(slug)
    }

    /// In registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Registered> {
        self.order.iter().filter_map(|slug| self.services.get(slug))
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}
