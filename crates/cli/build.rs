//! Embeds `project-template/` in the binary, lists the web app's embedded templates and static
//! files (the generated project's READMEs name them as the files that can be overridden), and
//! embeds the QuickScale crates a project vendors (`vendor/quickscale/`), with their modification
//! times, plus the workspace's manifest, lock file and CHANGELOG.md.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// A build script cannot use its own crate: it shares the crate's walker by path.
#[path = "src/walk.rs"]
mod walk;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir.join("../..");
    let template = root.join("project-template");
    let app_templates = root.join("crates/app-web/templates");
    let app_static = root.join("crates/app-web/static");
    for dir in [&template, &app_templates, &app_static] {
        // A directory here makes cargo rerun this script when any file under it changes,
        // including files added or removed.
        println!("cargo:rerun-if-changed={}", dir.display());
    }

    let mut out = String::new();
    out.push_str("/// The files of `project-template/`: path relative to it, then content.\n");
    out.push_str("pub const TEMPLATE_FILES: &[(&str, &str)] = &[\n");
    for path in files_under(&template) {
        let relative = relative_name(&template, &path);
        let absolute = path.canonicalize().expect("a template file");
        writeln!(
            out,
            "    ({relative:?}, include_str!({:?})),",
            absolute.display().to_string()
        )
        .expect("writing to a string");
    }
    out.push_str("];\n\n");
    for (name, dir) in [
        ("APP_TEMPLATES", &app_templates),
        ("APP_STATIC", &app_static),
    ] {
        writeln!(out, "pub const {name}: &[&str] = &[").expect("writing to a string");
        for path in files_under(dir) {
            writeln!(out, "    {:?},", relative_name(dir, &path)).expect("writing to a string");
        }
        out.push_str("];\n\n");
    }

    out.push_str(
        "/// The files `quickscale init` vendors: path relative to the QuickScale workspace, \
         content, modification time (seconds since the epoch).\n",
    );
    out.push_str("pub const QUICKSCALE_FILES: &[(&str, &[u8], u64)] = &[\n");
    for name in VENDORED_CRATES {
        let dir = root.join("crates").join(name);
        println!("cargo:rerun-if-changed={}", dir.display());
        for path in files_under(&dir) {
            let relative = relative_name(&dir, &path);
            if relative
                .split('/')
                .next()
                .is_some_and(|first| SKIPPED.contains(&first))
            {
                continue;
            }
            write_vendored(&mut out, &format!("crates/{name}/{relative}"), &path);
        }
    }
    for file in ["Cargo.toml", "Cargo.lock", "CHANGELOG.md", "LICENSE"] {
        let path = root.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_file() {
            write_vendored(&mut out, file, &path);
        }
    }
    out.push_str("];\n\n");
    writeln!(
        out,
        "pub const VENDORED_CRATES: &[&str] = &{VENDORED_CRATES:?};"
    )
    .expect("writing to a string");

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out_dir.join("embedded.rs"), out).expect("writing embedded.rs");
}

/// The crates a generated project builds on (the web app and everything it depends on), in the
/// order of their dependencies.
const VENDORED_CRATES: &[&str] = &[
    "domain-kernel",
    "domain-identity",
    "domain-credits",
    "domain-billing",
    "service-sdk",
    "stripe-fake",
    "adapters",
    "app-web",
];

/// Folders of a crate a project does not need: its tests (Cargo finds none missing: none is
/// declared in a manifest) and their recorded failures.
const SKIPPED: &[&str] = &["tests", "proptest-regressions", "target"];

fn write_vendored(out: &mut String, name: &str, path: &Path) {
    let absolute = path.canonicalize().expect("a vendored file");
    let modified = std::fs::metadata(&absolute)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    writeln!(
        out,
        "    ({name:?}, include_bytes!({:?}), {modified}),",
        absolute.display().to_string()
    )
    .expect("writing to a string");
}

/// Every file under `dir`, sorted, skipping editor and OS litter.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    walk::files_under(dir)
        .expect("the folders to embed are readable")
        .into_iter()
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            !(name == ".DS_Store" || name.ends_with('~') || name.ends_with(".swp"))
        })
        .collect()
}

fn relative_name(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .expect("under the root")
        .to_string_lossy()
        .replace('\\', "/")
}
