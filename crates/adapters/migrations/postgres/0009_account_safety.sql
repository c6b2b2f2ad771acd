-- Accounts: onboarding that finishes once (the welcome grant belongs to registration).

-- When the account's credit account was opened and its welcome credits granted; NULL while a
-- registration is unfinished. Accounts made before this column existed were set up by then.
ALTER TABLE users ADD COLUMN onboarded_at TIMESTAMPTZ;
UPDATE users SET onboarded_at = created_at;
