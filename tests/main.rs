//! The workspace's tests from the outside, across crates: one test binary (`e2e`), a module per
//! subject, one harness (`support`).
//!
//! - `generated_project`: `quickscale init` a project, build it, run its own tests, click through
//!   the five-minute journey against its real binary (SQLite and PostgreSQL), then `up`,
//!   `migrate`, `create-admin`, `check`, `verify-ledger` and `billing` on it;
//! - `browser`: the same journeys in headless Chromium, through chromedriver;
//! - `crawl`: `quickscale crawl` against a generated project and a deliberately broken site;
//! - `generate_service`: `quickscale generate-service` and `quickscale services`;
//! - `init`: `quickscale init` and the refusals that need no build;
//! - `self_contained`: a generated project, committed and cloned, builds and passes its tests
//!   with the QuickScale checkout hidden;
//! - `upgrade`: a project on an older QuickScale moved to this one by `quickscale upgrade`, its
//!   data kept;
//! - `docker_image`: the generated project's Dockerfile built and its image run on SQLite and
//!   PostgreSQL (a Docker engine and the Rust build image: docs/testing.md);
//! - `deploy`: the generated project's deploy/ files through `nginx -t` and `systemd-analyze
//!   verify`;
//! - `faults`: PostgreSQL stopped and restarted under load, a mail server that is down;
//! - `operations`: production settings refused by `check --production` and `serve`, and a
//!   SQLite backup taken under load, restored, its ledger verified.
//!
//! The binary is declared by the CLI crate (crates/cli/Cargo.toml), beside the `quickscale`
//! binary it runs. One subject, or one test:
//!
//!     cargo test -p quickscale-cli --test e2e -- crawl::
//!     cargo test -p quickscale-cli --test e2e -- generated_project::the_journey_on_sqlite
//!
//! Generated projects are built in the workspace's `target/` (reusing the compiled
//! dependencies), under `target/tmp/quickscale-cli-tests/`.

mod support;

#[cfg(unix)]
mod browser;
#[cfg(unix)]
mod crawl;
#[cfg(unix)]
mod deploy;
#[cfg(unix)]
mod docker_image;
mod faults;
#[cfg(unix)]
mod generate_service;
#[cfg(unix)]
mod generated_project;
mod init;
#[cfg(unix)]
mod operations;
#[cfg(unix)]
mod self_contained;
#[cfg(unix)]
mod upgrade;
