-- Admin settings of the services registered in code (the code decides which exist).
CREATE TABLE service_settings (
    slug                TEXT PRIMARY KEY,
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    cost_override_cents BIGINT CHECK (cost_override_cents >= 0),
    display_order       INTEGER NOT NULL
);
