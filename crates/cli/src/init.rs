//! `quickscale init NAME`: writes a new project from the embedded template.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use rand::Rng as _;

use crate::checkout::{Checkout, Workspace};
use crate::name::ProjectName;
use crate::template::{self, Values};
pub use crate::vendor::ProjectFile;
use crate::vendor::{self, VENDOR_DIR};

/// The database a new project is set up for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Db {
    /// A SQLite file under the project's data/ folder: nothing to install.
    Sqlite,
    /// A PostgreSQL server on this machine (docker compose up -d db starts one).
    Postgres,
}

#[derive(Debug)]
pub struct InitOptions {
    pub name: ProjectName,
    pub path: Option<PathBuf>,
    pub db: Db,
    pub quickscale_path: Option<PathBuf>,
}

/// Placeholder values plus the workspace's dependency specifications.
struct ProjectValues {
    values: BTreeMap<String, String>,
    workspace: Workspace,
}

impl Values for ProjectValues {
    fn value(&self, key: &str) -> anyhow::Result<Option<String>> {
        match key.strip_prefix("dep:") {
            Some(name) => self.workspace.dependency(name).map(Some),
            None => Ok(self.values.get(key).cloned()),
        }
    }
}

pub fn run(options: InitOptions) -> anyhow::Result<()> {
    let checkout = Checkout::locate_for_builds(options.quickscale_path.as_deref())?;
    let dir = options
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(options.name.as_str()));
    refuse_if_occupied(&dir)?;
    let files = render_project(
        &options.name,
        options.db,
        checkout.as_ref(),
        &new_secret_key(),
    )?;
    write_project(&dir, &files)?;
    print_next_steps(&options, &dir, checkout.as_ref());
    Ok(())
}

/// 32 random bytes, hex encoded.
pub fn new_secret_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn refuse_if_occupied(dir: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => bail!(
            "cannot create {}: {e}. Choose a folder you can write to (--path DIR). Nothing was \
             written.",
            dir.display()
        ),
        Ok(meta) if !meta.is_dir() => bail!(
            "{} already exists and is not a folder: choose another name or --path",
            dir.display()
        ),
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
            if entries.next().is_some() {
                bail!(
                    "{} already exists and is not empty: nothing was written. Choose another \
                     name or --path, or empty that folder first.",
                    dir.display()
                );
            }
            Ok(())
        }
    }
}

/// Every file of the new project, rendered in memory (nothing is written if any fails): the
/// template, the vendored QuickScale crates, and, when a QuickScale checkout is at hand, the
/// machine's own Cargo settings that build in its `target/`.
pub fn render_project(
    name: &ProjectName,
    db: Db,
    checkout: Option<&Checkout>,
    secret_key: &str,
) -> anyhow::Result<Vec<ProjectFile>> {
    let mut files = render_template(name, db, secret_key)?;
    files.extend(vendor::files());
    files.push(ProjectFile::text(
        "Cargo.lock",
        vendor::lock_file().to_owned(),
    ));
    if let Some(checkout) = checkout {
        files.push(ProjectFile::text(
            ".cargo/config.toml",
            cargo_config(checkout),
        ));
    }
    Ok(files)
}

/// The files of `project-template/`, rendered for a new project (whose services are the
/// template's own).
pub fn render_template(
    name: &ProjectName,
    db: Db,
    secret_key: &str,
) -> anyhow::Result<Vec<ProjectFile>> {
    let services: Vec<String> = template::TEMPLATE_FILES
        .iter()
        .filter_map(|(path, _)| path.strip_prefix("src/services/"))
        .filter(|file| file.ends_with(".rs") && *file != "mod.rs")
        .map(|file| format!("src/services/{file}"))
        .collect();
    render_template_for(name, db, secret_key, &services)
}

/// The service files of the project in `dir` (`src/services/NAME.rs`, without `mod.rs`), for
/// the AI guidelines `upgrade` rewrites.
pub fn project_services(dir: &Path) -> anyhow::Result<Vec<String>> {
    let services = dir.join("src/services");
    let mut found = Vec::new();
    if services.is_dir() {
        for entry in std::fs::read_dir(&services)
            .with_context(|| format!("cannot read {}", services.display()))?
        {
            let file = entry?.file_name().to_string_lossy().into_owned();
            if file.ends_with(".rs") && file != "mod.rs" {
                found.push(format!("src/services/{file}"));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// QuickScale's built-in services, a Markdown line each: slug, name and price, from their own
/// descriptors.
fn builtin_services() -> String {
    let mut registry = quickscale_app_web::ServiceRegistry::new();
    if quickscale_app_web::sdk::builtin::register_builtins(&mut registry).is_err() {
        return "- (see `quickscale services list`)".to_owned();
    }
    registry
        .iter()
        .map(|service| {
            let descriptor = &service.descriptor;
            let price = match descriptor.cost.to_string() {
                _ if descriptor.cost.is_zero() => "free".to_owned(),
                one if one == "1" => "1 credit".to_owned(),
                amount => format!("{amount} credits"),
            };
            format!("- `{}`: {} ({price})", descriptor.slug, descriptor.name)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The files of `project-template/`, rendered for a project whose services are the files
/// `services` (for the AI guidelines).
pub fn render_template_for(
    name: &ProjectName,
    db: Db,
    secret_key: &str,
    services: &[String],
) -> anyhow::Result<Vec<ProjectFile>> {
    let project_services = if services.is_empty() {
        "- none yet (`quickscale generate-service NAME` adds one)".to_owned()
    } else {
        services
            .iter()
            .map(|file| format!("- `{file}`"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let workspace = Workspace::parse(Path::new(VENDOR_DIR), vendor::workspace_manifest())?;
    let crate_name = name.crate_name();
    let database_url_line = match db {
        Db::Sqlite => {
            "# DATABASE_URL=sqlite://data/app.db   (the default: a SQLite file under data/)"
                .to_owned()
        }
        Db::Postgres => {
            format!("DATABASE_URL=postgres://postgres:postgres@localhost:5432/{crate_name}")
        }
    };
    let list = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("- `{n}`"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let values: BTreeMap<String, String> = [
        ("project_name", name.as_str().to_owned()),
        ("crate_name", crate_name.clone()),
        ("display_name", name.display_name()),
        ("secret_key", secret_key.to_owned()),
        ("database_url_line", database_url_line),
        ("quickscale_version", vendor::VERSION.to_owned()),
        ("edition", workspace.edition.clone()),
        ("rust_version", workspace.rust_version.clone()),
        ("profiles", workspace.profiles.clone()),
        ("app_templates", list(template::APP_TEMPLATES)),
        ("app_static", list(template::APP_STATIC)),
        ("other_settings", other_settings()),
        ("builtin_services", builtin_services()),
        ("project_services", project_services),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let values = ProjectValues { values, workspace };

    let mut files = Vec::with_capacity(template::TEMPLATE_FILES.len());
    for (path, text) in template::TEMPLATE_FILES {
        files.push(ProjectFile::text(
            template::output_path(path),
            template::render(path, text, &values)?,
        ));
    }
    Ok(files)
}

/// This machine's Cargo settings for the project (not committed: `.gitignore` lists the file):
/// build in the checkout's `target/`, where the libraries a project uses were compiled once
/// (`cargo build`, `cargo test` and `quickscale up` alike), with the checkout's own Cargo
/// settings, which the compiled libraries were built with.
fn cargo_config(checkout: &Checkout) -> String {
    let mut config = String::from(
        "# Written by `quickscale init` for this machine (.gitignore keeps it out of git). Builds\n\
         # (`cargo build`, `cargo test`, `quickscale up`) go to the QuickScale checkout's target\n\
         # folder, which already holds the compiled libraries this project uses, so they are not\n\
         # compiled again. Delete this file to build in ./target; CARGO_TARGET_DIR overrides it.\n",
    );
    if checkout.cargo_config.is_some() {
        // The checkout's settings (the compiled libraries were built with them), kept in step.
        let included = checkout.root.join(".cargo/config.toml");
        config.push_str(&format!(
            "include = [{{ path = {}, optional = true }}]\n",
            toml_string(&included.display().to_string())
        ));
    }
    config.push_str(&format!(
        "\n[build]\ntarget-dir = {}\n",
        toml_string(&checkout.root.join("target").display().to_string())
    ));
    config
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::from('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The app's settings that `.env.example` does not describe by hand, so that it lists every
/// setting of the QuickScale version the project is built on.
fn other_settings() -> String {
    let written = template::TEMPLATE_FILES
        .iter()
        .find(|(path, _)| *path == "_env.example")
        .map_or("", |(_, text)| *text);
    let missing: Vec<String> = quickscale_app_web::config::SETTINGS
        .iter()
        .filter(|setting| !describes(written, setting.key))
        .map(|setting| {
            format!(
                "# {}: {}\n# {}=",
                setting.key,
                setting.summary(),
                setting.key
            )
        })
        .collect();
    if missing.is_empty() {
        String::new()
    } else {
        format!("\n{}\n", missing.join("\n\n"))
    }
}

/// True when a line of `env_file` sets `key`, commented out or not.
pub fn describes(env_file: &str, key: &str) -> bool {
    env_file.lines().any(|line| {
        line.trim_start_matches('#')
            .trim_start()
            .strip_prefix(key)
            .is_some_and(|rest| rest.starts_with('='))
    })
}

/// Writes the files under `dir`; on failure removes what it created.
fn write_project(dir: &Path, files: &[ProjectFile]) -> anyhow::Result<()> {
    // The outermost folder this call creates, to remove on failure.
    let created = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .last()
        .map(Path::to_path_buf);
    let result = write_files(dir, files);
    if result.is_err() {
        match &created {
            Some(top) => {
                let _ = std::fs::remove_dir_all(top);
            }
            // The folder existed and was empty: empty it again.
            None => {
                if let Ok(entries) = std::fs::read_dir(dir) {
                    for entry in entries.flatten() {
                        let path = entry.path();
                        let _ = if path.is_dir() {
                            std::fs::remove_dir_all(&path)
                        } else {
                            std::fs::remove_file(&path)
                        };
                    }
                }
            }
        }
    }
    result
}

fn write_files(dir: &Path, files: &[ProjectFile]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create {}: {e}. Choose a folder you can write to (--path DIR). Nothing was \
             written.",
            dir.display()
        )
    })?;
    vendor::write_files(dir, files).map_err(|e| anyhow::anyhow!("{e}. Nothing was left behind."))
}

fn print_next_steps(options: &InitOptions, dir: &Path, checkout: Option<&Checkout>) {
    let name = &options.name;
    let database = match options.db {
        Db::Sqlite => "SQLite (data/app.db, created on first start)",
        Db::Postgres => "PostgreSQL (DATABASE_URL in .env)",
    };
    println!("Created {name} in {}", dir.display());
    println!("  database:   {database}");
    println!(
        "  QuickScale: {} in {VENDOR_DIR}/ (the project builds without a QuickScale checkout)",
        vendor::VERSION
    );
    if let Some(checkout) = checkout {
        println!(
            "  builds:     in {}/target, which holds the compiled libraries already",
            checkout.root.display()
        );
    }
    println!();
    println!("Next:");
    println!("  cd {}", shell_word(&dir.display().to_string()));
    if options.db == Db::Postgres {
        println!(
            "  docker compose up -d db     # or any PostgreSQL with a database {}",
            name.crate_name()
        );
    }
    println!("  quickscale up");
    println!();
    println!(
        "Then open http://127.0.0.1:8000 and sign in with the admin email and password that \
         `quickscale up` prints. README.md explains the rest."
    );
}

/// Quotes a path for the shell when it needs it.
fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_renders() {
        let checkout = Checkout::locate(None).unwrap();
        let name = ProjectName::parse("demo-app").unwrap();
        for db in [Db::Sqlite, Db::Postgres] {
            let files = render_project(&name, db, Some(&checkout), &"ab".repeat(32)).unwrap();
            let env = files
                .iter()
                .find(|f| f.path == Path::new(".env"))
                .unwrap()
                .as_text();
            assert!(env.contains(&format!("SECRET_KEY={}", "ab".repeat(32))));
            assert_eq!(
                env.contains("DATABASE_URL=postgres://postgres:postgres@localhost:5432/demo_app"),
                db == Db::Postgres
            );
        }
    }

    #[test]
    fn the_cargo_config_names_the_checkouts_target_whatever_its_path() {
        let mut checkout = Checkout::locate(None).unwrap();
        checkout.root = PathBuf::from("/odd \"dir\"\\with\ttab");
        for existing in [None, Some(String::from("[build]\nrustflags = []\n"))] {
            checkout.cargo_config = existing.clone();
            let config: toml::Table = toml::from_str(&cargo_config(&checkout)).unwrap();
            assert_eq!(
                config["build"]["target-dir"].as_str(),
                Some("/odd \"dir\"\\with\ttab/target")
            );
            assert_eq!(config.contains_key("include"), existing.is_some());
        }
    }

    #[test]
    fn secret_keys_are_fresh() {
        let key = new_secret_key();
        assert_eq!(key.len(), 64);
        assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(key, new_secret_key());
    }
}
