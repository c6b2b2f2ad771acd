-- Accounts complete: profiles, deletion, single-use tokens, the audit log and the email outbox.

ALTER TABLE users ADD COLUMN company TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN job_title TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN website TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN bio TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN product_updates INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN deleted_at INTEGER;

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    user_id    BLOB NOT NULL,
    purpose    TEXT NOT NULL,
    payload    TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX tokens_by_user ON tokens (user_id, purpose, created_at);

CREATE TABLE audit_log (
    id            BLOB PRIMARY KEY,
    at            INTEGER NOT NULL,
    actor         BLOB NOT NULL,
    actor_label   TEXT NOT NULL,
    action        TEXT NOT NULL,
    subject       BLOB,
    subject_label TEXT NOT NULL,
    before_state  TEXT NOT NULL,
    after_state   TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_subject ON audit_log (subject, at DESC);

CREATE TABLE outbox (
    id              BLOB PRIMARY KEY,
    recipient       TEXT NOT NULL,
    message         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_created ON outbox (created_at DESC);
