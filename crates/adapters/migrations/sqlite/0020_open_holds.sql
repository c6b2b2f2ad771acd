-- The holds not yet settled or released, a row each, so that an account's open holds (the
-- balance's "held", read by every dashboard) are found without reading every hold the account
-- ever had: the index of 0002 grew with each background run. Kept by triggers on the ledger, so
-- every way an entry is written keeps it: a hold opens a row, its settle or release (which
-- names it in `reverses`, once) removes it. The credit area alone does the same
-- (credits/0003_open_holds.sql).
CREATE TABLE credit_open_holds (
    entry_id   INTEGER PRIMARY KEY REFERENCES credit_entries (id),
    account_id BLOB NOT NULL
);
CREATE INDEX credit_open_holds_account ON credit_open_holds (account_id, entry_id);

INSERT INTO credit_open_holds (entry_id, account_id)
SELECT h.id, h.account_id FROM credit_entries h
WHERE h.kind = 'hold' AND NOT EXISTS (SELECT 1 FROM credit_entries e WHERE e.reverses = h.id);

-- WHEN keeps every other entry (a paid run's charge) from running a trigger at all.
CREATE TRIGGER credit_hold_opened AFTER INSERT ON credit_entries
    FOR EACH ROW WHEN NEW.kind = 'hold'
BEGIN
    INSERT INTO credit_open_holds (entry_id, account_id) VALUES (NEW.id, NEW.account_id);
END;

CREATE TRIGGER credit_hold_ended AFTER INSERT ON credit_entries
    FOR EACH ROW WHEN NEW.kind IN ('settle', 'release')
BEGIN
    DELETE FROM credit_open_holds WHERE entry_id = NEW.reverses;
END;

DROP INDEX credit_entries_holds;
