-- Billing: credit packs, customers, checkouts, payments, refunds and the webhook inbox.

CREATE TABLE credit_packs (
    id              BLOB PRIMARY KEY,
    name            TEXT NOT NULL,
    credits_cents   INTEGER NOT NULL CHECK (credits_cents > 0),
    price_minor     INTEGER NOT NULL CHECK (price_minor > 0),
    currency        TEXT NOT NULL,
    active          INTEGER NOT NULL,
    display_order   INTEGER NOT NULL,
    stripe_price_id TEXT
);

CREATE TABLE billing_customers (
    user_id     BLOB PRIMARY KEY,
    customer_id TEXT NOT NULL UNIQUE
);

CREATE TABLE checkouts (
    session_id    TEXT PRIMARY KEY,
    user_id       BLOB NOT NULL,
    pack_id       BLOB NOT NULL,
    description   TEXT NOT NULL,
    credits_cents INTEGER NOT NULL,
    amount_minor  INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE payments (
    id               BLOB PRIMARY KEY,
    user_id          BLOB NOT NULL,
    pack_id          BLOB,
    description      TEXT NOT NULL,
    credits_cents    INTEGER NOT NULL,
    amount_minor     INTEGER NOT NULL CHECK (amount_minor >= 0),
    refunded_minor   INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL,
    receipt_number   TEXT NOT NULL UNIQUE,
    checkout_session TEXT NOT NULL UNIQUE,
    payment_intent   TEXT UNIQUE,
    created_at       INTEGER NOT NULL
);
CREATE INDEX payments_by_user ON payments (user_id, created_at DESC);
CREATE INDEX payments_by_time ON payments (created_at DESC);

CREATE TABLE refunds (
    id                      BLOB PRIMARY KEY,
    payment_id              BLOB NOT NULL REFERENCES payments (id),
    amount_minor            INTEGER NOT NULL CHECK (amount_minor > 0),
    currency                TEXT NOT NULL,
    status                  TEXT NOT NULL,
    reason                  TEXT NOT NULL,
    gateway_refund_id       TEXT UNIQUE,
    credits_clawed_cents    INTEGER NOT NULL DEFAULT 0,
    credits_shortfall_cents INTEGER NOT NULL DEFAULT 0,
    requested_by            BLOB,
    error                   TEXT,
    created_at              INTEGER NOT NULL
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);

CREATE TABLE webhook_events (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    created         INTEGER NOT NULL,
    object_id       TEXT,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER,
    received_at     INTEGER NOT NULL,
    processed_at    INTEGER
);
CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at);
CREATE INDEX webhook_events_object ON webhook_events (object_id);
CREATE INDEX webhook_events_received ON webhook_events (received_at DESC);
