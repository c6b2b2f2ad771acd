//! The project template, embedded from `project-template/` at build time, and its rendering.
//!
//! File names: a leading `_` stands for a leading `.` (`_env` is `.env`, `_gitignore` is
//! `.gitignore`: real dot files would act on the QuickScale repository itself), and a trailing
//! `.tmpl` is dropped (`Cargo.toml.tmpl` is `Cargo.toml`, so that Cargo does not take the
//! template folder for a package).
//!
//! Placeholders are `{{key}}`, with no spaces inside the braces (so Tera's `{{ name }}` in the
//! templates' documentation is left alone). `{{dep:CRATE}}` is the workspace's specification of
//! that dependency. An unknown key is an error, so a typo cannot reach a generated project.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::bail;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

pub use embedded::{APP_STATIC, APP_TEMPLATES, QUICKSCALE_FILES, TEMPLATE_FILES, VENDORED_CRATES};

/// The path a template file is written to in the project.
pub fn output_path(template_path: &str) -> PathBuf {
    let mut path = PathBuf::new();
    let parts: Vec<&str> = template_path.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            let name = part.strip_suffix(".tmpl").unwrap_or(part);
            let name = match name.strip_prefix('_') {
                Some(rest) => format!(".{rest}"),
                None => name.to_owned(),
            };
            path.push(name);
        } else {
            path.push(part);
        }
    }
    path
}

/// Values for the placeholders, and the dependency specifications behind `{{dep:CRATE}}`.
pub trait Values {
    fn value(&self, key: &str) -> anyhow::Result<Option<String>>;
}

impl Values for BTreeMap<String, String> {
    fn value(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self.get(key).cloned())
    }
}

/// Replaces every `{{key}}` in `text`.
pub fn render(file: &str, text: &str, values: &impl Values) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let key = after.find("}}").map(|end| &after[..end]);
        match key {
            Some(key) if is_placeholder(key) => {
                match values.value(key)? {
                    Some(value) => out.push_str(&value),
                    None => bail!("{file}: unknown placeholder {{{{{key}}}}}"),
                }
                rest = &after[key.len() + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_placeholder(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_:-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<String, String> {
        [("name", "demo"), ("dep:serde_json", "\"=1\"")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn replaces_placeholders_and_leaves_tera_alone() {
        let text = "{{name}} uses serde_json = {{dep:serde_json}}; {{ app_name }} {% x %} {{";
        assert_eq!(
            render("f", text, &values()).unwrap(),
            "demo uses serde_json = \"=1\"; {{ app_name }} {% x %} {{"
        );
        let error = render("Cargo.toml", "{{nmae}}", &values()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Cargo.toml: unknown placeholder {{nmae}}"
        );
    }

    #[test]
    fn names_dot_files_and_templates() {
        assert_eq!(output_path("_env"), PathBuf::from(".env"));
        assert_eq!(output_path("_env.example"), PathBuf::from(".env.example"));
        assert_eq!(output_path("Cargo.toml.tmpl"), PathBuf::from("Cargo.toml"));
        assert_eq!(
            output_path("src/services/mod.rs"),
            PathBuf::from("src/services/mod.rs")
        );
    }

    #[test]
    fn the_template_is_embedded() {
        let names: Vec<&str> = TEMPLATE_FILES.iter().map(|(n, _)| *n).collect();
        for expected in ["Cargo.toml.tmpl", "src/main.rs", "_env", "README.md"] {
            assert!(names.contains(&expected), "{expected} in {names:?}");
        }
        assert!(APP_TEMPLATES.contains(&"pages/home.html"));
        assert!(APP_STATIC.contains(&"css/app.css"));
    }
}
