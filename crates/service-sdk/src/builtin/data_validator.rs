//! `data_validator`: checks JSON records or CSV rows against a JSON Schema and reports every
//! failing row and field.
//!
//! Input is a JSON object: `{"schema": {...}, "data": [...]}` or `{"schema": {...}, "csv": "..."}`.
//! CSV cells are typed by the schema's `properties` (numbers, integers and booleans are parsed;
//! empty cells are left out so `required` catches them).

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::{
    InputError, InputKind, Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput,
};

const MAX_ROWS: usize = 10_000;
const MAX_REPORTED: usize = 500;

/// One problem in one row.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct RowError {
    /// 1-based record number (for CSV, the line number in the file, the header being line 1).
    pub row: usize,
    /// The field (JSON pointer inside the record; `/` for the record itself).
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

/// The outcome of a validation.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Report {
    /// Records checked.
    pub rows: usize,
    /// Records that match the schema.
    pub valid_rows: usize,
    /// Records with at least one error.
    pub invalid_rows: usize,
    /// The errors found, in record order, at most 500.
    pub errors: Vec<RowError>,
    /// True when more errors were found than reported.
    pub truncated: bool,
}

/// A request that cannot be validated at all (bad schema, bad CSV, wrong shape).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(String);

/// The records to check and how their rows are numbered.
fn records(request: &Value, schema: &Value) -> Result<(Vec<Value>, usize), BadRequest> {
    if let Some(data) = request.get("data") {
        let records = match data {
            Value::Array(items) => items.clone(),
            single => vec![single.clone()],
        };
        return Ok((records, 1));
    }
    if let Some(csv_text) = request.get("csv") {
        let text = csv_text
            .as_str()
            .ok_or_else(|| BadRequest("\"csv\" must be a string".into()))?;
        return Ok((csv_records(text, schema)?, 2));
    }
    Err(BadRequest(
        "give the records to check as \"data\" (JSON) or \"csv\" (text)".into(),
    ))
}

fn csv_records(text: &str, schema: &Value) -> Result<Vec<Value>, BadRequest> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| BadRequest(format!("the CSV header could not be read: {e}")))?
        .clone();
    let properties = schema.get("properties").and_then(Value::as_object);
    let mut records = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| BadRequest(format!("CSV line {}: {e}", i + 2)))?;
        let mut record = Map::new();
        for (name, cell) in headers.iter().zip(row.iter()) {
            if cell.is_empty() {
                continue;
            }
            let wanted = properties
                .and_then(|p| p.get(name))
                .and_then(|p| p.get("type"))
                .and_then(Value::as_str);
            record.insert(name.to_owned(), typed(cell, wanted));
        }
        records.push(Value::Object(record));
    }
    Ok(records)
}

/// A CSV cell as the schema expects it, or as a string when it does not parse (so the schema
/// reports the type error).
fn typed(cell: &str, wanted: Option<&str>) -> Value {
    match wanted {
        Some("integer") => cell
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| json!(cell)),
        Some("number") => cell
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| json!(cell), Value::Number),
        Some("boolean") => match cell.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => json!(true),
            "false" | "no" | "0" => json!(false),
            _ => json!(cell),
        },
        _ => json!(cell),
    }
}

/// Validates the request's records against its schema.
pub fn validate(request: &Value) -> Result<Report, BadRequest> {
    let schema = request
        .get("schema")
        .ok_or_else(|| BadRequest("the input needs a \"schema\"".into()))?;
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| BadRequest(format!("the schema is not valid: {e}")))?;
    let (records, first_row) = records(request, schema)?;
    if records.len() > MAX_ROWS {
        return Err(BadRequest(format!(
            "at most {MAX_ROWS} records can be checked at once"
        )));
    }
    let mut report = Report {
        rows: records.len(),
        valid_rows: 0,
        invalid_rows: 0,
        errors: Vec::new(),
        truncated: false,
    };
    for (i, record) in records.iter().enumerate() {
        let mut valid = true;
        for error in validator.iter_errors(record) {
            valid = false;
            if report.errors.len() < MAX_REPORTED {
                let path = error.instance_path().to_string();
                report.errors.push(RowError {
                    row: i + first_row,
                    field: if path.is_empty() { "/".into() } else { path },
                    message: error.to_string(),
                });
            } else {
                report.truncated = true;
            }
        }
        if valid {
            report.valid_rows += 1
        } else {
            report.invalid_rows += 1
        }
    }
    Ok(report)
}

/// Schema validation of JSON or CSV, for one credit.
#[derive(Debug, Clone, Copy, Default)]
pub struct DataValidator;

#[async_trait]
impl Service for DataValidator {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("data_validator", "Data validator")
            .description("Checks JSON records or CSV rows against a JSON Schema and lists every failing row and field.")
            .category("Data")
            .input(InputKind::Json)
            .max_input_bytes(2 * 1024 * 1024)
            .input_schema(json!({
                "type": "object",
                "required": ["schema"],
                "properties": {
                    "schema": { "type": ["object", "boolean"], "description": "A JSON Schema for each record" },
                    "data": { "description": "The records: an array, or one record" },
                    "csv": { "type": "string", "description": "The records as CSV, a header line first" }
                },
                "anyOf": [{ "required": ["data"] }, { "required": ["csv"] }]
            }))
            .example(r#"{"schema": {"type": "object", "required": ["email", "age"], "properties": {"email": {"type": "string", "pattern": "@"}, "age": {"type": "integer", "minimum": 0}}}, "csv": "email,age\nada@example.com,36\nbob,-3\ncy@example.com,"}"#)
    }

    fn validate(&self, input: &ServiceInput) -> Result<(), InputError> {
        let ServiceInput::Json(request) = input else {
            return Err(InputError::WrongKind { expected: "JSON" });
        };
        if !request.is_object() || request.get("schema").is_none() {
            return Err(InputError::Invalid(
                "the input must be an object with a \"schema\" and \"data\" or \"csv\"".into(),
            ));
        }
        Ok(())
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        let ServiceInput::Json(request) = input else {
            return Err(ServiceError::Input(InputError::WrongKind {
                expected: "JSON",
            }));
        };
        let report = validate(&request)
            .map_err(|e| ServiceError::Input(InputError::Invalid(e.to_string())))?;
        let summary = if report.invalid_rows == 0 {
            format!("All {} records are valid", report.rows)
        } else {
            format!(
                "{} of {} records are invalid",
                report.invalid_rows, report.rows
            )
        };
        let rows = report
            .errors
            .iter()
            .map(|e| vec![e.row.to_string(), e.field.clone(), e.message.clone()])
            .collect();
        let data =
            serde_json::to_value(&report).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(ServiceOutput::new(summary)
            .field("Records", report.rows)
            .field("Valid", report.valid_rows)
            .field("Invalid", report.invalid_rows)
            .table(&["Row", "Field", "Problem"], rows)
            .data(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "required": ["email", "age"], "properties": {
            "email": {"type": "string", "pattern": "@"},
            "age": {"type": "integer", "minimum": 0}}})
    }

    #[test]
    fn input_outside_the_declared_schema_is_refused_before_charging() {
        let descriptor = DataValidator.descriptor();
        assert!(descriptor.validate().is_ok());
        for refused in [
            json!({}),
            json!(0),
            json!({"schema": 5, "data": []}),
            json!({"schema": {}}),
            json!({"schema": {}, "csv": 3}),
        ] {
            let input = ServiceInput::Json(refused.clone());
            assert!(
                matches!(
                    input.check_against(&descriptor),
                    Err(InputError::Invalid(_))
                ),
                "{refused}"
            );
        }
        let accepted = ServiceInput::Json(json!({"schema": schema(), "data": []}));
        assert_eq!(accepted.check_against(&descriptor), Ok(()));
    }

    #[test]
    fn reports_each_failing_csv_row_and_field() {
        let csv = "email,age\nada@example.com,36\nbob,-3\ncy@example.com,\ndee@example.com,old\n";
        let report = validate(&json!({"schema": schema(), "csv": csv})).unwrap();
        assert_eq!(
            (report.rows, report.valid_rows, report.invalid_rows),
            (4, 1, 3)
        );
        let found: Vec<(usize, &str)> = report
            .errors
            .iter()
            .map(|e| (e.row, e.field.as_str()))
            .collect();
        assert!(found.contains(&(3, "/email")), "{found:?}");
        assert!(found.contains(&(3, "/age")), "{found:?}");
        assert!(
            found.contains(&(4, "/")),
            "missing age reported on the record: {found:?}"
        );
        assert!(found.contains(&(5, "/age")), "{found:?}");
    }

    #[test]
    fn validates_json_records() {
        let report = validate(
            &json!({"schema": schema(), "data": [{"email": "a@b.c", "age": 1}, {"email": "x"}]}),
        )
        .unwrap();
        assert_eq!(report.invalid_rows, 1);
        assert!(report.errors.iter().all(|e| e.row == 2));
    }

    #[test]
    fn refuses_bad_requests() {
        assert!(validate(&json!({"data": []})).is_err());
        assert!(validate(&json!({"schema": {"type": "nonsense"}, "data": []})).is_err());
        assert!(validate(&json!({"schema": schema()})).is_err());
    }
}
