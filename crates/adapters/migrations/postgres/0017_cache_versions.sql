-- Versions of read-mostly data that app processes keep a copy of in memory: every change to
-- that data moves its row's version on in the same transaction, and a process compares the
-- version with the one its copy was read at (one primary-key read) to know whether to read the
-- data again. Several instances sharing the database so agree on, for example, a service's
-- price without a restart.
CREATE TABLE cache_versions (
    area    TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

INSERT INTO cache_versions (area, version) VALUES ('service_settings', 0);

-- A user's newest runs (the dashboard, the usage page) in the order they are shown, ties
-- included, so that the page is read from the index and stops at its limit instead of sorting
-- every run of that user.
CREATE INDEX service_runs_by_user_newest ON service_runs (user_id, started_at DESC, id DESC);
DROP INDEX service_runs_by_user;

-- The admin's lists (users, the audit log, payments) in the order they are shown, ties
-- included: a page is read from the index and stops at its limit, with no sort step.
CREATE INDEX users_newest ON users (created_at DESC, id);
DROP INDEX users_created_at;
CREATE INDEX audit_log_newest ON audit_log (at DESC, id DESC);
DROP INDEX audit_log_at;
CREATE INDEX payments_newest ON payments (created_at DESC, id DESC);
DROP INDEX payments_by_time;
