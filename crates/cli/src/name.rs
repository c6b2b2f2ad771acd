//! Project names: what `quickscale init NAME` accepts.

use std::fmt;

/// Rust keywords, strict and reserved for the future: neither a crate nor a module can use them.
pub const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Besides the keywords, names that would clash with the standard crates, Cargo's own folders,
/// the crates a project depends on, or QuickScale.
const RESERVED: &[&str] = &[
    // The standard crates and Cargo's names.
    "alloc",
    "core",
    "proc-macro",
    "std",
    "test",
    "build",
    "deps",
    "examples",
    "incremental",
    "src",
    "target",
    "tests",
    "benches",
    // Windows device names.
    "con",
    "prn",
    "aux",
    "nul",
    "com1",
    "com2",
    "com3",
    "com4",
    "lpt1",
    "lpt2",
    "lpt3",
    // The crates a generated project uses.
    "async-trait",
    "axum",
    "serde",
    "serde-json",
    "tokio",
    "tower",
    // Ours.
    "quickscale",
    "app",
    "services",
];

const MIN_LEN: usize = 2;
const MAX_LEN: usize = 50;

/// A valid project name: lowercase letters, digits and hyphens, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName(String);

/// Why a name was refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    name: String,
    reason: String,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a valid project name: {}. A name uses lowercase letters, digits and \
             hyphens, starts with a letter and has {MIN_LEN} to {MAX_LEN} characters, for \
             example my-saas-app.",
            self.name, self.reason
        )
    }
}

impl std::error::Error for NameError {}

impl ProjectName {
    pub fn parse(name: &str) -> Result<Self, NameError> {
        let refuse = |reason: String| NameError {
            name: name.to_owned(),
            reason,
        };
        check_shape(name, '-', (MIN_LEN, MAX_LEN), || suggestion(name)).map_err(refuse)?;
        if RUST_KEYWORDS.contains(&name)
            || RESERVED.contains(&name)
            || name.starts_with("quickscale-")
        {
            return Err(refuse(format!(
                "{name:?} is reserved (a Rust keyword, a standard crate, a folder Cargo uses, or a \
                 crate the project depends on)"
            )));
        }
        Ok(ProjectName(name.to_owned()))
    }

    /// The package and binary name, as typed: `my-saas-app`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Rust crate name: `my_saas_app`.
    pub fn crate_name(&self) -> String {
        self.0.replace('-', "_")
    }

    /// The product name shown in pages: `My Saas App`.
    pub fn display_name(&self) -> String {
        self.0
            .split('-')
            .map(|word| {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The shape project and service names share: `min` to `max` characters, lowercase ASCII
/// letters, digits and single `separator`s, starting with a letter and not ending with a
/// separator. Returns why `name` is not of that shape, with `suggest`'s fix when a character is
/// wrong.
pub(crate) fn check_shape(
    name: &str,
    separator: char,
    (min, max): (usize, usize),
    suggest: impl FnOnce() -> Option<String>,
) -> Result<(), String> {
    let describe = |c: char| match c {
        '-' => ("a hyphen", "hyphens"),
        _ => ("an underscore", "underscores"),
    };
    let length = name.chars().count();
    if length < min {
        return Err(format!("it is shorter than {min} characters"));
    }
    if length > max {
        return Err(format!("it has {length} characters, more than {max}"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == separator))
    {
        let what = if bad.is_uppercase() {
            format!("the capital letter {bad:?}")
        } else if bad == '-' || bad == '_' {
            describe(bad).0.to_owned()
        } else if bad.is_whitespace() {
            "a space".to_owned()
        } else {
            format!("the character {bad:?}")
        };
        return Err(match suggest() {
            Some(better) => format!("it contains {what} (try {better:?})"),
            None => format!("it contains {what}"),
        });
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("it does not start with a letter".to_owned());
    }
    let (one, several) = describe(separator);
    if name.ends_with(separator) {
        return Err(format!("it ends with {one}"));
    }
    if name.contains(&format!("{separator}{separator}")) {
        return Err(format!("it has two {several} in a row"));
    }
    Ok(())
}

/// A valid name close to `name`, if there is one: lower case, hyphens for the rest.
fn suggestion(name: &str) -> Option<String> {
    let mut better = String::new();
    for c in name.trim().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            better.push(c);
        } else if !better.is_empty() && !better.ends_with('-') {
            better.push('-');
        }
    }
    let better = better.trim_end_matches('-').to_owned();
    (better != name && ProjectName::parse(&better).is_ok()).then_some(better)
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names_and_derives_the_others() {
        let name = ProjectName::parse("my-saas-app2").unwrap();
        assert_eq!(name.crate_name(), "my_saas_app2");
        assert_eq!(name.display_name(), "My Saas App2");
        assert!(ProjectName::parse("ab").is_ok());
        assert!(ProjectName::parse(&"a".repeat(50)).is_ok());
    }

    #[test]
    fn refuses_with_a_reason_the_user_can_act_on() {
        let cases = [
            ("a", "shorter than 2"),
            (&*"a".repeat(51), "51 characters"),
            ("MyApp", "capital letter 'M' (try \"myapp\")"),
            ("My_App", "capital letter 'M' (try \"my-app\")"),
            ("my_app", "underscore (try \"my-app\")"),
            ("my app", "a space (try \"my-app\")"),
            ("my$app", "the character '$' (try \"my-app\")"),
            ("café", "the character 'é'"),
            ("1app", "does not start with a letter"),
            ("-app", "does not start with a letter"),
            ("app-", "ends with a hyphen"),
            ("my--app", "two hyphens"),
            ("test", "reserved"),
            ("core", "reserved"),
            ("std", "reserved"),
            ("fn", "reserved"),
            ("target", "reserved"),
            ("quickscale", "reserved"),
            ("quickscale-app-web", "reserved"),
            ("tokio", "reserved"),
        ];
        for (name, reason) in cases {
            let error = ProjectName::parse(name).expect_err(name).to_string();
            assert!(error.contains(reason), "{name}: {error}");
            assert!(error.contains("for example my-saas-app"), "{error}");
        }
    }
}
