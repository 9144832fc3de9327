-- Several instances on one database (docs/scaling.md). Each instance registers itself here and
-- refreshes seen_at; the leader is whichever instance's writer connection holds the leadership
-- advisory lock (pg_locks tells, so a dead leader is never reported: PostgreSQL releases the lock
-- with its session). writer_pid is that connection's backend.
CREATE TABLE cluster_members (
    id           text PRIMARY KEY,
    url          text NOT NULL,
    version      text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    seen_at      timestamptz NOT NULL DEFAULT now(),
    writer_pid   int,
    leader_since timestamptz
);

-- Registry and key changes reach every instance at their commit, whichever instance (or SQL
-- session) made them: the payload names what to reload.
CREATE FUNCTION cityguard_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cityguard_changes', TG_ARGV[0]);
    RETURN NULL;
END $$;

CREATE TRIGGER sites_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sites
    FOR EACH STATEMENT EXECUTE FUNCTION cityguard_announce_change('registry');
CREATE TRIGGER sensors_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sensors
    FOR EACH STATEMENT EXECUTE FUNCTION cityguard_announce_change('registry');
-- Keys row by row, so that an instance forgets only what changed: a revoked name (its cached
-- answers go, and it is refused at once), a changed one (looked up again), an added hash (no
-- longer remembered as unknown).
CREATE FUNCTION cityguard_announce_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('cityguard_changes', 'key-revoked:' || OLD.name);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM pg_notify('cityguard_changes', 'key-changed:' || OLD.name);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_notify('cityguard_changes', 'key-added:' || NEW.key_hash);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER api_keys_changed AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION cityguard_announce_key_change();
CREATE TRIGGER api_keys_truncated AFTER TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION cityguard_announce_change('keys');
