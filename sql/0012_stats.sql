-- Statistics for the command center and the monthly report (docs/statistics.md).
--
-- GET /api/v1/stats reads rollups, never a year of raw rows. Both are maintained as the data
-- arrives, in the transaction that changes it, never by a rescan on a timer:
--   alarm_stats_daily    by triggers on alarms: each alarm counts once, in the row of the day it
--                        was opened, its site and its peak level; when its peak level or status
--                        changes, its old contribution is taken out and the new one put in;
--   reading_counts_daily by the writer, one statement per readings batch (only new rows count).

-- When operators first responded to an alarm and when it was disposed of, kept on the alarm.
ALTER TABLE alarms
    ADD COLUMN acknowledged_at        timestamptz,   -- first left 'open' (acknowledged, or closed directly)
    ADD COLUMN disposed_at            timestamptz,   -- first resolved or closed
    ADD COLUMN overdue_at             timestamptz,   -- first passed its disposal deadline (disposal_overdue)
    ADD COLUMN has_disposal_deadline  boolean NOT NULL DEFAULT false,
    ADD COLUMN disposal_late          boolean;       -- decided when it is disposed of

-- What the triggers need from the server's configuration (stats.time_zone,
-- stats.default_disposal_s), written by the server at start-up: one row.
CREATE TABLE stats_settings (
    singleton           boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    time_zone           text NOT NULL DEFAULT 'Asia/Shanghai',
    default_disposal_s  integer NOT NULL DEFAULT 28800 CHECK (default_disposal_s > 0)
);
INSERT INTO stats_settings DEFAULT VALUES;

-- Durations (time to acknowledge, time to close) are counted in 14 buckets whose lower bounds,
-- in seconds, are 0 and these; quantiles are interpolated within a bucket, as Prometheus does.
CREATE FUNCTION cityguard_duration_bucket(seconds double precision) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN 1 + width_bucket(seconds, ARRAY[60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800]::double precision[]);

CREATE TABLE alarm_stats_daily (
    day            date NOT NULL,       -- the day the alarm was opened, in stats_settings.time_zone
    site_id        text NOT NULL,       -- a site, or a named group's "group:NAME"
    domain         text NOT NULL,
    level          smallint NOT NULL,   -- the alarm's peak level
    raised         integer NOT NULL DEFAULT 0,
    acknowledged   integer NOT NULL DEFAULT 0,
    ack_hist       integer[] NOT NULL DEFAULT array_fill(0, ARRAY[14]),
    closed         integer NOT NULL DEFAULT 0,
    close_hist     integer[] NOT NULL DEFAULT array_fill(0, ARRAY[14]),
    false_alarm    integer NOT NULL DEFAULT 0,   -- closed with reason false_alarm
    device_fault   integer NOT NULL DEFAULT 0,   -- closed with reason device_fault
    disposed       integer NOT NULL DEFAULT 0,
    disposed_late  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, site_id, domain, level)
);

-- Adds `sign` (+1 or -1) times one alarm's contribution to its row.
CREATE FUNCTION cityguard_alarm_stats_apply(a alarms, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d date;
    b integer;
BEGIN
    SELECT (a.opened_at AT TIME ZONE s.time_zone)::date INTO d FROM stats_settings s;
    INSERT INTO alarm_stats_daily AS r (day, site_id, domain, level, raised) VALUES (d, a.site_id, a.domain, a.peak_level, sign)
        ON CONFLICT (day, site_id, domain, level) DO UPDATE SET raised = r.raised + sign;
    IF a.acknowledged_at IS NOT NULL THEN
        b := cityguard_duration_bucket(extract(epoch FROM a.acknowledged_at - a.opened_at));
        UPDATE alarm_stats_daily SET acknowledged = acknowledged + sign, ack_hist[b] = ack_hist[b] + sign
            WHERE day = d AND site_id = a.site_id AND domain = a.domain AND level = a.peak_level;
    END IF;
    IF a.status = 'closed' AND a.closed_at IS NOT NULL THEN
        b := cityguard_duration_bucket(extract(epoch FROM a.closed_at - a.opened_at));
        UPDATE alarm_stats_daily SET closed = closed + sign, close_hist[b] = close_hist[b] + sign,
                false_alarm = false_alarm + CASE WHEN a.close_reason = 'false_alarm' THEN sign ELSE 0 END,
                device_fault = device_fault + CASE WHEN a.close_reason = 'device_fault' THEN sign ELSE 0 END
            WHERE day = d AND site_id = a.site_id AND domain = a.domain AND level = a.peak_level;
    END IF;
    IF a.disposed_at IS NOT NULL THEN
        UPDATE alarm_stats_daily SET disposed = disposed + sign,
                disposed_late = disposed_late + CASE WHEN a.disposal_late THEN sign ELSE 0 END
            WHERE day = d AND site_id = a.site_id AND domain = a.domain AND level = a.peak_level;
    END IF;
END;
$$;

-- The first response, the disposal and whether it was late, stamped on the alarm row.
CREATE FUNCTION cityguard_alarm_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.dispose_due IS NOT NULL THEN
        NEW.has_disposal_deadline := true;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF OLD.status = 'open' AND NEW.status <> 'open' AND NEW.acknowledged_at IS NULL THEN
            NEW.acknowledged_at := now();
        END IF;
        IF OLD.status IN ('open', 'acknowledged', 'handling') AND NEW.status IN ('resolved', 'closed')
           AND NEW.disposed_at IS NULL THEN
            NEW.disposed_at := now();
            NEW.disposal_late := NEW.overdue_at IS NOT NULL OR (NOT NEW.has_disposal_deadline AND
                now() - NEW.opened_at > make_interval(secs => (SELECT default_disposal_s FROM stats_settings)));
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER alarms_stamp BEFORE INSERT OR UPDATE ON alarms FOR EACH ROW EXECUTE FUNCTION cityguard_alarm_stamp();

CREATE FUNCTION cityguard_alarm_stats_track() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM cityguard_alarm_stats_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM cityguard_alarm_stats_apply(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER alarms_stats_insert AFTER INSERT ON alarms FOR EACH ROW EXECUTE FUNCTION cityguard_alarm_stats_track();
-- Most updates (a new reading's value, last_ts, count) change nothing the statistics count.
CREATE TRIGGER alarms_stats_update AFTER UPDATE ON alarms FOR EACH ROW
    WHEN (OLD.peak_level IS DISTINCT FROM NEW.peak_level OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.acknowledged_at IS DISTINCT FROM NEW.acknowledged_at OR OLD.disposed_at IS DISTINCT FROM NEW.disposed_at
          OR OLD.closed_at IS DISTINCT FROM NEW.closed_at OR OLD.close_reason IS DISTINCT FROM NEW.close_reason)
    EXECUTE FUNCTION cityguard_alarm_stats_track();
CREATE TRIGGER alarms_stats_delete AFTER DELETE ON alarms FOR EACH ROW EXECUTE FUNCTION cityguard_alarm_stats_track();

-- A disposal deadline that passed: kept on the alarm for "overdue now" and the disposal rate.
CREATE FUNCTION cityguard_alarm_overdue() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE alarms SET overdue_at = NEW.at WHERE id = NEW.alarm_id AND overdue_at IS NULL;
    RETURN NULL;
END;
$$;
CREATE TRIGGER alarm_events_overdue AFTER INSERT ON alarm_events FOR EACH ROW
    WHEN (NEW.type = 'disposal_overdue') EXECUTE FUNCTION cityguard_alarm_overdue();

-- Readings received per day (in stats_settings.time_zone), domain and district, for data
-- completeness: received / expected from each sensor's interval_s.
CREATE TABLE reading_counts_daily (
    day       date NOT NULL,
    domain    text NOT NULL,
    district  text NOT NULL,
    readings  bigint NOT NULL,
    PRIMARY KEY (day, domain, district)
);

-- Rebuilds both rollups from the stored rows: run by this migration for existing data, and by
-- the server when stats.time_zone changes (the day an alarm or reading falls on moves).
CREATE FUNCTION cityguard_rebuild_stats() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM alarm_stats_daily;
    PERFORM cityguard_alarm_stats_apply(a, 1) FROM alarms a;
    DELETE FROM reading_counts_daily;
    INSERT INTO reading_counts_daily (day, domain, district, readings)
    SELECT (r.ts AT TIME ZONE st.time_zone)::date, s.domain, s.district, count(*)
    FROM readings r JOIN sensors se ON se.key = r.sensor_key JOIN sites s ON s.id = se.site_id CROSS JOIN stats_settings st
    GROUP BY 1, 2, 3;
END;
$$;

-- Existing alarms: their first response and disposal from their events.
UPDATE alarms a SET
    acknowledged_at = (SELECT min(e.at) FROM alarm_events e WHERE e.alarm_id = a.id
                       AND e.type IN ('acknowledged', 'handling', 'resolved', 'closed')),
    disposed_at = (SELECT min(e.at) FROM alarm_events e WHERE e.alarm_id = a.id AND e.type IN ('resolved', 'closed')),
    overdue_at = (SELECT min(e.at) FROM alarm_events e WHERE e.alarm_id = a.id AND e.type = 'disposal_overdue'),
    has_disposal_deadline = dispose_due IS NOT NULL
    OR EXISTS (SELECT 1 FROM alarm_events e WHERE e.alarm_id = a.id AND e.type = 'disposal_overdue');
UPDATE alarms SET disposal_late = overdue_at IS NOT NULL OR (NOT has_disposal_deadline AND disposed_at - opened_at > interval '8 hours')
    WHERE disposed_at IS NOT NULL;
SELECT cityguard_rebuild_stats();
