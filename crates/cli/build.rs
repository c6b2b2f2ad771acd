//! Embeds `project-template/` in the binary, and lists the web app's embedded templates and
//! static files (the generated project's READMEs name them as the files that can be overridden).

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

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out_dir.join("embedded.rs"), out).expect("writing embedded.rs");
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
