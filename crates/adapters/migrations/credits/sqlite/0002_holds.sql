-- Holds (credits reserved for a run that takes a while) are ledger entries of kind 'hold',
-- ended by a 'settle' or 'release' entry that names the hold in `reverses` (unique: a hold ends
-- once). The open holds of an account are read through this index. The app's migrations create
-- the same index (0014_background_runs.sql).
CREATE INDEX credit_entries_holds ON credit_entries (account_id) WHERE kind = 'hold';
