-- API limits: plans carry the bounds of their users' keys (requests a minute, credits a calendar
-- month through the API); each key may have its own limits within them; each run records the
-- API key it was requested with, so that a month's spending per key is read from the runs.

ALTER TABLE plans ADD COLUMN api_per_minute INTEGER CHECK (api_per_minute > 0);
ALTER TABLE plans ADD COLUMN api_monthly_credits_cents INTEGER CHECK (api_monthly_credits_cents >= 0);

ALTER TABLE api_keys ADD COLUMN per_minute INTEGER CHECK (per_minute > 0);
ALTER TABLE api_keys ADD COLUMN monthly_cap_cents INTEGER CHECK (monthly_cap_cents >= 0);

ALTER TABLE service_runs ADD COLUMN api_key_id BLOB;
CREATE INDEX service_runs_by_api_key ON service_runs (api_key_id, started_at)
    WHERE api_key_id IS NOT NULL;
CREATE INDEX service_runs_through_api ON service_runs (user_id, started_at)
    WHERE api_key_id IS NOT NULL;
