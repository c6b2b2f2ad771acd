-- The users' notification choices get a version in `cache_versions` (see 0017), so that a
-- process can keep who asked to be told about their runs in memory: a run then reads no
-- choices, and a change made through any instance (or straight in the database) moves the
-- version on in its own transaction, which every process sees at its next comparison.
INSERT INTO cache_versions (area, version) VALUES ('notification_preferences', 0);

CREATE TRIGGER notification_preferences_inserted AFTER INSERT ON notification_preferences
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE area = 'notification_preferences';
END;

CREATE TRIGGER notification_preferences_updated AFTER UPDATE ON notification_preferences
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE area = 'notification_preferences';
END;

CREATE TRIGGER notification_preferences_deleted AFTER DELETE ON notification_preferences
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE area = 'notification_preferences';
END;
