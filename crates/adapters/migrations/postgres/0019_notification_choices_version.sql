-- The users' notification choices get a version in `cache_versions` (see 0017), so that a
-- process can keep who asked to be told about their runs in memory: a run then reads no
-- choices, and a change made through any instance (or straight in the database) moves the
-- version on in its own transaction, which every process sees at its next comparison.
INSERT INTO cache_versions (area, version) VALUES ('notification_preferences', 0);

CREATE FUNCTION notification_preferences_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE area = 'notification_preferences';
    RETURN NULL;
END
$$;

CREATE TRIGGER notification_preferences_version
    AFTER INSERT OR UPDATE OR DELETE ON notification_preferences
    FOR EACH STATEMENT EXECUTE FUNCTION notification_preferences_changed();
