-- API keys: a user's named, revocable credentials for the JSON API. Only the key's SHA-256 hash
-- and its first characters (`shown`) are kept.

CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY,
    user_id      BLOB NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    shown        TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at DESC);
