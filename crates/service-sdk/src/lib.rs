#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! # The QuickScale service framework
//!
//! A service implements one trait, [`Service`]: a [`ServiceDescriptor`] (slug, name,
//! description, category, credit cost, input kind, limits) and an async `execute`.
//! Apps register services explicitly in a [`ServiceRegistry`]; the [`ServiceRunner`] validates
//! input, charges credits once per idempotency key, executes with a timeout, records the run,
//! and refunds the charge when the service fails or times out. Free services run and are
//! recorded without a debit.

pub mod builtin;
pub mod caps;
pub mod charges;
mod descriptor;
mod io;
pub mod notify;
pub mod paid;
mod registry;
mod runner;
mod service;
pub mod settings;
pub mod stats;
pub mod usage;
pub mod versions;

pub use descriptor::{DescriptorError, InputKind, RunMode, ServiceDescriptor};
pub use io::{Field, InputError, ServiceInput, ServiceOutput, Table, UploadedFile};
/// The credit amount type, so services can write `Credits::parse("2.50")` without depending on
/// the credits crate.
pub use quickscale_domain_credits::Credits;
pub use registry::{Registered, RegistryError, ServiceRegistry};
pub use runner::{
    BackgroundEnd, BackgroundJob, RunContext, RunError, RunOutcome, RunQueue, ServiceRunner,
};
pub use service::{Service, ServiceError, Timer};
pub use settings::{ServiceSettings, ServiceSettingsRepository, SettingsSnapshot};
pub use usage::{
    Claim, Progress, RunCharge, RunEnd, RunQuery, RunSample, RunStatus, ServiceRun,
    ServiceUsageRepository,
};
pub use versions::{CacheVersionStore, CacheVersions};
