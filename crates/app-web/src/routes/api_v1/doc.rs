//! The API's OpenAPI document, exact enough that a client generated from it, or a fuzzer
//! reading it, gets what it says: utoipa generates the operations and schemas from the
//! handlers; this module adds what annotations cannot say.
//!
//! - A run operation per offered service, with the input that service takes (a non-blank
//!   string for text services, any JSON value but `null` for JSON services, the file in one of
//!   the accepted types for file services), so that a request valid by the document is not
//!   refused for its shape.
//! - The bounds of every query parameter, from the same constants the extractors check.
//! - The refusals every authenticated operation can give (401, 429 with `Retry-After`, 503),
//!   the 500 any operation can give, and the 413 any operation with a body can give, each a
//!   problem document served as `application/problem+json`.

use quickscale_domain_credits::Credits;
use quickscale_service_sdk::{InputKind, RunStatus, ServiceDescriptor};
use serde_json::{Map, Value, json};

use crate::api::problem::{INSUFFICIENT_CREDITS, KEY_MONTHLY_CAP, PLAN_MONTHLY_API_LIMIT};
use crate::paging::{DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET};
use crate::view::credits_label;

const PROBLEM: &str = "application/problem+json";

/// Characters Rust's `char::is_whitespace` (the runner's emptiness check) counts as blank: a
/// text input must hold at least one other.
const NOT_BLANK: &str =
    r"[^\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// Finishes utoipa's document: `generated` as JSON, for these offered services.
pub fn finish(generated: Value, offered: &[(&ServiceDescriptor, Credits)]) -> Value {
    let mut doc = generated;
    add_schemas(&mut doc);
    let paths = doc["paths"]
        .as_object_mut()
        .expect("the document has paths");
    for (path, parameters) in [
        ("/api/v1/runs", run_filters(true)),
        ("/api/v1/usage", run_filters(false)),
        ("/api/v1/ledger", list_parameters("entries")),
        ("/api/v1/payments", list_parameters("payments")),
    ] {
        if let Some(list) = paths.get_mut(path).and_then(|p| p.get_mut("get")) {
            list["parameters"] = parameters;
        }
    }
    if let Some(checkout) = paths
        .get_mut("/api/v1/checkout")
        .and_then(|p| p.get_mut("post"))
    {
        checkout["parameters"] = json!([idempotency_parameter(
            "The same key is the same checkout, however often it is sent"
        )]);
    }
    for (descriptor, cost) in offered {
        paths.insert(
            format!("/api/v1/services/{}/runs", descriptor.slug),
            json!({ "post": run_operation(descriptor, *cost) }),
        );
    }
    for item in paths.values_mut() {
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|i| i.values_mut())
        {
            finish_operation(operation);
        }
    }
    doc
}

/// A problem document's response.
fn problem(description: &str) -> Value {
    problem_of(description, "ApiProblem")
}

fn problem_of(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": { PROBLEM: { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
    })
}

/// Serves every problem response as `application/problem+json`, and adds the answers any
/// operation (500), any operation with a body (413) and any authenticated operation can give.
fn finish_operation(operation: &mut Value) {
    let has_body = operation.get("requestBody").is_some();
    let Some(responses) = operation["responses"].as_object_mut() else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        // OpenAPI requires a description; utoipa leaves it out when the annotation has none.
        if response
            .get("description")
            .is_none_or(|d| d.as_str() == Some(""))
            && let Some(reason) = status
                .parse::<u16>()
                .ok()
                .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                .and_then(|s| s.canonical_reason())
        {
            response["description"] = Value::String(reason.to_owned());
        }
        if let Some(content) = response["content"].as_object_mut()
            && let Some(json) = content.remove("application/json")
        {
            let is_problem = json["schema"]["$ref"]
                .as_str()
                .is_some_and(|r| r.ends_with("/ApiProblem"));
            content.insert(
                if is_problem {
                    PROBLEM
                } else {
                    "application/json"
                }
                .to_owned(),
                json,
            );
        }
    }
    responses.entry("500").or_insert(problem(
        "An unexpected error on our side; it was logged. Retry later",
    ));
    if has_body {
        responses.entry("413").or_insert(problem(&format!(
            "The request body is larger than the {} MiB the API reads",
            crate::limits::MAX_BODY_BYTES / (1024 * 1024)
        )));
    }
    if operation.get("security").is_none() {
        return;
    }
    let responses = operation["responses"]
        .as_object_mut()
        .expect("responses are an object");
    let mut unauthorized = problem(
        "No key, a malformed, unknown or revoked key, or the key's account was deleted or deactivated",
    );
    unauthorized["headers"] = json!({
        "WWW-Authenticate": { "required": true, "schema": { "type": "string" } }
    });
    let mut limited = problem("The key's request budget is spent");
    limited["headers"] = json!({
        "Retry-After": {
            "required": true,
            "description": "Seconds to wait",
            "schema": { "type": "integer", "minimum": 1 }
        }
    });
    responses.entry("401").or_insert(unauthorized);
    responses.entry("429").or_insert(limited);
    responses
        .entry("503")
        .or_insert(problem("The database is unreachable; nothing was changed"));
}

/// The 402 problem's extra fields.
fn add_schemas(doc: &mut Value) {
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .expect("the document has schemas");
    schemas.insert(
        "CreditsProblem".into(),
        json!({
            "description": format!(
                "A run refused, nothing charged; `type` and `code` say which limit refused it: \
                 `{INSUFFICIENT_CREDITS}` (`insufficient_credits`: the balance is below the \
                 cost, with `required` and `available`), `{KEY_MONTHLY_CAP}` (`key_monthly_cap`: \
                 the key's own monthly spend cap) or `{PLAN_MONTHLY_API_LIMIT}` \
                 (`plan_monthly_api_limit`: the plan's monthly bound on credits spent through \
                 the API, all keys together), each cap with `limit`, `spent` (this calendar \
                 month, UTC), `required` (the run's cost) and `resets_at` (when the next month \
                 starts). Credits are decimal strings."
            ),
            "allOf": [
                { "$ref": "#/components/schemas/ApiProblem" },
                {
                    "type": "object",
                    "properties": {
                        "required": { "type": "string", "description": "What the run costs" },
                        "available": { "type": "string", "description": "The balance (insufficient_credits)" },
                        "limit": { "type": "string", "description": "The cap that refused the run (the caps)" },
                        "spent": { "type": "string", "description": "What this calendar month spent under that cap (the caps)" },
                        "resets_at": { "type": "string", "format": "date-time", "example": "2027-01-01T00:00:00Z", "description": "When the next calendar month (UTC) starts (the caps)" }
                    }
                }
            ]
        }),
    );
}

/// `cursor` and `limit`, the parameters of every list.
fn list_parameters(items: &str) -> Value {
    json!([
        {
            "name": "cursor", "in": "query", "required": false,
            "description": "Where the page starts: the `next_cursor` of the previous page (opaque); the newest first without it (or empty)",
            "schema": { "type": "string", "pattern": "^([0-9a-f]{2})*$", "maxLength": 64 }
        },
        {
            "name": "limit", "in": "query", "required": false,
            "description": format!("How many {items} to return"),
            "schema": { "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT }
        }
    ])
}

/// The filters of the run lists (`/runs`, with the `offset` it took before cursors, and
/// `/usage`), then `cursor` and `limit`.
fn run_filters(with_offset: bool) -> Value {
    let statuses: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
    let mut parameters = vec![
        json!({
            "name": "service", "in": "query", "required": false,
            "description": "Only this service's runs",
            "schema": { "type": "string" }
        }),
        json!({
            "name": "status", "in": "query", "required": false,
            "description": "Only runs with this status",
            "schema": { "type": "string", "enum": statuses }
        }),
    ];
    if with_offset {
        parameters.push(json!({
            "name": "offset", "in": "query", "required": false,
            "description": "How many of the newest runs to skip (instead of `cursor`)",
            "schema": { "type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0 }
        }));
    }
    if let Value::Array(common) = list_parameters("runs") {
        parameters.extend(common);
    }
    Value::Array(parameters)
}

/// The `Idempotency-Key` header parameter.
fn idempotency_parameter(description: &str) -> Value {
    json!({
        "name": "Idempotency-Key", "in": "header", "required": false,
        "description": description,
        "schema": { "type": "string", "minLength": 1, "maxLength": 196, "pattern": "^[!-~]([ -~]*[!-~])?$" }
    })
}

/// What a JSON service takes: its own schema when it declares one (the runner enforces it),
/// any JSON value but `null` otherwise.
fn json_input(descriptor: &ServiceDescriptor) -> Value {
    let max = descriptor.max_input_bytes;
    let mut input = descriptor
        .input_schema
        .clone()
        .unwrap_or_else(|| json!({ "not": { "type": "null" } }));
    if let Some(schema) = input.as_object_mut() {
        schema
            .entry("description")
            .or_insert_with(|| Value::String(format!("A JSON value, at most {max} bytes as JSON")));
    }
    input
}

fn run_operation(descriptor: &ServiceDescriptor, cost: Credits) -> Value {
    let price = if cost.is_zero() {
        "Free.".to_owned()
    } else {
        format!(
            "Costs {} a run, refunded when the run fails.",
            credits_label(cost)
        )
    };
    let mut parameters = vec![idempotency_parameter(
        "The same key is one run and one charge, however often it is sent: ASCII letters, digits, punctuation, and spaces between them. A key used for another service is refused.",
    )];
    let max = descriptor.max_input_bytes;
    let body = match descriptor.input {
        InputKind::Text => json!({
            "required": true,
            "content": { "application/json": { "schema": {
                "type": "object",
                "required": ["input"],
                "properties": { "input": {
                    "type": "string",
                    "description": format!("The text: not blank, at most {max} bytes of UTF-8"),
                    "minLength": 1,
                    "maxLength": max,
                    "pattern": NOT_BLANK
                } }
            } } }
        }),
        InputKind::Json => json!({
            "required": true,
            "content": { "application/json": { "schema": {
                "type": "object",
                "required": ["input"],
                "properties": { "input": json_input(descriptor) }
            } } }
        }),
        InputKind::File => {
            parameters.push(json!({
                "name": "filename", "in": "query", "required": false,
                "description": "The file's name (default `upload`)",
                "schema": { "type": "string" }
            }));
            let content: Map<String, Value> = descriptor
                .accepted_types
                .iter()
                .map(|t| {
                    (
                        t.clone(),
                        json!({ "schema": {
                            "type": "string",
                            "format": "binary",
                            "description": format!("The file, 1 to {max} bytes; its content is checked")
                        } }),
                    )
                })
                .collect();
            json!({ "required": true, "content": content })
        }
    };
    let run = json!({ "$ref": "#/components/schemas/RunView" });
    let mut body = body;
    if let (Some(example), InputKind::Text | InputKind::Json) =
        (&descriptor.example_input, descriptor.input)
    {
        let input = match descriptor.input {
            InputKind::Json => serde_json::from_str(example).unwrap_or(Value::Null),
            _ => Value::String(example.clone()),
        };
        if !input.is_null() {
            body["content"]["application/json"]["example"] = json!({ "input": input });
        }
    }
    json!({
        "tags": ["runs"],
        "operationId": format!("run_{}", descriptor.slug),
        "summary": format!("Runs {}", descriptor.name),
        "description": format!("{} {price}", descriptor.description),
        "parameters": parameters,
        "requestBody": body,
        "responses": if descriptor.mode == quickscale_service_sdk::RunMode::Background {
            background_responses(&run)
        } else { json!({
            "201": {
                "description": "The run (its `status` says whether it succeeded)",
                "content": { "application/json": { "schema": run } }
            },
            "200": {
                "description": "The first run with this Idempotency-Key; nothing was run or charged again",
                "headers": { "Idempotent-Replayed": {
                    "required": true, "schema": { "type": "string", "enum": ["true"] }
                } },
                "content": { "application/json": { "schema": run } }
            },
            "402": problem_of(
                "Refused, nothing charged: not enough credits (`insufficient_credits`), the key's monthly spend cap (`key_monthly_cap`) or the plan's monthly API limit (`plan_monthly_api_limit`); the problem's `type` names the limit too",
                "CreditsProblem"
            ),
            "403": problem("The account's email is not confirmed (paid services, when confirmation is required)"),
            "404": problem("The service was switched off since this document was read"),
            "409": problem("A run with this Idempotency-Key is still in progress"),
            "422": problem("The input is not what the service takes (the detail says why), or the Idempotency-Key was used for another service"),
        }) },
        "security": [{ "api_key": [] }]
    })
}

/// The answers of a background service's run: 202 and where to follow it, whether the run is
/// new or the key's earlier one.
fn background_responses(run: &Value) -> Value {
    let location = json!({
        "required": true,
        "description": "The run's address: `GET` it for its status, progress and result",
        "schema": { "type": "string", "example": "/api/v1/runs/0190f1c2-7b1e-7cc0-9c55-3f1e2a4b5c6d" }
    });
    json!({
        "202": {
            "description": "The run is queued and its price (or declared maximum) held; follow `Location` until its `status` is final. With an Idempotency-Key used before, the same run (header `Idempotent-Replayed: true`), held once",
            "headers": {
                "Location": location,
                "Idempotent-Replayed": { "required": false, "schema": { "type": "string", "enum": ["true"] } }
            },
            "content": { "application/json": { "schema": run } }
        },
        "402": problem_of("Not enough credits to hold the run's price; nothing was held", "CreditsProblem"),
        "403": problem("The account's email is not confirmed (paid services, when confirmation is required)"),
        "404": problem("The service was switched off since this document was read"),
        "422": problem("The input is not what the service takes (the detail says why), or the Idempotency-Key was used for another service"),
    })
}
