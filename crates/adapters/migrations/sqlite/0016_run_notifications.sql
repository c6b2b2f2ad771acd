-- Telling users that a run ended: each user's choices (one webhook endpoint, the completion
-- email) and the log of webhook deliveries with every attempt (the settings page shows it).
-- The endpoint's signing secret is not stored: it is derived from `secret_seed` and the app's
-- SECRET_KEY (docs/security.md).

CREATE TABLE notification_preferences (
    user_id               BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    webhook_url           TEXT,
    webhook_secret_seed   TEXT,
    webhook_created_at    INTEGER,
    email_background_runs INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE webhook_deliveries (
    id              BLOB PRIMARY KEY,
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    url             TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (user_id, event_id)
);
CREATE INDEX webhook_deliveries_by_user ON webhook_deliveries (user_id, created_at DESC);

CREATE TABLE webhook_attempts (
    delivery_id BLOB NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status_code INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    replay      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (delivery_id, number)
) WITHOUT ROWID;
