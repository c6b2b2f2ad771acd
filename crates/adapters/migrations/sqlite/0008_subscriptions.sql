-- Subscriptions: plans (a recurring price in the processor and the credits each paid period
-- grants) and our record of each processor subscription, kept in line with its webhooks.

CREATE TABLE plans (
    id              BLOB PRIMARY KEY,
    name            TEXT NOT NULL,
    credits_cents   INTEGER NOT NULL CHECK (credits_cents >= 0),
    price_minor     INTEGER NOT NULL CHECK (price_minor >= 0),
    currency        TEXT NOT NULL,
    interval        TEXT NOT NULL,
    interval_count  INTEGER NOT NULL CHECK (interval_count > 0),
    stripe_price_id TEXT NOT NULL UNIQUE,
    active          INTEGER NOT NULL,
    display_order   INTEGER NOT NULL
);

CREATE TABLE subscriptions (
    id                   TEXT PRIMARY KEY,
    user_id              BLOB NOT NULL,
    plan_id              BLOB,
    price_id             TEXT NOT NULL,
    status               TEXT NOT NULL,
    current_period_start INTEGER NOT NULL,
    current_period_end   INTEGER NOT NULL,
    cancel_at_period_end INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX subscriptions_by_user ON subscriptions (user_id, current_period_start DESC);
