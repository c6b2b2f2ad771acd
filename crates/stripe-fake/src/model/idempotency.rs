//! What an `Idempotency-Key` keeps: the request it was first used for, and its answer.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdempotencyEntry {
    pub method: String,
    pub path: String,
    pub canonical: Vec<(String, String)>,
    /// `None` while the first request runs.
    pub stored: Option<StoredResponse>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredResponse {
    pub status: u16,
    #[serde(with = "text_bytes")]
    pub body: Vec<u8>,
    pub request_id: String,
}

/// `StoredResponse::body` as text in the file (the stand-in answers JSON).
mod text_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&String::from_utf8_lossy(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        Ok(String::deserialize(deserializer)?.into_bytes())
    }
}
