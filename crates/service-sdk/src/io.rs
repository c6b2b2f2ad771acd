//! Service inputs and outputs.

use serde::{Deserialize, Serialize};

use crate::{InputKind, ServiceDescriptor};

/// A file a user uploaded.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedFile {
    /// The name the browser sent; informative only, never used as a path.
    pub filename: String,
    /// The type the browser declared; checked against the service's accepted types, while the
    /// service still reads the bytes for what they really are.
    pub content_type: String,
    /// The file's content.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for UploadedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadedFile")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("size", &self.bytes.len())
            .finish()
    }
}

/// What a user gives a service (serialisable, so that a background run's job carries it).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum ServiceInput {
    /// Text from a text area or the API.
    Text(String),
    /// A parsed JSON document.
    Json(serde_json::Value),
    /// An uploaded file.
    File(UploadedFile),
}

/// Why an input was refused before anything was charged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The input is not of the service's [`InputKind`].
    #[error("this service needs {expected} input")]
    WrongKind {
        /// The kind the service takes, as a word (`text`, `JSON`, `a file`).
        expected: &'static str,
    },
    /// Nothing (or only white space) was given.
    #[error("the input is empty")]
    Empty,
    /// Larger than the service's input limit.
    #[error("the input is {size} bytes; this service accepts at most {max}")]
    TooLarge {
        /// The input's size, in bytes.
        size: usize,
        /// The service's limit, in bytes.
        max: usize,
    },
    /// A file of a type the service does not accept; holds the declared type.
    #[error("files of type {0} are not accepted here")]
    ContentType(String),
    /// The service's own check refused the input; holds its message for the user.
    #[error("{0}")]
    Invalid(String),
}

impl ServiceInput {
    /// The size that counts against the service's input limit.
    pub fn size(&self) -> usize {
        match self {
            ServiceInput::Text(text) => text.len(),
            ServiceInput::Json(value) => value.to_string().len(),
            ServiceInput::File(file) => file.bytes.len(),
        }
    }

    /// Which kind of input this is.
    pub fn kind(&self) -> InputKind {
        match self {
            ServiceInput::Text(_) => InputKind::Text,
            ServiceInput::Json(_) => InputKind::Json,
            ServiceInput::File(_) => InputKind::File,
        }
    }

    /// The checks every service gets for free: kind, emptiness, size and content type.
    pub fn check_against(&self, descriptor: &ServiceDescriptor) -> Result<(), InputError> {
        if self.kind() != descriptor.input {
            return Err(InputError::WrongKind {
                expected: match descriptor.input {
                    InputKind::Text => "text",
                    InputKind::Json => "JSON",
                    InputKind::File => "a file",
                },
            });
        }
        let empty = match self {
            ServiceInput::Text(text) => text.trim().is_empty(),
            ServiceInput::Json(value) => value.is_null(),
            ServiceInput::File(file) => file.bytes.is_empty(),
        };
        if empty {
            return Err(InputError::Empty);
        }
        let size = self.size();
        if size > descriptor.max_input_bytes {
            return Err(InputError::TooLarge {
                size,
                max: descriptor.max_input_bytes,
            });
        }
        if let (ServiceInput::Json(value), Some(schema)) = (self, &descriptor.input_schema) {
            // The registry checked that the schema compiles.
            let validator = jsonschema::validator_for(schema)
                .map_err(|e| InputError::Invalid(format!("the service's input schema: {e}")))?;
            if let Some(error) = validator.iter_errors(value).next() {
                let at = error.instance_path().to_string();
                let at = if at.is_empty() {
                    "the input".to_owned()
                } else {
                    format!("input{at}")
                };
                return Err(InputError::Invalid(format!("{at}: {error}")));
            }
        }
        if let ServiceInput::File(file) = self
            && !descriptor
                .accepted_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&file.content_type))
        {
            return Err(InputError::ContentType(file.content_type.clone()));
        }
        Ok(())
    }

    /// The text of a text input; `None` for JSON and files.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ServiceInput::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// A labelled value in a result.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Field {
    /// What the value is ("Words").
    pub label: String,
    /// The value as shown ("42").
    pub value: String,
}

/// A table in a result.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, Default)]
pub struct Table {
    /// The column headings.
    pub columns: Vec<String>,
    /// The rows, each with one cell per column.
    pub rows: Vec<Vec<String>>,
}

/// What a service returns: a one-line summary, labelled values, an optional table, and the
/// full data as JSON (which the API returns as is).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, Default)]
pub struct ServiceOutput {
    /// One line a person reads first ("Positive (82% confidence)").
    pub summary: String,
    /// Labelled values shown under the summary.
    pub fields: Vec<Field>,
    /// A table shown under the fields.
    pub table: Option<Table>,
    /// Everything, for programs: the API returns it as is.
    pub data: serde_json::Value,
}

/// `text` with each NUL character (U+0000) replaced by U+FFFD: PostgreSQL stores no NUL in text
/// or JSON, and a service's output often repeats its input.
pub fn without_nul(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

fn value_without_nul(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(without_nul(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(value_without_nul).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, value)| (without_nul(&name), value_without_nul(value)))
                .collect(),
        ),
        other => other,
    }
}

impl ServiceOutput {
    /// The same output with no NUL character anywhere, so every store can keep it.
    pub fn without_nul(self) -> Self {
        let text = |t: String| without_nul(&t);
        ServiceOutput {
            summary: text(self.summary),
            fields: self
                .fields
                .into_iter()
                .map(|f| Field {
                    label: text(f.label),
                    value: text(f.value),
                })
                .collect(),
            table: self.table.map(|t| Table {
                columns: t.columns.into_iter().map(text).collect(),
                rows: t
                    .rows
                    .into_iter()
                    .map(|row| row.into_iter().map(text).collect())
                    .collect(),
            }),
            data: value_without_nul(self.data),
        }
    }

    /// An output with a summary and nothing else; add to it with the methods below.
    pub fn new(summary: impl Into<String>) -> Self {
        ServiceOutput {
            summary: summary.into(),
            ..Self::default()
        }
    }

    /// Adds a labelled value.
    pub fn field(mut self, label: impl Into<String>, value: impl ToString) -> Self {
        self.fields.push(Field {
            label: label.into(),
            value: value.to_string(),
        });
        self
    }

    /// Sets the table.
    pub fn table(mut self, columns: &[&str], rows: Vec<Vec<String>>) -> Self {
        self.table = Some(Table {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows,
        });
        self
    }

    /// Sets the data the API returns.
    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_lose_their_nul_characters_everywhere() {
        let nul = "a\0b";
        let output = ServiceOutput {
            summary: nul.into(),
            fields: vec![Field {
                label: nul.into(),
                value: nul.into(),
            }],
            table: Some(Table {
                columns: vec![nul.into()],
                rows: vec![vec![nul.into()]],
            }),
            data: serde_json::json!({ nul: [nul, 1, null, { "k": nul }] }),
        }
        .without_nul();
        let text = serde_json::to_string(&output).unwrap();
        assert!(!text.contains("\\u0000"), "{text}");
        assert_eq!(output.summary, "a\u{FFFD}b");
        assert_eq!(
            output.data,
            serde_json::json!({ "a\u{FFFD}b": ["a\u{FFFD}b", 1, null, { "k": "a\u{FFFD}b" }] })
        );
    }
}
