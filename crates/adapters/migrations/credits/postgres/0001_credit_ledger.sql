-- The credit ledger alone (the credit area), for an app that embeds the credit store without the
-- rest of QuickScale. The same tables as the app's migrations create (0001_foundation.sql, and
-- any later change to them), checked by the test `credit_area_schema_matches_the_app` in
-- crates/adapters/tests/migration_areas.rs. Applied by `Database::migrate_areas(&[Area::Credits])`,
-- recorded in its own table, _quickscale_credits_migrations, never in _sqlx_migrations.

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
