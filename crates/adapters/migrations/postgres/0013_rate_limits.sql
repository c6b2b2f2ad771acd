-- Rate-limit budgets shared by every instance of the app (RATE_LIMITS=database): one row per
-- budget (a scope such as 'sign_in' and a key such as a client address), holding its
-- theoretical arrival time (GCRA) in microseconds since the Unix epoch. A row whose time has
-- passed is a whole budget, the same as no row; housekeeping deletes those.
-- UNLOGGED: the rows are written on every limited request and are worth nothing after a crash
-- (every budget whole again), so they skip the write-ahead log.
CREATE UNLOGGED TABLE rate_limit_buckets (
    scope  TEXT NOT NULL,
    key    TEXT NOT NULL,
    tat_us BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
