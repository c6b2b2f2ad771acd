//! Every call of a SQL store is a span of its own (a database call in a trace): named
//! `db.<store>.<method>`, at `debug` under `DB_SPAN_TARGET`, with the OpenTelemetry attributes
//! `db.system` and `db.operation`, on SQLite and on PostgreSQL.

use std::sync::{Arc, Mutex};

use quickscale_adapters::DB_SPAN_TARGET;
use quickscale_adapters::testing::{TestStores, postgres_stores, sqlite_stores};
use quickscale_domain_credits::AccountId;
use quickscale_domain_identity::UserId;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

/// A span as it started: name, target, level and fields.
#[derive(Debug, Clone)]
struct Started {
    name: &'static str,
    target: String,
    level: tracing::Level,
    fields: Vec<(String, String)>,
}

/// Keeps every span started.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Started>>>);

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        let meta = attrs.metadata();
        self.0.lock().unwrap().push(Started {
            name: meta.name(),
            target: meta.target().to_owned(),
            level: *meta.level(),
            fields,
        });
    }
}

impl Spans {
    fn named(&self, name: &str) -> Vec<Started> {
        let spans = self.0.lock().unwrap();
        spans.iter().filter(|s| s.name == name).cloned().collect()
    }
}

fn field<'a>(span: &'a Started, name: &str) -> Option<&'a str> {
    span.fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn each_call_is_a_span(test: TestStores, system: &str) {
    let spans = Spans::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let stores = &test.stores;
    let nobody = uuid::Uuid::from_u128(7);
    assert!(
        stores
            .users
            .by_id(UserId::from_uuid(nobody))
            .await
            .unwrap()
            .is_none()
    );
    let now = time::OffsetDateTime::now_utc();
    stores
        .credits
        .open_account(AccountId::new(nobody), now)
        .await
        .unwrap();
    assert_eq!(stores.outbox.counts().await.unwrap().pending, 0);

    for (name, operation) in [
        ("db.users.by_id", "by_id"),
        ("db.credits.open_account", "open_account"),
        ("db.outbox.counts", "counts"),
    ] {
        let found = spans.named(name);
        assert_eq!(found.len(), 1, "{name}: {:?}", spans.0.lock().unwrap());
        let span = &found[0];
        assert_eq!(span.target, DB_SPAN_TARGET);
        assert_eq!(span.level, tracing::Level::DEBUG);
        assert_eq!(field(span, "db.system"), Some(system), "{span:?}");
        assert_eq!(field(span, "db.operation"), Some(operation), "{span:?}");
        assert_eq!(field(span, "otel.kind"), Some("client"), "{span:?}");
    }
}

#[tokio::test]
async fn sqlite_store_calls_are_spans() {
    each_call_is_a_span(sqlite_stores().await.unwrap(), "sqlite").await;
}

#[tokio::test]
async fn postgres_store_calls_are_spans() {
    // Absent PostgreSQL skips, unless QS_REQUIRE_POSTGRES=1 (then the harness fails).
    let Some(stores) = postgres_stores().await else {
        return;
    };
    each_call_is_a_span(stores, "postgresql").await;
}
