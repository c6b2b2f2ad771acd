//! `quickscale upgrade`: moves a project to this binary's QuickScale version.
//!
//! It shows what changes (the version, the changelog's sections in between, the migrations the
//! new crates bring, the settings added to or gone from `.env.example`), refuses while the files
//! it replaces have uncommitted changes, then replaces `vendor/quickscale/`, points the
//! project's QuickScale dependencies at it with the new version, merges QuickScale's lock file
//! into the project's, appends the new settings to `.env.example`, and builds the project and
//! runs its tests. The database is not touched: the new migrations apply at the next start.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context as _, bail};

use crate::cargo_env::without_cargo_context;
use crate::checkout::toml_value;
use crate::init::describes;
use crate::project::Project;
use crate::vendor::{self, ProjectFile, VENDOR_DIR, VERSION};

/// `quickscale upgrade [--dry-run] [--no-build]`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without building the project and running its tests afterwards.
    #[arg(long)]
    pub no_build: bool,
}

/// What `upgrade` replaces or edits, relative to the project (what must be committed first).
const REPLACED: &[&str] = &[
    VENDOR_DIR,
    "Cargo.toml",
    "Cargo.lock",
    ".env.example",
    AGENTS_FILE,
    GUIDELINES_DIR,
];

/// The notes for AI assistants, rendered for the project by `init` and refreshed here.
const AGENTS_FILE: &str = "AGENTS.md";

/// The longer guidelines for AI assistants (the project's services, the credit rules, testing),
/// rendered for the project by `init` and refreshed here.
const GUIDELINES_DIR: &str = "docs/ai_guidelines";

/// The changes an upgrade makes, worked out before anything is written.
#[derive(Debug)]
pub struct Plan {
    pub from: Option<String>,
    pub to: &'static str,
    /// The changelog's sections after `from`, up to `to`.
    pub notes: String,
    /// Migration files the new crates have and the old ones had not (`sqlite/0010_x.sql`).
    pub new_migrations: Vec<String>,
    /// Settings the new version reads that `.env.example` does not describe.
    pub settings_added: Vec<&'static str>,
    /// Settings `.env.example` describes that the new version no longer reads.
    pub settings_removed: Vec<String>,
    /// The vendored files are already this binary's, and the manifest points at them.
    pub up_to_date: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let project = Project::find(&std::env::current_dir()?)?;
    let plan = plan(&project.dir)?;
    print_plan(&plan);
    if plan.up_to_date {
        println!("Nothing to do: the project is on QuickScale {VERSION} already.");
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        println!("Dry run: nothing was changed.");
        return Ok(ExitCode::SUCCESS);
    }
    refuse_uncommitted_changes(&project.dir)?;
    apply(&project.dir, &plan)?;
    println!(
        "Upgraded to QuickScale {VERSION}: {VENDOR_DIR}/, Cargo.toml, Cargo.lock, .env.example, \
         {AGENTS_FILE} and {GUIDELINES_DIR}/ were updated."
    );
    if args.no_build {
        println!("Not built (--no-build): run `cargo test`, then commit the upgrade.");
        return Ok(ExitCode::SUCCESS);
    }
    for step in [&["build"][..], &["test"][..]] {
        println!("\n$ cargo {}", step.join(" "));
        let status = cargo(&project, step)?;
        if !status.success() {
            eprintln!(
                "error: `cargo {}` failed after the upgrade (Cargo's messages above say why). \
                 Fix the project, or go back with: git checkout HEAD -- {} && git clean -fdq \
                 -- {VENDOR_DIR}",
                step.join(" "),
                REPLACED.join(" "),
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    println!(
        "\nThe project builds and its tests pass on QuickScale {VERSION}. Commit the upgrade; \
         the new migrations apply at the next start (or `quickscale migrate`)."
    );
    Ok(ExitCode::SUCCESS)
}

/// Works out what upgrading the project in `dir` changes.
pub fn plan(dir: &Path) -> anyhow::Result<Plan> {
    let from = vendor::project_version(dir)?.or(legacy_version(dir)?);
    let new_files = vendor::files();
    let old_dir = dir.join(VENDOR_DIR);
    let up_to_date = from.as_deref() == Some(VERSION)
        && same_files(&old_dir, &new_files)?
        && updated_manifest(&read(&dir.join("Cargo.toml"))?)? == read(&dir.join("Cargo.toml"))?;
    let migrations = |names: &mut dyn Iterator<Item = String>| -> BTreeSet<String> {
        names
            .filter_map(|n| {
                n.strip_prefix("crates/adapters/migrations/")
                    .map(str::to_owned)
            })
            .filter(|n| n.ends_with(".sql"))
            .collect()
    };
    let old_migrations = migrations(&mut old_files(&old_dir)?.into_iter());
    let new_migrations = migrations(&mut new_files.iter().filter_map(|f| {
        f.path
            .strip_prefix(VENDOR_DIR)
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
    }));
    let example = std::fs::read_to_string(dir.join(".env.example")).unwrap_or_default();
    let settings = quickscale_app_web::config::SETTINGS;
    let settings_added = settings
        .iter()
        .map(|s| s.key)
        .filter(|key| !describes(&example, key))
        .collect();
    let settings_removed = described_keys(&example)
        .into_iter()
        .filter(|key| !settings.iter().any(|s| s.key == key))
        .collect();
    Ok(Plan {
        notes: changelog_between(vendor::changelog(), from.as_deref(), VERSION),
        from,
        to: VERSION,
        new_migrations: new_migrations
            .difference(&old_migrations)
            .cloned()
            .collect(),
        settings_added,
        settings_removed,
        up_to_date,
    })
}

fn print_plan(plan: &Plan) {
    println!(
        "QuickScale {} → {}",
        plan.from.as_deref().unwrap_or("(unknown version)"),
        plan.to
    );
    if plan.up_to_date {
        return;
    }
    println!();
    if plan.notes.trim().is_empty() {
        println!("The changelog has no section for this change.");
    } else {
        println!("{}", plan.notes.trim_end());
    }
    println!();
    if plan.new_migrations.is_empty() {
        println!("New migrations: none.");
    } else {
        println!("New migrations (they apply at the next start, or with `quickscale migrate`):");
        for name in &plan.new_migrations {
            println!("  {name}");
        }
    }
    if plan.settings_added.is_empty() {
        println!("Settings added: none.");
    } else {
        println!(
            "Settings added (described at the end of .env.example, with their defaults): {}",
            plan.settings_added.join(", ")
        );
    }
    if plan.settings_removed.is_empty() {
        println!("Settings removed: none.");
    } else {
        println!(
            "Settings no longer read (remove them from .env and .env.example unless your own \
             code reads them): {}",
            plan.settings_removed.join(", ")
        );
    }
    println!();
}

/// The version of the checkout a project from before vendoring takes its crates from.
fn legacy_version(dir: &Path) -> anyhow::Result<Option<String>> {
    let Ok(project) = Project::find(dir) else {
        return Ok(None);
    };
    let Some(checkout) = project.checkout else {
        return Ok(None);
    };
    let text = read(&checkout.join("Cargo.toml"))?;
    let table: toml::Table = toml::from_str(&text)?;
    Ok(table
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned))
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The files under `dir`, relative to it with `/`; none when it does not exist.
fn old_files(dir: &Path) -> anyhow::Result<Vec<String>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    Ok(crate::walk::files_under(dir)?
        .iter()
        .filter_map(|p| p.strip_prefix(dir).ok())
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect())
}

/// Whether `dir` holds exactly `files` (paths under the vendor folder), byte for byte.
fn same_files(dir: &Path, files: &[ProjectFile]) -> anyhow::Result<bool> {
    let existing = old_files(dir)?;
    if existing.len() != files.len() {
        return Ok(false);
    }
    for file in files {
        let Ok(relative) = file.path.strip_prefix(VENDOR_DIR) else {
            return Ok(false);
        };
        match std::fs::read(dir.join(relative)) {
            Ok(content) if content == file.content => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// The sections of `changelog` (`## VERSION ...` headings) for versions after `from` up to and
/// including `to`; every section up to `to` when `from` is unknown.
pub fn changelog_between(changelog: &str, from: Option<&str>, to: &str) -> String {
    let from = from.and_then(semver);
    let to = semver(to);
    let mut out = String::new();
    let mut keep = false;
    for line in changelog.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            let version = heading.split_whitespace().next().and_then(semver);
            keep = match version {
                Some(v) => from.is_none_or(|f| v > f) && to.is_none_or(|t| v <= t),
                None => false,
            };
        } else if line.starts_with("# ") {
            keep = false;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `(major, minor, patch)` of `1.2.3` (a pre-release suffix is ignored).
fn semver(text: &str) -> Option<(u64, u64, u64)> {
    let text = text.trim_start_matches('v');
    let core = text.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// Every `KEY=` `.env.example` describes (commented out or not), in order.
fn described_keys(example: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for line in example.lines() {
        let line = line.trim_start_matches('#').trim_start();
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        let is_key = !key.is_empty()
            && key.starts_with(|c: char| c.is_ascii_uppercase())
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if is_key && !keys.iter().any(|k| k == key) {
            keys.push(key.to_owned());
        }
    }
    keys
}

/// Refuses when git shows changes in what the upgrade replaces, or cannot tell.
fn refuse_uncommitted_changes(dir: &Path) -> anyhow::Result<()> {
    let output = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all", "--"])
        .args(REPLACED)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output();
    let output = match output {
        Ok(output) if output.status.success() => output,
        _ => bail!(
            "{} is not in a git repository (or git is not installed), so upgrade cannot tell \
             whether {} hold changes of yours. Commit the project first (git init && git add \
             -A && git commit -m 'Before the upgrade'), then run quickscale upgrade again. \
             Nothing was changed.",
            dir.display(),
            REPLACED.join(", ")
        ),
    };
    let changed: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.get(3..))
        .map(str::to_owned)
        .collect();
    if !changed.is_empty() {
        let shown = changed.iter().take(10).cloned().collect::<Vec<_>>();
        bail!(
            "upgrade replaces {}, and these have uncommitted changes: {}{}. Commit them (or \
             undo them with git checkout), then run quickscale upgrade again. Nothing was \
             changed.",
            REPLACED.join(", "),
            shown.join(", "),
            if changed.len() > shown.len() {
                format!(" and {} more", changed.len() - shown.len())
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// Writes the upgrade: the vendored crates (swapped in whole), the manifest, the lock file and
/// `.env.example`.
fn apply(dir: &Path, plan: &Plan) -> anyhow::Result<()> {
    let manifest = updated_manifest(&read(&dir.join("Cargo.toml"))?)?;
    let lock_path = dir.join("Cargo.lock");
    let lock = merge_locks(
        &std::fs::read_to_string(&lock_path).unwrap_or_default(),
        vendor::lock_file(),
    );

    // The new crates beside the old ones first, then swapped in.
    let vendor_dir = dir.join(VENDOR_DIR);
    let parent = vendor_dir.parent().expect("vendor/quickscale has a parent");
    let staged = parent.join(".quickscale-upgrade");
    let retired = parent.join(".quickscale-old");
    for leftover in [&staged, &retired] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover)
                .with_context(|| format!("cannot remove {}", leftover.display()))?;
        }
    }
    let files: Vec<ProjectFile> = vendor::files()
        .into_iter()
        .map(|mut f| {
            f.path = f
                .path
                .strip_prefix(VENDOR_DIR)
                .map(Path::to_path_buf)
                .unwrap_or(f.path);
            f
        })
        .collect();
    vendor::write_files(&staged, &files)?;
    if vendor_dir.exists() {
        std::fs::rename(&vendor_dir, &retired)
            .with_context(|| format!("cannot move {} aside", vendor_dir.display()))?;
    }
    std::fs::rename(&staged, &vendor_dir)
        .with_context(|| format!("cannot move the new crates to {}", vendor_dir.display()))?;
    if retired.exists() {
        std::fs::remove_dir_all(&retired)
            .with_context(|| format!("cannot remove {}", retired.display()))?;
    }

    write(&dir.join("Cargo.toml"), &manifest)?;
    write(&lock_path, &lock)?;
    for file in assistant_files(dir)? {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        write(&path, &file.as_text())?;
    }
    if !plan.settings_added.is_empty() {
        let path = dir.join(".env.example");
        let mut example = std::fs::read_to_string(&path).unwrap_or_default();
        if !example.is_empty() && !example.ends_with('\n') {
            example.push('\n');
        }
        example.push_str(&format!(
            "\n# Added by `quickscale upgrade` to {VERSION}:\n"
        ));
        for key in &plan.settings_added {
            if let Some(setting) = quickscale_app_web::config::SETTINGS
                .iter()
                .find(|s| s.key == *key)
            {
                example.push_str(&format!(
                    "# {}: {}\n# {}=\n",
                    setting.key,
                    setting.summary(),
                    setting.key
                ));
            }
        }
        write(&path, &example)?;
    }
    Ok(())
}

/// `AGENTS.md` and `docs/ai_guidelines/` as this version's `init` writes them for the project
/// (with its services as they are now), when its package name is a name `init` accepts.
fn assistant_files(dir: &Path) -> anyhow::Result<Vec<ProjectFile>> {
    let project = Project::find(dir)?;
    let Ok(name) = crate::name::ProjectName::parse(&project.package) else {
        return Ok(Vec::new());
    };
    let services = crate::init::project_services(dir)?;
    let files = crate::init::render_template_for(&name, crate::init::Db::Sqlite, "", &services)?;
    Ok(files
        .into_iter()
        .filter(|f| f.path == Path::new(AGENTS_FILE) || f.path.starts_with(GUIDELINES_DIR))
        .collect())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The project's manifest with every QuickScale dependency taken from `vendor/quickscale/` at
/// this version (other keys of a dependency, such as its features, are kept), and the vendor
/// folder kept out of the project's workspace.
pub fn updated_manifest(manifest: &str) -> anyhow::Result<String> {
    let crates: Vec<String> = crate::template::VENDORED_CRATES
        .iter()
        .map(|dir| format!("quickscale-{dir}"))
        .collect();
    let mut out = String::with_capacity(manifest.len());
    let mut in_workspace = false;
    let mut workspace_excludes = false;
    let mut lines = manifest.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_workspace = trimmed == "[workspace]";
        }
        if in_workspace && trimmed.starts_with("exclude") {
            workspace_excludes = true;
        }
        let name = trimmed
            .split(['=', ' ', '.'])
            .next()
            .unwrap_or_default()
            .trim();
        let rewritten = if crates.iter().any(|c| c == name) && trimmed.contains('=') {
            Some(dependency_line(name, trimmed)?)
        } else {
            None
        };
        out.push_str(rewritten.as_deref().unwrap_or(line));
        out.push('\n');
        // `[workspace]` without `exclude`: add it after the last line of the table.
        let table_ends = lines
            .peek()
            .is_none_or(|next| next.trim_start().starts_with('['));
        if in_workspace && table_ends && !workspace_excludes {
            out.push_str("exclude = [\"vendor\"]\n");
            workspace_excludes = true;
        }
    }
    if !manifest.lines().any(|l| l.trim() == "[workspace]") {
        out.push_str("\n[workspace]\nexclude = [\"vendor\"]\n");
    }
    Ok(out)
}

/// `name = { ... }` for a QuickScale crate, pointing at the vendored copy at this version.
fn dependency_line(name: &str, line: &str) -> anyhow::Result<String> {
    let table: toml::Table = toml::from_str(line).with_context(|| {
        format!(
            "Cargo.toml: cannot read the dependency line `{line}`; write it on one line as \
             {name} = {{ path = \"...\" }}"
        )
    })?;
    let mut spec = match table.get(name) {
        Some(toml::Value::Table(spec)) => spec.clone(),
        _ => toml::Table::new(),
    };
    let folder = name.trim_start_matches("quickscale-");
    spec.insert(
        "path".into(),
        toml::Value::String(format!("{VENDOR_DIR}/crates/{folder}")),
    );
    spec.insert("version".into(), toml::Value::String(VERSION.to_owned()));
    let mut parts = Vec::new();
    let first = ["path", "version", "default-features", "features"];
    let rest = spec.keys().filter(|k| !first.contains(&k.as_str()));
    for key in first.iter().copied().chain(rest.map(String::as_str)) {
        if let Some(value) = spec.get(key) {
            parts.push(format!("{key} = {}", toml_value(value)?));
        }
    }
    Ok(format!("{name} = {{ {} }}", parts.join(", ")))
}

/// The project's lock file with QuickScale's merged in: the project's entries for its own
/// dependencies stay, QuickScale's crates and the versions it was tested with come from
/// `quickscale`. Cargo drops what no longer applies at the next build.
pub fn merge_locks(project: &str, quickscale: &str) -> String {
    let blocks = |text: &str| -> Vec<(String, String, String)> {
        text.split("\n[[package]]\n")
            .skip(1)
            .filter_map(|block| {
                let field = |key: &str| {
                    block.lines().find_map(|l| {
                        l.strip_prefix(&format!("{key} = \""))
                            .and_then(|v| v.strip_suffix('"'))
                            .map(str::to_owned)
                    })
                };
                Some((
                    field("name")?,
                    field("version")?,
                    block.trim_end().to_owned(),
                ))
            })
            .collect()
    };
    let mut merged: Vec<(String, String, String)> = blocks(quickscale)
        .into_iter()
        .filter(|(name, _, _)| name != "quickscale-cli")
        .collect();
    for (name, version, block) in blocks(project) {
        let ours = name.starts_with("quickscale-");
        if !ours && !merged.iter().any(|(n, v, _)| *n == name && *v == version) {
            merged.push((name, version, block));
        }
    }
    merged.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let header = quickscale
        .split("\n[[package]]\n")
        .next()
        .unwrap_or("version = 4")
        .trim_end();
    let mut out = format!("{header}\n");
    for (_, _, block) in merged {
        out.push_str("\n[[package]]\n");
        out.push_str(&block);
        out.push('\n');
    }
    out
}

/// Cargo in the project, with our terminal, in the target folder `quickscale` builds in.
fn cargo(project: &Project, args: &[&str]) -> anyhow::Result<std::process::ExitStatus> {
    let mut command = Command::new(
        std::env::var_os("CARGO")
            .filter(|c| !c.is_empty())
            .map_or_else(|| PathBuf::from("cargo"), PathBuf::from),
    );
    without_cargo_context(&mut command)
        .args(args)
        .current_dir(&project.dir)
        .stdin(Stdio::null());
    if let Some(dir) = project.target_dir() {
        command.env("CARGO_TARGET_DIR", dir);
    }
    command
        .status()
        .context("cannot run cargo: install Rust from https://rustup.rs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_changelog_between_two_versions() {
        let log = "# Changelog\n\nintro\n\n## 0.3.0 (2027)\n\n- three\n\n## 0.2.0 (2026)\n\n- \
                   two\n\n## 0.1.0\n\n- one\n";
        let between = changelog_between(log, Some("0.1.0"), "0.3.0");
        assert!(
            between.contains("- three") && between.contains("- two"),
            "{between}"
        );
        assert!(
            !between.contains("- one") && !between.contains("intro"),
            "{between}"
        );
        let up_to = changelog_between(log, Some("0.1.0"), "0.2.0");
        assert!(
            up_to.contains("- two") && !up_to.contains("- three"),
            "{up_to}"
        );
        assert!(changelog_between(log, Some("0.3.0"), "0.3.0").is_empty());
        assert!(changelog_between(log, None, "0.3.0").contains("- one"));
    }

    #[test]
    fn the_manifest_points_at_the_vendored_crates_and_keeps_the_rest() {
        let manifest = "[package]\nname = \"shop\"\n\n[workspace]\n\n[dependencies]\n\
                        quickscale-app-web = { path = \"/old/checkout/crates/app-web\", version \
                        = \"0.1.0\" }\nquickscale-adapters = { path = \"/old/crates/adapters\", \
                        version = \"0.1.0\", features = [\"postgres\"] }\nserde = \"1\"\n";
        let updated = updated_manifest(manifest).unwrap();
        let table: toml::Table = toml::from_str(&updated).unwrap();
        let deps = &table["dependencies"];
        assert_eq!(
            deps["quickscale-app-web"]["path"].as_str(),
            Some("vendor/quickscale/crates/app-web")
        );
        assert_eq!(
            deps["quickscale-app-web"]["version"].as_str(),
            Some(VERSION)
        );
        assert_eq!(
            deps["quickscale-adapters"]["features"].as_array().unwrap()[0].as_str(),
            Some("postgres")
        );
        assert_eq!(deps["serde"].as_str(), Some("1"));
        assert_eq!(
            table["workspace"]["exclude"].as_array().unwrap()[0].as_str(),
            Some("vendor")
        );
        // Once is enough.
        assert_eq!(updated_manifest(&updated).unwrap(), updated);
    }

    #[test]
    fn lock_files_merge_keeping_the_projects_own_dependencies() {
        let project = "version = 4\n\n[[package]]\nname = \"mine\"\nversion = \"1.0.0\"\n\n\
                       [[package]]\nname = \"quickscale-app-web\"\nversion = \"0.1.0\"\n\n\
                       [[package]]\nname = \"serde\"\nversion = \"1.0.1\"\n";
        let ours = "# generated\nversion = 4\n\n[[package]]\nname = \"quickscale-app-web\"\n\
                    version = \"0.2.0\"\n\n[[package]]\nname = \"quickscale-cli\"\nversion = \
                    \"0.2.0\"\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.2\"\n";
        let merged = merge_locks(project, ours);
        assert!(merged.starts_with("# generated\nversion = 4\n"), "{merged}");
        for present in [
            "name = \"mine\"\nversion = \"1.0.0\"",
            "name = \"quickscale-app-web\"\nversion = \"0.2.0\"",
            "name = \"serde\"\nversion = \"1.0.1\"",
            "name = \"serde\"\nversion = \"1.0.2\"",
        ] {
            assert!(merged.contains(present), "{present} in {merged}");
        }
        assert!(!merged.contains("version = \"0.1.0\""), "{merged}");
        assert!(!merged.contains("quickscale-cli"), "{merged}");
    }

    #[test]
    fn settings_described_in_an_example() {
        let example = "# SECRET_KEY: required\nSECRET_KEY=\n# PORT=8000\n# not a key: x=1\n\
                       # OLD_THING=3\n";
        assert_eq!(described_keys(example), ["SECRET_KEY", "PORT", "OLD_THING"]);
    }
}
