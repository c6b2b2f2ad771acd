//! Events: recording what happened, and queueing its delivery.

use serde_json::{Value, json};

use super::Store;
use crate::clock::now;
use crate::ids;
use crate::model::{DeliveryState, EventRecord, RequestInfo, type_matches};
use crate::webhook::{DeliveryAttempt, Job};

impl Store {
    /// Records an event about `object` and queues its delivery (unless withheld or no endpoint).
    pub fn record_event(
        &mut self,
        kind: &str,
        object: Value,
        previous_attributes: Option<Value>,
        request: &RequestInfo,
    ) -> String {
        let id = ids::event();
        let created = now();
        let mut data = json!({ "object": object });
        if let Some(previous) = previous_attributes {
            data["previous_attributes"] = previous;
        }
        let body = json!({
            "id": id,
            "object": "event",
            "api_version": self.api_version,
            "created": created,
            "data": data,
            "livemode": false,
            "request": { "id": request.id, "idempotency_key": request.idempotency_key },
            "type": kind,
        });
        let delivery = if self.is_withheld(kind) {
            DeliveryState::Withheld
        } else if self.webhook_url.is_none() {
            DeliveryState::NoEndpoint
        } else {
            DeliveryState::Pending
        };
        let seq = self.next_seq();
        self.event_index.insert(id.clone(), self.events.len());
        self.events.push(EventRecord {
            seq,
            id: id.clone(),
            created,
            kind: kind.to_string(),
            body,
            delivery,
        });
        tracing::info!(event = %id, kind, delivery = ?delivery, "event recorded");
        if delivery == DeliveryState::Pending {
            let _ = self.delivery_tx.send(Job::new(id.clone(), false, None));
        }
        id
    }

    /// Records a `*.updated` event of `kind` when `after` differs from `before`, with the old
    /// values of what changed as `previous_attributes`. Returns whether anything changed.
    pub(super) fn record_update(
        &mut self,
        kind: &str,
        before: &Value,
        after: &Value,
        request: &RequestInfo,
    ) -> bool {
        let previous = previous_attributes(before, after);
        let changed = previous.as_object().is_some_and(|m| !m.is_empty());
        if changed {
            self.record_event(kind, after.clone(), Some(previous), request);
        }
        changed
    }

    pub fn is_withheld(&self, kind: &str) -> bool {
        self.withheld
            .iter()
            .any(|pattern| type_matches(pattern, kind))
    }

    pub fn event(&self, id: &str) -> Option<&EventRecord> {
        self.event_index.get(id).and_then(|&i| self.events.get(i))
    }

    pub fn event_mut(&mut self, id: &str) -> Option<&mut EventRecord> {
        match self.event_index.get(id) {
            Some(&i) => self.events.get_mut(i),
            None => None,
        }
    }

    /// Queues a delivery of an existing event, whatever its type (an explicit redelivery).
    pub fn queue_delivery(
        &mut self,
        id: &str,
        done: Option<tokio::sync::oneshot::Sender<DeliveryAttempt>>,
    ) -> bool {
        let Some(event) = self.event_mut(id) else {
            return false;
        };
        if event.delivery != DeliveryState::Delivered {
            event.delivery = DeliveryState::Pending;
        }
        let _ = self.delivery_tx.send(Job::new(id.to_string(), true, done));
        true
    }
}

/// The top-level fields of `before` that differ in `after`, with their old values.
pub(crate) fn previous_attributes(before: &Value, after: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (key, old) in b {
            if a.get(key) != Some(old) {
                out.insert(key.clone(), old.clone());
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_attributes_keep_old_values_of_changed_fields() {
        let before = json!({"a": 1, "b": 2});
        let after = json!({"a": 1, "b": 3});
        assert_eq!(previous_attributes(&before, &after), json!({"b": 2}));
    }
}
