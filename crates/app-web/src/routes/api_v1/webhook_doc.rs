//! The webhooks QuickScale sends, in the API's document: OpenAPI 3.1's `webhooks` section
//! (`runSucceeded`, `runFailed`), the `WebhookEvent` schema, and the signature header, so that
//! a generated client has the payload's types and a reader has the format in one place.

use quickscale_service_sdk::notify::webhook::{DEFAULT_TOLERANCE_SECONDS, SIGNATURE_HEADER};
use serde_json::{Value, json};

/// How the signature is made and checked (the header's description).
fn signature_description() -> String {
    format!(
        "`t=<unix seconds>,v1=<hex>`: the hex is HMAC-SHA256, under the secret shown when the \
         webhook was registered (Settings, Notifications), of `\"{{t}}.{{body}}\"` (the \
         timestamp, a full stop, the raw body). Recompute it over the body as received, \
         compare in constant time, and refuse a `t` more than {DEFAULT_TOLERANCE_SECONDS} \
         seconds from your clock. The SDKs' `verify_webhook` / `verifyWebhook` and the Rust \
         `quickscale_service_sdk::notify::webhook::verify_signature` do this."
    )
}

/// Adds the webhooks and their schemas to `doc`.
pub fn add(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    schemas["WebhookRun"] = json!({
        "type": "object",
        "description": "The run an event is about.",
        "required": ["id", "service", "status", "cost", "background", "started_at", "finished_at"],
        "properties": {
            "id": { "type": "string", "format": "uuid", "description": "The run's id (GET /api/v1/runs/{id})." },
            "service": { "type": "string", "description": "The service's slug." },
            "status": { "type": "string", "enum": ["succeeded", "failed", "timed_out"] },
            "cost": { "type": "string", "description": "Credits the run kept, a decimal (\"0.00\" after a refund)." },
            "summary": { "type": ["string", "null"], "description": "The output's one-line summary (succeeded runs)." },
            "error": { "type": ["string", "null"], "description": "Why it failed (failed runs)." },
            "background": { "type": "boolean", "description": "Whether it ran in the background." },
            "started_at": { "type": "string", "format": "date-time" },
            "finished_at": { "type": "string", "format": "date-time" }
        }
    });
    schemas["WebhookEvent"] = json!({
        "type": "object",
        "description": "The body of a webhook. The same event (same id) may arrive more than once (a retry, a replay): use `id` to drop repeats.",
        "required": ["id", "type", "created", "data"],
        "properties": {
            "id": { "type": "string", "description": "`evt_` and the run's id without dashes." },
            "type": { "type": "string", "enum": ["run.succeeded", "run.failed"] },
            "created": { "type": "string", "format": "date-time", "description": "When the run ended." },
            "data": { "$ref": "#/components/schemas/WebhookRun" }
        }
    });
    let operation = |kind: &str, summary: &str| {
        json!({
            "post": {
                "summary": summary,
                "description": format!(
                    "Sent to the address registered in Settings, Notifications, when a run ends ({kind}). Answer 2xx quickly; any other answer, or none within 10 seconds, is retried after 30 s, then four times longer each time (at most 6 hours apart), 8 attempts in all. Every attempt and its answer shows in the delivery log, with a Replay button."
                ),
                "parameters": [
                    { "name": SIGNATURE_HEADER, "in": "header", "required": true, "description": signature_description(), "schema": { "type": "string", "pattern": "^t=[0-9]+(,v1=[0-9a-f]{64})+$" } },
                    { "name": "QuickScale-Event", "in": "header", "required": true, "description": "The event's type.", "schema": { "type": "string", "enum": [kind] } },
                    { "name": "QuickScale-Event-Id", "in": "header", "required": true, "description": "The event's id, also sent as `Idempotency-Key`.", "schema": { "type": "string" } }
                ],
                "requestBody": {
                    "required": true,
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/WebhookEvent" } } }
                },
                "responses": {
                    "2XX": { "description": "Received; no more attempts." },
                    "default": { "description": "Not received; the delivery is retried." }
                }
            }
        })
    };
    doc["webhooks"] = json!({
        "runSucceeded": operation("run.succeeded", "A run succeeded"),
        "runFailed": operation("run.failed", "A run failed, timed out or was interrupted (its credits were given back)"),
    });
}

#[cfg(test)]
mod tests {
    use quickscale_service_sdk::notify::webhook::WebhookEvent;
    use quickscale_service_sdk::notify::{RunEnded, RunResult};

    /// The event the app sends has every property the schema requires, and no other.
    #[test]
    fn the_schema_matches_the_event_sent() {
        let mut doc = serde_json::json!({"components": {"schemas": {}}});
        super::add(&mut doc);
        let now = time::OffsetDateTime::now_utc();
        let event = WebhookEvent::of(&RunEnded {
            run: uuid::Uuid::now_v7(),
            service: "s".into(),
            user: quickscale_domain_identity::UserId::generate(),
            result: RunResult::Succeeded,
            status: "succeeded".into(),
            cost: quickscale_domain_credits::Credits::whole(1),
            summary: Some("ok".into()),
            error: None,
            started_at: now,
            finished_at: now,
            background: false,
        });
        let sent = serde_json::to_value(&event).unwrap();
        for (schema, value) in [("WebhookEvent", &sent), ("WebhookRun", &sent["data"])] {
            let declared = &doc["components"]["schemas"][schema];
            let mut properties: Vec<&String> =
                declared["properties"].as_object().unwrap().keys().collect();
            let mut keys: Vec<&String> = value.as_object().unwrap().keys().collect();
            properties.sort();
            keys.sort();
            assert_eq!(properties, keys, "{schema}");
            for required in declared["required"].as_array().unwrap() {
                assert!(
                    !value[required.as_str().unwrap()].is_null(),
                    "{schema}.{required}"
                );
            }
        }
    }
}
