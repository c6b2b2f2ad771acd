-- The issue's minimal credit transaction, the ceiling the paid run is compared with: lock the
-- account row, insert a ledger entry, insert a usage row, in one transaction. No planning over
-- grants, no allocation, no idempotency look-up: less than any correct charge does.
\set n random(1, :accounts)
SELECT id AS account FROM bench_accounts WHERE n = :n \gset
SELECT nextval('bench_keys') AS k \gset
BEGIN;
SELECT 1 FROM credit_accounts WHERE id = ':account'::uuid FOR UPDATE;
INSERT INTO credit_entries (account_id, kind, amount_cents, balance_after_cents, shortfall_cents, actor, reason, idempotency_key, fingerprint, at) VALUES (':account'::uuid, 'consume', 100, 0, 0, 'system', 'pgbench', 'pgm-' || :k, 'consume|100', now());
INSERT INTO service_runs (id, user_id, service, run_key, status, cost_cents, refunded_cents, input_bytes, started_at, finished_at) VALUES (gen_random_uuid(), ':account'::uuid, 'bench', 'pgm-' || :k, 'succeeded', 100, 0, 26, now(), now());
COMMIT;
