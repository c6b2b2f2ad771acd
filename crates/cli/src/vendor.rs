//! The QuickScale crates a project carries in `vendor/quickscale/`, embedded in this binary.
//!
//! A generated project builds on its own copy of the QuickScale crates (the web app and what it
//! depends on), so that a clone of it builds anywhere: no QuickScale checkout, no git server, no
//! registry of ours. `quickscale upgrade` replaces that copy with this binary's. The copy is a
//! small Cargo workspace of its own (the crates inherit versions, features and lints from it),
//! excluded from the project's workspace.
//!
//! Each vendored file keeps the modification time of the file it was copied from. Cargo names
//! what it compiles from a path dependency by the dependency's path relative to the workspace
//! (`vendor/quickscale/crates/app-web`, the same in every project) and checks it against the
//! files' modification times: so projects that share a target folder compile the QuickScale
//! crates once, not once each.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;

use crate::template::QUICKSCALE_FILES;

/// Where a project keeps the QuickScale crates.
pub const VENDOR_DIR: &str = "vendor/quickscale";

/// The QuickScale version of this binary (every crate of the workspace has it).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A file to write into a project: its path in the project, its content and, for vendored
/// files, the modification time to give it.
#[derive(Debug, Clone)]
pub struct ProjectFile {
    pub path: PathBuf,
    pub content: Vec<u8>,
    pub modified: Option<SystemTime>,
}

impl ProjectFile {
    /// A file written now, from text.
    pub fn text(path: impl Into<PathBuf>, content: String) -> Self {
        ProjectFile {
            path: path.into(),
            content: content.into_bytes(),
            modified: None,
        }
    }

    /// The content as text (lossy): for tests and for the files rendered from templates.
    pub fn as_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.content)
    }
}

/// One of the embedded workspace files (`Cargo.toml`, `Cargo.lock`, `CHANGELOG.md`).
fn embedded(name: &str) -> Option<&'static [u8]> {
    QUICKSCALE_FILES
        .iter()
        .find(|(path, _, _)| *path == name)
        .map(|(_, content, _)| *content)
}

fn embedded_text(name: &str) -> &'static str {
    embedded(name)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .unwrap_or_default()
}

/// The QuickScale workspace manifest this binary was built from.
pub fn workspace_manifest() -> &'static str {
    embedded_text("Cargo.toml")
}

/// The QuickScale lock file this binary was built from (the exact versions it was tested with).
pub fn lock_file() -> &'static str {
    embedded_text("Cargo.lock")
}

/// The QuickScale changelog this binary was built from.
pub fn changelog() -> &'static str {
    embedded_text("CHANGELOG.md")
}

/// Every file of `vendor/quickscale/`, paths relative to the project.
pub fn files() -> Vec<ProjectFile> {
    let mut files = Vec::with_capacity(QUICKSCALE_FILES.len());
    for (path, content, modified) in QUICKSCALE_FILES {
        let modified = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(*modified));
        let content = match *path {
            // The project has its own lock file; the crates' workspace needs none.
            "Cargo.lock" => continue,
            "Cargo.toml" => vendored_manifest(workspace_manifest()).into_bytes(),
            _ => content.to_vec(),
        };
        files.push(ProjectFile {
            path: Path::new(VENDOR_DIR).join(path),
            content,
            modified,
        });
    }
    files
}

/// The workspace manifest for the vendored crates: QuickScale's `manifest`, with only the
/// vendored crates as members.
pub fn vendored_manifest(manifest: &str) -> String {
    let version = toml::from_str::<toml::Table>(manifest)
        .ok()
        .and_then(|t| {
            t.get("workspace")?
                .get("package")?
                .get("version")?
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| VERSION.to_owned());
    let members = crate::template::VENDORED_CRATES
        .iter()
        .map(|name| format!("    \"crates/{name}\",\n"))
        .collect::<String>();
    let mut out = format!(
        "# QuickScale {version}, vendored by `quickscale init`: the crates this project builds \
         on.\n# `quickscale upgrade` replaces this folder with another version's (CHANGELOG.md \
         says what\n# changed); it refuses to while this folder has uncommitted changes.\n"
    );
    let mut skipping = false;
    for line in manifest.lines() {
        if skipping {
            if line.trim_start().starts_with(']') {
                skipping = false;
            }
            continue;
        }
        if line.trim_start().starts_with("members = [") && !line.contains(']') {
            out.push_str("members = [\n");
            out.push_str(&members);
            out.push_str("]\n");
            skipping = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The QuickScale version a project's vendored crates have, read from their manifest.
pub fn project_version(project: &Path) -> anyhow::Result<Option<String>> {
    let manifest = project.join(VENDOR_DIR).join("Cargo.toml");
    if !manifest.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid", manifest.display()))?;
    Ok(table
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned))
}

/// Writes `files` under `dir`, giving vendored files their modification time.
pub fn write_files(dir: &Path, files: &[ProjectFile]) -> anyhow::Result<()> {
    for file in files {
        let target = dir.join(&file.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&target, &file.content)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", target.display()))?;
        if let Some(modified) = file.modified {
            std::fs::File::options()
                .write(true)
                .open(&target)
                .and_then(|f| f.set_modified(modified))
                .map_err(|e| anyhow::anyhow!("cannot date {}: {e}", target.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_workspace_lists_only_the_vendored_crates() {
        let files = files();
        let manifest = files
            .iter()
            .find(|f| f.path == Path::new(VENDOR_DIR).join("Cargo.toml"))
            .expect("a workspace manifest");
        let table: toml::Table = toml::from_str(&manifest.as_text()).unwrap();
        let members: Vec<&str> = table["workspace"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert!(members.contains(&"crates/app-web"), "{members:?}");
        assert!(!members.contains(&"crates/cli"), "{members:?}");
        for member in members {
            let crate_manifest = Path::new(VENDOR_DIR).join(member).join("Cargo.toml");
            assert!(
                files.iter().any(|f| f.path == crate_manifest),
                "{member} is vendored"
            );
        }
        assert_eq!(
            table["workspace"]["package"]["version"].as_str(),
            Some(VERSION)
        );
        // No crate's own tests: a project runs its own.
        assert!(
            !files
                .iter()
                .any(|f| f.path.starts_with("vendor/quickscale/crates/app-web/tests"))
        );
        assert!(files.iter().all(|f| f.modified.is_some()));
    }
}
