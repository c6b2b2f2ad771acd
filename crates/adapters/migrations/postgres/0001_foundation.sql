-- Accounts, the credit ledger and service runs.

CREATE TABLE users (
    id                UUID PRIMARY KEY,
    email             TEXT NOT NULL,
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    display_name      TEXT NOT NULL DEFAULT '',
    is_active         BOOLEAN NOT NULL DEFAULT TRUE,
    email_verified_at TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    failed_attempts   INTEGER NOT NULL DEFAULT 0,
    window_started_at TIMESTAMPTZ,
    locked_until      TIMESTAMPTZ
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_created_at ON users (created_at DESC);

CREATE TABLE credit_accounts (
    id         UUID PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE credit_grants (
    id              BIGSERIAL PRIMARY KEY,
    account_id      UUID NOT NULL REFERENCES credit_accounts (id),
    kind            TEXT NOT NULL,
    amount_cents    BIGINT NOT NULL CHECK (amount_cents > 0),
    remaining_cents BIGINT NOT NULL CHECK (remaining_cents >= 0 AND remaining_cents <= amount_cents),
    granted_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ,
    source          TEXT NOT NULL,
    UNIQUE (account_id, source)
);
-- Only grants with something left are read on the hot path.
CREATE INDEX credit_grants_open ON credit_grants (account_id) WHERE remaining_cents > 0;

CREATE TABLE credit_entries (
    id                  BIGSERIAL PRIMARY KEY,
    account_id          UUID NOT NULL REFERENCES credit_accounts (id),
    kind                TEXT NOT NULL,
    amount_cents        BIGINT NOT NULL CHECK (amount_cents >= 0),
    balance_after_cents BIGINT NOT NULL CHECK (balance_after_cents >= 0),
    shortfall_cents     BIGINT NOT NULL DEFAULT 0 CHECK (shortfall_cents >= 0),
    actor               TEXT NOT NULL,
    reason              TEXT NOT NULL,
    grant_id            BIGINT REFERENCES credit_grants (id),
    reverses            BIGINT UNIQUE REFERENCES credit_entries (id),
    idempotency_key     TEXT,
    fingerprint         TEXT,
    at                  TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX credit_entries_history ON credit_entries (account_id, id DESC);

CREATE TABLE credit_allocations (
    entry_id     BIGINT NOT NULL REFERENCES credit_entries (id),
    grant_id     BIGINT NOT NULL REFERENCES credit_grants (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    PRIMARY KEY (entry_id, grant_id)
);

CREATE TABLE service_runs (
    id                  UUID PRIMARY KEY,
    user_id             UUID NOT NULL,
    service             TEXT NOT NULL,
    run_key             TEXT NOT NULL,
    status              TEXT NOT NULL,
    cost_cents          BIGINT NOT NULL,
    charge_entry        BIGINT,
    refunded_cents      BIGINT NOT NULL DEFAULT 0,
    balance_after_cents BIGINT,
    input_bytes         BIGINT NOT NULL,
    duration_ms         BIGINT,
    output              JSONB,
    error               TEXT,
    started_at          TIMESTAMPTZ NOT NULL,
    finished_at         TIMESTAMPTZ,
    UNIQUE (user_id, run_key)
);
CREATE INDEX service_runs_by_user ON service_runs (user_id, started_at DESC);
CREATE INDEX service_runs_by_service ON service_runs (service, started_at DESC);
