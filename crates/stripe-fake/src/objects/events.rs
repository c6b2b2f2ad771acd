//! Events, with `pending_webhooks` as their delivery stands.

use serde_json::{Value, json};

use crate::model::{DeliveryState, EventRecord};
use crate::store::Store;

impl Store {
    pub fn event_json(&self, e: &EventRecord) -> Value {
        let mut body = e.body.clone();
        let pending = u32::from(e.delivery == DeliveryState::Pending);
        body["pending_webhooks"] = json!(pending);
        body
    }
}
