-- The job queue's tables: the schema of apalis-sqlite 1.0.0, its migrations in order (applied
-- here, with ours, so one migration history describes the whole database).

-- apalis-sqlite: 20220530084123_jobs_workers.sql
CREATE TABLE IF NOT EXISTS Workers (
    id TEXT NOT NULL UNIQUE,
    worker_type TEXT NOT NULL,
    storage_name TEXT NOT NULL,
    layers TEXT,
    last_seen INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);

CREATE INDEX IF NOT EXISTS Idx ON Workers(id);

CREATE INDEX IF NOT EXISTS WTIdx ON Workers(worker_type);

CREATE INDEX IF NOT EXISTS LSIdx ON Workers(last_seen);

CREATE TABLE IF NOT EXISTS Jobs (
    job TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    job_type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'Pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 25,
    run_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
    last_error TEXT,
    lock_at INTEGER,
    lock_by TEXT,
    done_at INTEGER,
    FOREIGN KEY(lock_by) REFERENCES Workers(id)
);

CREATE INDEX IF NOT EXISTS TIdx ON Jobs(id);

CREATE INDEX IF NOT EXISTS SIdx ON Jobs(status);

CREATE INDEX IF NOT EXISTS LIdx ON Jobs(lock_by);

CREATE INDEX IF NOT EXISTS JTIdx ON Jobs(job_type);

-- apalis-sqlite: 20250313213411_add_job_priority.sql
ALTER TABLE Jobs
ADD priority INTEGER NOT NULL DEFAULT 0;


-- apalis-sqlite: 20251013233016_stats_indexes.sql
CREATE INDEX IF NOT EXISTS idx_jobs_job_type_status_run_at ON Jobs(job_type, status, run_at);

CREATE INDEX IF NOT EXISTS idx_jobs_status_run_at ON Jobs(status, run_at);

CREATE INDEX IF NOT EXISTS idx_jobs_run_at_status ON Jobs(run_at, status);

CREATE INDEX IF NOT EXISTS idx_jobs_completed_done_at ON Jobs(status, done_at, run_at)
WHERE
    status IN ('Done', 'Failed', 'Killed')
    AND done_at IS NOT NULL;

CREATE INDEX IF NOT EXISTS idx_jobs_pending ON Jobs(run_at)
WHERE
    status = 'Pending';

CREATE INDEX IF NOT EXISTS idx_jobs_running ON Jobs(run_at)
WHERE
    status = 'Running';

CREATE INDEX IF NOT EXISTS idx_jobs_job_type_run_at ON Jobs(job_type, run_at);

CREATE INDEX IF NOT EXISTS idx_jobs_job_type_covering ON Jobs(job_type, status, run_at, done_at);


-- apalis-sqlite: 20251017150712_rename_last_error.sql
ALTER TABLE Jobs RENAME COLUMN last_error TO last_result;


-- apalis-sqlite: 20251017162501_worker_started_at.sql
ALTER TABLE
    Workers
ADD
    COLUMN started_at INTEGER;


-- apalis-sqlite: 20251018162501_metadata.sql
ALTER TABLE
    Jobs
ADD 
    COLUMN metadata TEXT;


-- apalis-sqlite: 20251018164941_move_to_bytes.sql
ALTER TABLE
    Jobs RENAME TO Jobs_old;

CREATE TABLE IF NOT EXISTS Jobs (
    job BLOB NOT NULL,
    id TEXT NOT NULL UNIQUE,
    job_type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'Pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 25,
    run_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
    last_result TEXT,
    lock_at INTEGER,
    lock_by TEXT,
    done_at INTEGER,
    priority INTEGER NOT NULL DEFAULT 0,
    metadata TEXT,
    PRIMARY KEY(id),
    FOREIGN KEY(lock_by) REFERENCES Workers(id)
);

INSERT INTO
    Jobs (
        job,
        id,
        job_type,
        status,
        attempts,
        max_attempts,
        run_at,
        last_result,
        lock_at,
        lock_by,
        done_at,
        priority,
        metadata
    )
SELECT
    CAST(job AS BLOB),
    id,
    job_type,
    status,
    attempts,
    max_attempts,
    run_at,
    last_result,
    lock_at,
    lock_by,
    done_at,
    priority,
    metadata
FROM
    Jobs_old;

DROP TABLE Jobs_old;

CREATE INDEX IF NOT EXISTS TIdx ON Jobs(id);

CREATE INDEX IF NOT EXISTS SIdx ON Jobs(status);

CREATE INDEX IF NOT EXISTS LIdx ON Jobs(lock_by);

CREATE INDEX IF NOT EXISTS JTIdx ON Jobs(job_type);

CREATE INDEX IF NOT EXISTS idx_jobs_job_type_status_run_at ON Jobs(job_type, status, run_at);

CREATE INDEX IF NOT EXISTS idx_jobs_status_run_at ON Jobs(status, run_at);

CREATE INDEX IF NOT EXISTS idx_jobs_run_at_status ON Jobs(run_at, status);

CREATE INDEX IF NOT EXISTS idx_jobs_completed_done_at ON Jobs(status, done_at, run_at)
WHERE
    status IN ('Done', 'Failed', 'Killed')
    AND done_at IS NOT NULL;

CREATE INDEX IF NOT EXISTS idx_jobs_pending ON Jobs(run_at)
WHERE
    status = 'Pending';

CREATE INDEX IF NOT EXISTS idx_jobs_running ON Jobs(run_at)
WHERE
    status = 'Running';

CREATE INDEX IF NOT EXISTS idx_jobs_job_type_run_at ON Jobs(job_type, run_at);

CREATE INDEX IF NOT EXISTS idx_jobs_job_type_covering ON Jobs(job_type, status, run_at, done_at);


-- apalis-sqlite: 20260506101935_idempotency_key.sql
ALTER TABLE
    Jobs
ADD
    COLUMN idempotency_key TEXT;

CREATE UNIQUE INDEX idx_jobs_idempotency_key ON Jobs(job_type, idempotency_key);


-- apalis-sqlite: 20260726081359_add_fetch_next_indices.sql
DROP INDEX IF EXISTS idx_jobs_pending;

CREATE INDEX IF NOT EXISTS idx_jobs_pending ON Jobs (job_type, priority DESC, run_at ASC, id ASC)
WHERE
    status = 'Pending'
    AND lock_by IS NULL;

CREATE INDEX IF NOT EXISTS idx_jobs_failed ON Jobs (job_type, priority DESC, run_at ASC, id ASC)
WHERE
    status = 'Failed'
    AND attempts < max_attempts;


-- apalis-sqlite: 20260803223031_add_lock_indices.sql
CREATE INDEX IF NOT EXISTS idx_jobs_claimable ON Jobs(status, attempts)
WHERE
    status IN ('Queued', 'Pending', 'Failed');


-- apalis-sqlite: 20260804103122_drop_unneeded_indices.sql
DROP INDEX IF EXISTS TIdx;

DROP INDEX IF EXISTS SIdx;

DROP INDEX IF EXISTS JTIdx;

DROP INDEX IF EXISTS idx_jobs_run_at_status;

DROP INDEX IF EXISTS idx_jobs_job_type_run_at;

DROP INDEX IF EXISTS idx_jobs_job_type_covering;

