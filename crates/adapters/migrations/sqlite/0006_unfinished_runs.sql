-- Finds the runs an app stopped in the middle of (see ServiceRunner::recover_interrupted).
CREATE INDEX service_runs_unfinished ON service_runs (started_at) WHERE status = 'running';
