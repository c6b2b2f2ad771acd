#![forbid(unsafe_code)]
//! The `quickscale` command as a library: the binary (`src/main.rs`) parses the command line
//! and calls these modules; the workspace's tests from the outside (the top-level `tests/`)
//! use the same modules instead of compiling their source files a second time. The modules
//! serve the command, not embedders: they are not a stable API.

pub mod cargo_env;
pub mod checkout;
pub mod crawl;
pub mod generate_service;
pub mod init;
pub mod name;
pub mod project;
pub mod run;
pub mod service_name;
pub mod services;
pub mod template;
pub mod upgrade;
pub mod vendor;
pub mod walk;
