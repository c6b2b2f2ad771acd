//! Service inputs and outputs.

use serde::{Deserialize, Serialize};

use crate::{InputKind, ServiceDescriptor};

/// A file a user uploaded.
#[derive(Clone, PartialEq, Eq)]
pub struct UploadedFile {
    pub filename: String,
    pub content_type: String,
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

/// What a user gives a service.
#[derive(Clone, PartialEq, Debug)]
pub enum ServiceInput {
    Text(String),
    Json(serde_json::Value),
    File(UploadedFile),
}

/// Why an input was refused before anything was charged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("this service needs {expected} input")]
    WrongKind { expected: &'static str },
    #[error("the input is empty")]
    Empty,
    #[error("the input is {size} bytes; this service accepts at most {max}")]
    TooLarge { size: usize, max: usize },
    #[error("files of type {0} are not accepted here")]
    ContentType(String),
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
    pub label: String,
    pub value: String,
}

/// A table in a result.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// What a service returns: a one-line summary, labelled values, an optional table, and the
/// full data as JSON (which the API returns as is).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, Default)]
pub struct ServiceOutput {
    pub summary: String,
    pub fields: Vec<Field>,
    pub table: Option<Table>,
    pub data: serde_json::Value,
}

impl ServiceOutput {
    pub fn new(summary: impl Into<String>) -> Self {
        ServiceOutput {
            summary: summary.into(),
            ..Self::default()
        }
    }

    pub fn field(mut self, label: impl Into<String>, value: impl ToString) -> Self {
        self.fields.push(Field {
            label: label.into(),
            value: value.to_string(),
        });
        self
    }

    pub fn table(mut self, columns: &[&str], rows: Vec<Vec<String>>) -> Self {
        self.table = Some(Table {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows,
        });
        self
    }

    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}
