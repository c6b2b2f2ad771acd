-- Runs that take a while (docs/jobs.md): a run is immediate (in the request, as before) or
-- background (queued; its credits are held, its charge_entry is the hold). A background run
-- reports its progress as it goes: thousandths done and a short message.
ALTER TABLE service_runs ADD COLUMN mode TEXT NOT NULL DEFAULT 'immediate';
ALTER TABLE service_runs ADD COLUMN progress_permille INTEGER
    CHECK (progress_permille BETWEEN 0 AND 1000);
ALTER TABLE service_runs ADD COLUMN progress_message TEXT;
-- The open holds of an account (the balance's "held"): hold entries not yet settled or released.
CREATE INDEX credit_entries_holds ON credit_entries (account_id) WHERE kind = 'hold';
