-- Billing: credit packs, customers, checkouts, payments, refunds and the webhook inbox.

CREATE TABLE credit_packs (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    credits_cents   BIGINT NOT NULL CHECK (credits_cents > 0),
    price_minor     BIGINT NOT NULL CHECK (price_minor > 0),
    currency        TEXT NOT NULL,
    active          BOOLEAN NOT NULL,
    display_order   INTEGER NOT NULL,
    stripe_price_id TEXT
);

CREATE TABLE billing_customers (
    user_id     UUID PRIMARY KEY,
    customer_id TEXT NOT NULL UNIQUE
);

CREATE TABLE checkouts (
    session_id    TEXT PRIMARY KEY,
    user_id       UUID NOT NULL,
    pack_id       UUID NOT NULL,
    description   TEXT NOT NULL,
    credits_cents BIGINT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE payments (
    id               UUID PRIMARY KEY,
    user_id          UUID NOT NULL,
    pack_id          UUID,
    description      TEXT NOT NULL,
    credits_cents    BIGINT NOT NULL,
    amount_minor     BIGINT NOT NULL CHECK (amount_minor >= 0),
    refunded_minor   BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL,
    receipt_number   TEXT NOT NULL UNIQUE,
    checkout_session TEXT NOT NULL UNIQUE,
    payment_intent   TEXT UNIQUE,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX payments_by_user ON payments (user_id, created_at DESC);
CREATE INDEX payments_by_time ON payments (created_at DESC);

CREATE TABLE refunds (
    id                      UUID PRIMARY KEY,
    payment_id              UUID NOT NULL REFERENCES payments (id),
    amount_minor            BIGINT NOT NULL CHECK (amount_minor > 0),
    currency                TEXT NOT NULL,
    status                  TEXT NOT NULL,
    reason                  TEXT NOT NULL,
    gateway_refund_id       TEXT UNIQUE,
    credits_clawed_cents    BIGINT NOT NULL DEFAULT 0,
    credits_shortfall_cents BIGINT NOT NULL DEFAULT 0,
    requested_by            UUID,
    error                   TEXT,
    created_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);

CREATE TABLE webhook_events (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    created         BIGINT NOT NULL,
    object_id       TEXT,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TIMESTAMPTZ,
    received_at     TIMESTAMPTZ NOT NULL,
    processed_at    TIMESTAMPTZ
);
CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at);
CREATE INDEX webhook_events_object ON webhook_events (object_id);
CREATE INDEX webhook_events_received ON webhook_events (received_at DESC);
