//! The raw values by key, each with where it came from (the environment, `.env`,
//! `quickscale.toml`, explicit pairs), and the readers that turn one into a typed value through
//! its row of the settings table: its type, allowed range and default.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use super::ConfigError;
use super::settings::{Fallback, Kind, SETTINGS, Setting, setting};

/// Raw values by key, each with where it came from.
#[derive(Debug, Default)]
pub(super) struct Sources(BTreeMap<String, (String, String)>);

impl Sources {
    pub(super) fn set(&mut self, key: &str, value: String, source: &str) {
        self.0.insert(key.to_owned(), (value, source.to_owned()));
    }

    /// The value that was set (not empty), trimmed, and where it came from.
    pub(super) fn get(&self, key: &str) -> Option<(&str, &str)> {
        // Only the table's keys are read from the environment and accepted in quickscale.toml.
        debug_assert!(
            setting(key).is_some(),
            "{key} is read but missing from config::SETTINGS"
        );
        self.0
            .get(key)
            .filter(|(value, _)| !value.trim().is_empty())
            .map(|(value, source)| (value.trim(), source.as_str()))
    }

    /// An error about `key`, naming where its value came from.
    pub(super) fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let source = self.0.get(key).map_or("default", |(_, s)| s.as_str());
        ConfigError {
            key: key.to_owned(),
            origin: source.to_owned(),
            message: message.into(),
        }
    }

    /// The row of `key`; a key missing from the table is refused like a bad value.
    fn row(&self, key: &str) -> Result<&'static Setting, ConfigError> {
        setting(key).ok_or_else(|| self.error(key, "is not in the settings table"))
    }

    /// The value that was set, or else the table's default value (`None` when the default is
    /// worked out by the caller, or there is none).
    pub(super) fn value(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some((value, _)) => Some(value),
            None => match setting(key)?.default {
                Fallback::Value(default) => Some(default),
                Fallback::Derived(_) | Fallback::Unset | Fallback::Required => None,
            },
        }
    }

    /// The value, or else the table's default value, or else `derived`.
    pub(super) fn text_or(&self, key: &str, derived: &str) -> String {
        self.value(key).unwrap_or(derived).to_owned()
    }

    /// The value or the table's default; an error when neither exists.
    fn present(&self, key: &str) -> Result<&str, ConfigError> {
        self.value(key)
            .ok_or_else(|| self.error(key, "is not set and has no default"))
    }

    /// A whole number within the row's range.
    pub(super) fn integer<T: TryFrom<i64>>(&self, key: &str) -> Result<T, ConfigError> {
        let value = self.present(key)?;
        self.checked_integer(key, value, None)
    }

    /// A whole number within the row's range, or `derived` when unset.
    pub(super) fn integer_or<T: TryFrom<i64>>(
        &self,
        key: &str,
        derived: T,
    ) -> Result<T, ConfigError> {
        match self.value(key) {
            Some(value) => self.checked_integer(key, value, None),
            None => Ok(derived),
        }
    }

    /// A whole number within the row's range, whose lower bound (and default) is at least
    /// `floor`, the value of the row's `at_least` setting.
    pub(super) fn integer_at_least<T: TryFrom<i64>>(
        &self,
        key: &str,
        floor: i64,
    ) -> Result<T, ConfigError> {
        match self.get(key) {
            Some((value, _)) => self.checked_integer(key, value, Some(floor)),
            None => {
                let default: i64 = self.checked_integer(key, self.present(key)?, None)?;
                self.checked_integer(key, &default.max(floor).to_string(), Some(floor))
            }
        }
    }

    fn checked_integer<T: TryFrom<i64>>(
        &self,
        key: &str,
        value: &str,
        floor: Option<i64>,
    ) -> Result<T, ConfigError> {
        let Kind::Integer(unit, range) = self.row(key)?.kind else {
            return Err(self.error(key, "is not a number in the settings table"));
        };
        let min = floor.map_or(range.min, |floor| floor.max(range.min));
        value
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=range.max).contains(n))
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| {
                self.error(
                    key,
                    format!(
                        "expected {} from {}, got {value:?}",
                        unit.noun(),
                        range.describe()
                    ),
                )
            })
    }

    /// True or false (also 1/0, yes/no, on/off).
    pub(super) fn flag(&self, key: &str) -> Result<bool, ConfigError> {
        let value = self.present(key)?.to_ascii_lowercase();
        if ["1", "true", "yes", "on"].contains(&value.as_str()) {
            Ok(true)
        } else if ["0", "false", "no", "off"].contains(&value.as_str()) {
            Ok(false)
        } else {
            Err(self.error(key, format!("expected true or false, got {value:?}")))
        }
    }

    /// One of the row's words, as the type it names. A word the type does not read is an
    /// error too (the table and the type disagree).
    pub(super) fn choice<T: FromStr>(&self, key: &str) -> Result<T, ConfigError> {
        let Kind::Choice(words) = self.row(key)?.kind else {
            return Err(self.error(key, "is not a choice in the settings table"));
        };
        let value = self.present(key)?;
        words
            .contains(&value)
            .then(|| value.parse::<T>().ok())
            .flatten()
            .ok_or_else(|| self.error(key, format!("expected {}, got {value:?}", one_of(words))))
    }

    /// A value of a type that parses itself (an IP address).
    pub(super) fn parsed<T: FromStr>(&self, key: &str, what: &str) -> Result<T, ConfigError> {
        let value = self.present(key)?;
        value
            .parse::<T>()
            .map_err(|_| self.error(key, format!("expected {what}, got {value:?}")))
    }
}

/// "a, b or c".
fn one_of(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Reads the process environment: the table's keys only.
pub(super) fn read_environment(sources: &mut Sources) {
    for setting in SETTINGS {
        if let Ok(value) = std::env::var(setting.key) {
            sources.set(setting.key, value, "environment");
        }
    }
}

/// Reads `.env`. A line it cannot read is reported like any bad setting: the key, the line, and
/// how to write it.
pub(super) fn read_dotenv(path: &Path, sources: &mut Sources) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        key: ".env".into(),
        origin: path.display().to_string(),
        message: e.to_string(),
    })?;
    let lines: Vec<&str> = text.lines().collect();
    // The index of the line after the last entry read: where an error is looked for.
    let mut next_line = 0;
    for entry in dotenvy::from_read_iter(text.as_bytes()) {
        match entry {
            Ok((key, value)) => {
                if let Some(at) = (next_line..lines.len()).find(|&i| defines(lines[i], &key)) {
                    next_line = at + 1;
                }
                sources.set(&key, value, ".env");
            }
            Err(dotenvy::Error::LineParse(fragment, _)) => {
                return Err(dotenv_line_error(&lines, next_line, &fragment));
            }
            Err(error) => {
                return Err(ConfigError {
                    key: ".env".into(),
                    origin: path.display().to_string(),
                    message: error.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Whether a `.env` line sets `key` (`KEY=...`, `export KEY=...`).
fn defines(line: &str, key: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").map_or(line, str::trim_start);
    line.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

/// The error for the first line at or after `from` that holds `fragment` (the part of the line
/// the parser stopped at).
fn dotenv_line_error(lines: &[&str], from: usize, fragment: &str) -> ConfigError {
    let wanted = fragment.lines().next().unwrap_or_default().trim();
    let index = (from..lines.len())
        .find(|&i| {
            let line = lines[i].trim();
            !line.is_empty() && !line.starts_with('#') && line.contains(wanted)
        })
        .unwrap_or(from.min(lines.len().saturating_sub(1)));
    let line = lines.get(index).copied().unwrap_or_default().trim();
    let origin = format!(".env line {}", index + 1);
    let assignment = line.strip_prefix("export ").map_or(line, str::trim_start);
    let Some((key, value)) = assignment
        .split_once('=')
        .map(|(k, v)| (k.trim(), v.trim()))
    else {
        return ConfigError {
            key: ".env".into(),
            origin,
            message: format!("expected KEY=value, got {line:?} (a comment starts with #)"),
        };
    };
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return ConfigError {
            key: ".env".into(),
            origin,
            message: format!("{key:?} is not a setting name (letters, digits and _ only)"),
        };
    }
    let message = match value.chars().next() {
        Some(quote @ ('"' | '\'')) if value.matches(quote).count() < 2 => format!(
            "the value opens a {quote} quote and does not close it; end it with {quote} on the \
             same line"
        ),
        Some('"' | '\'') => format!(
            "cannot read the value {value}; after the closing quote only a # comment may follow"
        ),
        _ => {
            let meant = value.split(" #").next().unwrap_or(value).trim_end();
            let why = if meant.contains([' ', '\t']) {
                "the value has spaces"
            } else {
                "the value has characters .env reads specially"
            };
            format!("{why}, so it needs quotes: {key}={}", quoted(meant))
        }
    };
    ConfigError {
        key: key.to_owned(),
        origin,
        message,
    }
}

/// `value` quoted for `.env` so it reads back as written: double quotes, or single quotes
/// (which keep every character but a single quote) when it has `"`, `\\` or `$`, or double
/// quotes with those escaped when it has a single quote too.
fn quoted(value: &str) -> String {
    let special = value.contains(['"', '\\', '$']);
    if !special {
        return format!("\"{value}\"");
    }
    if !value.contains('\'') {
        return format!("'{value}'");
    }
    let mut out = String::from('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

pub(super) fn read_toml(path: &Path, sources: &mut Sources) -> Result<(), ConfigError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        key: "quickscale.toml".into(),
        origin: source.clone(),
        message: e.to_string(),
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError {
        key: "quickscale.toml".into(),
        origin: source.clone(),
        message: e.to_string(),
    })?;
    for (key, value) in table {
        let upper = key.to_ascii_uppercase();
        if setting(&upper).is_none() {
            return Err(ConfigError {
                key,
                origin: "quickscale.toml".into(),
                message: "is not a known configuration key".into(),
            });
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(ConfigError {
                    key,
                    origin: "quickscale.toml".into(),
                    message: format!(
                        "expected a string, number or boolean, got {}",
                        other.type_str()
                    ),
                });
            }
        };
        sources.set(&upper, text, "quickscale.toml");
    }
    Ok(())
}
