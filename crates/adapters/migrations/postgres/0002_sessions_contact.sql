-- Browser sessions (server-side; the cookie holds the id only) and contact form messages.

CREATE TABLE sessions (
    id      TEXT PRIMARY KEY,
    user_id UUID,
    data    TEXT NOT NULL,
    expiry  TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE contact_messages (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    subject     TEXT NOT NULL,
    message     TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX contact_messages_received ON contact_messages (received_at DESC);
