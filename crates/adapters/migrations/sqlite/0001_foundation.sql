-- Accounts, the credit ledger and service runs.
-- UUIDs are 16-byte BLOBs; timestamps are INTEGER microseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id                BLOB PRIMARY KEY,
    email             TEXT NOT NULL,
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    display_name      TEXT NOT NULL DEFAULT '',
    is_active         INTEGER NOT NULL DEFAULT 1,
    email_verified_at INTEGER,
    created_at        INTEGER NOT NULL,
    failed_attempts   INTEGER NOT NULL DEFAULT 0,
    window_started_at INTEGER,
    locked_until      INTEGER
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_created_at ON users (created_at DESC);

CREATE TABLE credit_accounts (
    id         BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE credit_grants (
    id              INTEGER PRIMARY KEY,
    account_id      BLOB NOT NULL REFERENCES credit_accounts (id),
    kind            TEXT NOT NULL,
    amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
    remaining_cents INTEGER NOT NULL CHECK (remaining_cents >= 0 AND remaining_cents <= amount_cents),
    granted_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    source          TEXT NOT NULL,
    UNIQUE (account_id, source)
);
CREATE INDEX credit_grants_open ON credit_grants (account_id) WHERE remaining_cents > 0;

CREATE TABLE credit_entries (
    id                  INTEGER PRIMARY KEY,
    account_id          BLOB NOT NULL REFERENCES credit_accounts (id),
    kind                TEXT NOT NULL,
    amount_cents        INTEGER NOT NULL CHECK (amount_cents >= 0),
    balance_after_cents INTEGER NOT NULL CHECK (balance_after_cents >= 0),
    shortfall_cents     INTEGER NOT NULL DEFAULT 0 CHECK (shortfall_cents >= 0),
    actor               TEXT NOT NULL,
    reason              TEXT NOT NULL,
    grant_id            INTEGER REFERENCES credit_grants (id),
    reverses            INTEGER UNIQUE REFERENCES credit_entries (id),
    idempotency_key     TEXT,
    fingerprint         TEXT,
    at                  INTEGER NOT NULL,
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX credit_entries_history ON credit_entries (account_id, id DESC);

CREATE TABLE credit_allocations (
    entry_id     INTEGER NOT NULL REFERENCES credit_entries (id),
    grant_id     INTEGER NOT NULL REFERENCES credit_grants (id),
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    PRIMARY KEY (entry_id, grant_id)
);

CREATE TABLE service_runs (
    id                  BLOB PRIMARY KEY,
    user_id             BLOB NOT NULL,
    service             TEXT NOT NULL,
    run_key             TEXT NOT NULL,
    status              TEXT NOT NULL,
    cost_cents          INTEGER NOT NULL,
    charge_entry        INTEGER,
    refunded_cents      INTEGER NOT NULL DEFAULT 0,
    balance_after_cents INTEGER,
    input_bytes         INTEGER NOT NULL,
    duration_ms         INTEGER,
    output              TEXT,
    error               TEXT,
    started_at          INTEGER NOT NULL,
    finished_at         INTEGER,
    UNIQUE (user_id, run_key)
);
CREATE INDEX service_runs_by_user ON service_runs (user_id, started_at DESC);
CREATE INDEX service_runs_by_service ON service_runs (service, started_at DESC);
