-- Admin settings of the services registered in code (the code decides which exist).
CREATE TABLE service_settings (
    slug                TEXT PRIMARY KEY,
    enabled             INTEGER NOT NULL DEFAULT 1,
    cost_override_cents INTEGER CHECK (cost_override_cents >= 0),
    display_order       INTEGER NOT NULL
);
