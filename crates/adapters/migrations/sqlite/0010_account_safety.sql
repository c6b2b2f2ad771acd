-- Accounts: onboarding that finishes once (the welcome grant belongs to registration), and
-- lockout per client with an account-wide throttle.

-- When the account's credit account was opened and its welcome credits granted; NULL while a
-- registration is unfinished. Accounts made before this column existed were set up by then.
ALTER TABLE users ADD COLUMN onboarded_at INTEGER;
UPDATE users SET onboarded_at = created_at;

-- Lockout per client: the users row keeps the account-wide count (failures from every client,
-- the last one, the latest end of a client's lock, when the owner was told); each client's
-- failures on an account have a row of their own. Whole-account locks of before are lifted.
ALTER TABLE users RENAME COLUMN window_started_at TO last_failed_at;
ALTER TABLE users ADD COLUMN lock_notice_sent_at INTEGER;
UPDATE users SET failed_attempts = 0, last_failed_at = NULL, locked_until = NULL;

CREATE TABLE sign_in_failures (
    user_id           BLOB NOT NULL,
    -- An IPv4 address, or an IPv6 /64 network.
    client            TEXT NOT NULL,
    failed_attempts   INTEGER NOT NULL,
    window_started_at INTEGER,
    locked_until      INTEGER,
    PRIMARY KEY (user_id, client)
);
