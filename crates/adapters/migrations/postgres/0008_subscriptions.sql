-- Subscriptions: plans (a recurring price in the processor and the credits each paid period
-- grants) and our record of each processor subscription, kept in line with its webhooks.

CREATE TABLE plans (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    credits_cents   BIGINT NOT NULL CHECK (credits_cents >= 0),
    price_minor     BIGINT NOT NULL CHECK (price_minor >= 0),
    currency        TEXT NOT NULL,
    interval        TEXT NOT NULL,
    interval_count  BIGINT NOT NULL CHECK (interval_count > 0),
    stripe_price_id TEXT NOT NULL UNIQUE,
    active          BOOLEAN NOT NULL,
    display_order   INTEGER NOT NULL
);

CREATE TABLE subscriptions (
    id                   TEXT PRIMARY KEY,
    user_id              UUID NOT NULL,
    plan_id              UUID,
    price_id             TEXT NOT NULL,
    status               TEXT NOT NULL,
    current_period_start TIMESTAMPTZ NOT NULL,
    current_period_end   TIMESTAMPTZ NOT NULL,
    cancel_at_period_end BOOLEAN NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX subscriptions_by_user ON subscriptions (user_id, current_period_start DESC);
