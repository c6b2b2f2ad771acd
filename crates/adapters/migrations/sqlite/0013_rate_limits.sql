-- Rate-limit budgets shared by every process using this database (RATE_LIMITS=database): one
-- row per budget (a scope such as 'sign_in' and a key such as a client address), holding its
-- theoretical arrival time (GCRA) in microseconds since the Unix epoch. A row whose time has
-- passed is a whole budget, the same as no row; housekeeping deletes those.
CREATE TABLE rate_limit_buckets (
    scope  TEXT NOT NULL,
    key    TEXT NOT NULL,
    tat_us INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
