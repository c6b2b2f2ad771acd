-- Accounts complete: profiles, deletion, single-use tokens, the audit log and the email outbox.

ALTER TABLE users ADD COLUMN company TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN job_title TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN website TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN bio TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN product_updates BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN deleted_at TIMESTAMPTZ;

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    user_id    UUID NOT NULL,
    purpose    TEXT NOT NULL,
    payload    TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX tokens_by_user ON tokens (user_id, purpose, created_at);

CREATE TABLE audit_log (
    id            UUID PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    actor         UUID NOT NULL,
    actor_label   TEXT NOT NULL,
    action        TEXT NOT NULL,
    subject       UUID,
    subject_label TEXT NOT NULL,
    before_state  TEXT NOT NULL,
    after_state   TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_subject ON audit_log (subject, at DESC);

CREATE TABLE outbox (
    id              UUID PRIMARY KEY,
    recipient       TEXT NOT NULL,
    message         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_created ON outbox (created_at DESC);
