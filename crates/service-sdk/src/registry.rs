//! The registry: the services an app offers, registered explicitly in code.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{DescriptorError, Service, ServiceDescriptor};

/// Why a service could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Its descriptor is invalid.
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    /// Another registered service has the slug: runs, settings and usage are kept by slug.
    #[error("two services use the slug {0}")]
    DuplicateSlug(String),
}

/// A registered service with its descriptor, read once.
#[derive(Clone)]
pub struct Registered {
    /// The descriptor as validated at registration (a service's later answers are not used).
    pub descriptor: ServiceDescriptor,
    /// The service.
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
    /// A registry with no services.
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

    /// [`Self::register`] for a service already shared.
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

    /// The service with this slug.
    pub fn get(&self, slug: &str) -> Option<&Registered> {
        self.services.get(slug)
    }

    /// In registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Registered> {
        self.order.iter().filter_map(|slug| self.services.get(slug))
    }

    /// How many services are registered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no service is registered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}
