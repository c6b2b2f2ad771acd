-- An approximation of the SQL of one credit-consuming service run, run directly by pgbench:
-- claim the run, then in one transaction lock the account, look up the idempotency key, read one
-- open grant, take one credit, append the ledger entry and its allocation; then finish the run.
-- Not the app's exact statements: the app also loads the session and the user, reads every open
-- grant and plans over them, and its run and ledger rows carry more (actor, reason, the charge on
-- the run). Its rows are written to a copy of the database, never checked by verify-ledger.
\set n random(1, :accounts)
SELECT id AS account FROM bench_accounts WHERE n = :n \gset
SELECT nextval('bench_keys') AS k \gset
INSERT INTO service_runs (id, user_id, service, run_key, status, cost_cents, refunded_cents, input_bytes, started_at) VALUES (gen_random_uuid(), ':account'::uuid, 'bench', 'pg-' || :k, 'running', 100, 0, 26, now());
BEGIN;
SELECT 1 FROM credit_accounts WHERE id = ':account'::uuid FOR UPDATE;
SELECT id FROM credit_entries WHERE account_id = ':account'::uuid AND idempotency_key = 'pg-' || :k;
SELECT id, remaining_cents FROM credit_grants WHERE account_id = ':account'::uuid AND remaining_cents > 0 LIMIT 1 \gset g_
UPDATE credit_grants SET remaining_cents = remaining_cents - 100 WHERE id = :g_id;
INSERT INTO credit_entries (account_id, kind, amount_cents, balance_after_cents, shortfall_cents, actor, reason, idempotency_key, fingerprint, at) VALUES (':account'::uuid, 'consume', 100, :g_remaining_cents - 100, 0, 'system', 'pgbench', 'pg-' || :k, 'consume|100', now()) RETURNING id AS e \gset
INSERT INTO credit_allocations (entry_id, grant_id, amount_cents) VALUES (:e, :g_id, 100);
COMMIT;
UPDATE service_runs SET status = 'succeeded', cost_cents = 100, finished_at = now() WHERE user_id = ':account'::uuid AND run_key = 'pg-' || :k;
