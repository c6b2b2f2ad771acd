-- Payments held for an admin's review: a paid checkout session that is not one of our packs at
-- its price, a second subscription for a user who has one. One per kind and processor object.
-- And the plan a subscription's current period was bought at, while a plan change waits for the
-- renewal.

CREATE TABLE billing_reviews (
    id           BLOB PRIMARY KEY,
    kind         TEXT NOT NULL,
    reference    TEXT NOT NULL,
    user_id      BLOB,
    customer_id  TEXT,
    amount_minor INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    detail       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    settled_at   INTEGER,
    resolved_at  INTEGER,
    resolved_by  BLOB,
    UNIQUE (kind, reference)
);
CREATE INDEX billing_reviews_by_time ON billing_reviews (created_at DESC);

ALTER TABLE subscriptions ADD COLUMN period_price_id TEXT;
