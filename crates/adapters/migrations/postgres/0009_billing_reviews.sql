-- Payments held for an admin's review: a paid checkout session that is not one of our packs at
-- its price, a second subscription for a user who has one. One per kind and processor object.
-- And the plan a subscription's current period was bought at, while a plan change waits for the
-- renewal.

CREATE TABLE billing_reviews (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL,
    reference    TEXT NOT NULL,
    user_id      UUID,
    customer_id  TEXT,
    amount_minor BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    detail       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    settled_at   TIMESTAMPTZ,
    resolved_at  TIMESTAMPTZ,
    resolved_by  UUID,
    UNIQUE (kind, reference)
);
CREATE INDEX billing_reviews_by_time ON billing_reviews (created_at DESC);

ALTER TABLE subscriptions ADD COLUMN period_price_id TEXT;
