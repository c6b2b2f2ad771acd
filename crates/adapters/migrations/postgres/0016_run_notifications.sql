-- Telling users that a run ended: each user's choices (one webhook endpoint, the completion
-- email) and the log of webhook deliveries with every attempt (the settings page shows it).
-- The endpoint's signing secret is not stored: it is derived from `secret_seed` and the app's
-- SECRET_KEY (docs/security.md).

CREATE TABLE notification_preferences (
    user_id               UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    webhook_url           TEXT,
    webhook_secret_seed   TEXT,
    webhook_created_at    TIMESTAMPTZ,
    email_background_runs BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    url             TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ,
    UNIQUE (user_id, event_id)
);
CREATE INDEX webhook_deliveries_by_user ON webhook_deliveries (user_id, created_at DESC);

CREATE TABLE webhook_attempts (
    delivery_id UUID NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    status_code INTEGER,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    replay      BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (delivery_id, number)
);
