-- Background runs still queued, found by the recovery chore (a run whose job was lost, or
-- that waited past every timeout, is ended and its hold released).
CREATE INDEX service_runs_queued ON service_runs (started_at) WHERE status = 'queued';
