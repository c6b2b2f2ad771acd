//! The QuickScale checkout whose `target/` a new project builds in.
//!
//! Generated projects carry their own copy of the QuickScale crates (`vendor/quickscale/`, see
//! [`crate::vendor`]) and build without a checkout. On the machine where `quickscale` was built,
//! though, the checkout's `target/` already holds every library a project uses, compiled with the
//! same versions, features and profiles: `init` points the project's builds there (in a
//! `.cargo/config.toml` that stays out of git), so the first build takes seconds. By default the
//! checkout is the one this binary was built from; `--quickscale-path` or `QUICKSCALE_PATH`
//! choose another.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// Where the binary was built from.
pub const BUILT_FROM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The workspace files at build time, used when the checkout's own cannot be read.
const EMBEDDED_MANIFEST: &str = include_str!("../../../Cargo.toml");
const EMBEDDED_LOCK: &str = include_str!("../../../Cargo.lock");

/// A located checkout.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub root: PathBuf,
    pub manifest: String,
    pub lock: String,
    /// `.cargo/config.toml`, when the checkout has one (a project needs the same to share
    /// compiled dependencies).
    pub cargo_config: Option<String>,
}

impl Checkout {
    /// The checkout to build in: as [`Checkout::locate`], except that when none was asked for
    /// (no flag, no `QUICKSCALE_PATH`) and the one this binary was built from is gone, there is
    /// none: the project then builds in its own `target/`.
    pub fn locate_for_builds(explicit: Option<&Path>) -> anyhow::Result<Option<Self>> {
        let asked = explicit.is_some()
            || std::env::var_os("QUICKSCALE_PATH").is_some_and(|v| !v.is_empty());
        match Self::locate(explicit) {
            Ok(checkout) => Ok(Some(checkout)),
            Err(_) if !asked => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `explicit` (the `--quickscale-path` flag), else `QUICKSCALE_PATH`, else [`BUILT_FROM`].
    pub fn locate(explicit: Option<&Path>) -> anyhow::Result<Self> {
        let (candidate, origin) = match explicit {
            Some(path) => (path.to_path_buf(), "--quickscale-path"),
            None => match std::env::var_os("QUICKSCALE_PATH").filter(|v| !v.is_empty()) {
                Some(path) => (PathBuf::from(path), "QUICKSCALE_PATH"),
                None => (
                    PathBuf::from(BUILT_FROM),
                    "the checkout quickscale was built from",
                ),
            },
        };
        let root = std::fs::canonicalize(&candidate).map_err(|e| {
            anyhow::anyhow!(
                "cannot find the QuickScale checkout at {} ({origin}): {e}. Pass the folder of a \
                 QuickScale checkout whose target/ the project should build in \
                 (--quickscale-path DIR or QUICKSCALE_PATH), or neither.",
                candidate.display()
            )
        })?;
        if !root.join("crates/app-web/Cargo.toml").is_file() {
            bail!(
                "{} ({origin}) is not a QuickScale checkout: it has no crates/app-web. Pass \
                 --quickscale-path DIR or set QUICKSCALE_PATH.",
                root.display()
            );
        }
        let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
            .unwrap_or_else(|_| EMBEDDED_MANIFEST.to_owned());
        let lock = std::fs::read_to_string(root.join("Cargo.lock"))
            .unwrap_or_else(|_| EMBEDDED_LOCK.to_owned());
        let cargo_config = std::fs::read_to_string(root.join(".cargo/config.toml")).ok();
        Ok(Checkout {
            root,
            manifest,
            lock,
            cargo_config,
        })
    }

    pub fn workspace(&self) -> anyhow::Result<Workspace> {
        Workspace::parse(&self.root, &self.manifest)
    }
}

/// What a project copies from the workspace manifest.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    table: toml::Table,
    pub edition: String,
    pub rust_version: String,
    /// The `[profile.*]` sections, as written.
    pub profiles: String,
}

impl Workspace {
    pub fn parse(root: &Path, manifest: &str) -> anyhow::Result<Self> {
        let table: toml::Table =
            toml::from_str(manifest).context("reading the QuickScale workspace's Cargo.toml")?;
        let package = table
            .get("workspace")
            .and_then(|w| w.get("package"))
            .context("the QuickScale Cargo.toml has no [workspace.package]")?;
        let field = |key: &str| {
            package
                .get(key)
                .and_then(toml::Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("the QuickScale Cargo.toml has no workspace {key}"))
        };
        Ok(Workspace {
            root: root.to_path_buf(),
            edition: field("edition")?,
            rust_version: field("rust-version")?,
            profiles: profile_sections(manifest),
            table,
        })
    }

    /// The dependency specification of `name` as the workspace declares it, ready to write after
    /// `name = ` in a project's Cargo.toml; paths are made absolute.
    pub fn dependency(&self, name: &str) -> anyhow::Result<String> {
        let spec = self
            .table
            .get("workspace")
            .and_then(|w| w.get("dependencies"))
            .and_then(|d| d.get(name))
            .with_context(|| {
                format!("the QuickScale workspace declares no dependency named {name}")
            })?;
        match spec {
            toml::Value::String(version) => Ok(toml_string(version)),
            toml::Value::Table(table) => {
                let mut parts = Vec::new();
                if let Some(path) = table.get("path").and_then(toml::Value::as_str) {
                    let absolute = self.root.join(path);
                    parts.push(format!(
                        "path = {}",
                        toml_string(&absolute.to_string_lossy())
                    ));
                }
                let first = ["version", "default-features", "features"];
                let rest = table
                    .keys()
                    .filter(|k| *k != "path" && !first.contains(&k.as_str()));
                for key in first.iter().copied().chain(rest.map(String::as_str)) {
                    if let Some(value) = table.get(key) {
                        parts.push(format!("{key} = {}", toml_value(value)?));
                    }
                }
                Ok(format!("{{ {} }}", parts.join(", ")))
            }
            other => bail!("unexpected dependency specification for {name}: {other:?}"),
        }
    }
}

/// The lines of every `[profile...]` section, comments included.
fn profile_sections(manifest: &str) -> String {
    let mut kept = Vec::new();
    let mut in_profile = false;
    for line in manifest.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_profile = trimmed.starts_with("[profile");
        }
        if in_profile {
            kept.push(line);
        }
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    kept.join("\n")
}

fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `value` as TOML, for a dependency specification.
pub fn toml_value(value: &toml::Value) -> anyhow::Result<String> {
    Ok(match value {
        toml::Value::String(s) => toml_string(s),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Array(items) => {
            let items = items
                .iter()
                .map(toml_value)
                .collect::<anyhow::Result<Vec<_>>>()?;
            format!("[{}]", items.join(", "))
        }
        other => bail!("unexpected value in a dependency specification: {other:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
[workspace]
members = ["a"]

[workspace.package]
edition = "2024"
rust-version = "1.94"

[workspace.dependencies]
web = { path = "crates/web", version = "0.1.0" }
tokio = { version = "=1.54.1", default-features = false, features = ["rt", "macros"] }
serde_json = "=1.0.154"

[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
debug = false

[workspace.lints.rust]
unsafe_code = "forbid"

[profile.release]
codegen-units = 16
"#;

    #[test]
    fn copies_specifications_and_profiles() {
        let workspace = Workspace::parse(Path::new("/qs"), MANIFEST).unwrap();
        assert_eq!(workspace.edition, "2024");
        assert_eq!(workspace.rust_version, "1.94");
        assert_eq!(
            workspace.dependency("web").unwrap(),
            r#"{ path = "/qs/crates/web", version = "0.1.0" }"#
        );
        assert_eq!(
            workspace.dependency("tokio").unwrap(),
            r#"{ version = "=1.54.1", default-features = false, features = ["rt", "macros"] }"#
        );
        assert_eq!(workspace.dependency("serde_json").unwrap(), r#""=1.0.154""#);
        assert!(workspace.dependency("nope").is_err());
        assert_eq!(
            workspace.profiles,
            "[profile.dev]\ndebug = \"line-tables-only\"\n\n[profile.dev.package.\"*\"]\ndebug = \
             false\n\n[profile.release]\ncodegen-units = 16"
        );
    }

    #[test]
    fn the_built_in_checkout_is_found() {
        let checkout = Checkout::locate(None).unwrap();
        let workspace = checkout.workspace().unwrap();
        assert!(
            workspace
                .dependency("quickscale-app-web")
                .unwrap()
                .contains("crates/app-web")
        );
        let missing = Checkout::locate(Some(Path::new("/no/such/quickscale")))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("--quickscale-path"), "{missing}");
    }
}
