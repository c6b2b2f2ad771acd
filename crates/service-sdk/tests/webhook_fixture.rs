//! The signed webhook the SDKs' own suites verify (sdks/webhook_fixture.json): made here, with
//! the payload type and the signing function the app uses, so that the Python and TypeScript
//! verifiers are checked against what the Rust side produces. The committed file must be what
//! this makes; `QS_WRITE_WEBHOOK_FIXTURE=1` rewrites it.

use quickscale_service_sdk::Credits;
use quickscale_service_sdk::notify::webhook::{WebhookEvent, sign, verify_signature};
use quickscale_service_sdk::notify::{RunEnded, RunResult};
use time::macros::datetime;

const SECRET: &str = "whsec_3f0c1e5b9a7d4c2e8b6a0f1d3c5e7a9b1d3f5e7c9a0b2d4f6e8a1c3e5b7d9f0a";
const TIMESTAMP: i64 = 1_780_000_000;

fn fixture() -> serde_json::Value {
    let event = WebhookEvent::of(&RunEnded {
        run: uuid::Uuid::parse_str("01938a4e-7c1b-7d2e-9f3a-5b6c7d8e9f01").unwrap(),
        service: "text_sentiment_analysis".into(),
        user: quickscale_domain_identity::UserId::from_uuid(uuid::Uuid::nil()),
        result: RunResult::Succeeded,
        status: "succeeded".into(),
        cost: Credits::parse("1.50").unwrap(),
        summary: Some("Positive (82% confidence) — “naïve” café".into()),
        error: None,
        started_at: datetime!(2026-05-28 20:26:38.250 UTC),
        finished_at: datetime!(2026-05-28 20:26:40 UTC),
        background: true,
    });
    let body = serde_json::to_string(&event).unwrap();
    let header = sign(SECRET, TIMESTAMP, body.as_bytes());
    assert_eq!(
        verify_signature(SECRET, &header, body.as_bytes(), TIMESTAMP, 300),
        Ok(())
    );
    serde_json::json!({
        "about": "A webhook as QuickScale signs it (made by crates/service-sdk/tests/webhook_fixture.rs): verify `header` over `body` with `secret` at `timestamp`.",
        "secret": SECRET,
        "timestamp": TIMESTAMP,
        "header": header,
        "body": body,
    })
}

#[test]
fn the_sdks_fixture_is_what_the_rust_side_signs() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdks/webhook_fixture.json");
    let made = format!("{}\n", serde_json::to_string_pretty(&fixture()).unwrap());
    if std::env::var_os("QS_WRITE_WEBHOOK_FIXTURE").is_some() {
        std::fs::write(&path, &made).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed, made,
        "sdks/webhook_fixture.json differs from what the Rust side signs: run this test with \
         QS_WRITE_WEBHOOK_FIXTURE=1"
    );
}
