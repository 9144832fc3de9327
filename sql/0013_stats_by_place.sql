-- Statistics rollups sized for a city's year (docs/statistics.md, "How it stays fast").
--
-- 0012 kept one row per (day, site, level): a million alarms spread over 2,500 sites made
-- 690,000 rows, and a year's table took seconds to add up. Alarms are now counted three times,
-- each table answering the questions it is small enough for:
--   alarm_stats_daily        (day, domain, district, level): every grouping by time, domain,
--                            district or level; at most days × 6 × districts × 4 rows
--   alarm_stats_site_monthly (month, site): by site or unit, the months the range covers whole
--   alarm_stats_site_daily   (day, site): the same for the days at the range's ends, and one
--                            site's file
-- Histograms have a 15th slot that is never counted: the slot a delta without a duration adds 0 to.

DROP TRIGGER alarms_stats_insert ON alarms;
DROP TRIGGER alarms_stats_update ON alarms;
DROP TRIGGER alarms_stats_delete ON alarms;
DROP FUNCTION cityguard_rebuild_stats();
DROP FUNCTION cityguard_alarm_stats_apply(alarms, integer);
DROP TABLE alarm_stats_daily;

CREATE TABLE alarm_stats_daily (
    day            date NOT NULL,        -- the day the alarm was opened, in stats_settings.time_zone
    domain         text NOT NULL,
    district       text NOT NULL,        -- its site's when it was opened ('' for a named group's alarm)
    level          smallint NOT NULL,    -- its peak level
    raised         integer NOT NULL DEFAULT 0,
    raised_red     integer NOT NULL DEFAULT 0,
    raised_orange  integer NOT NULL DEFAULT 0,
    raised_yellow  integer NOT NULL DEFAULT 0,
    raised_blue    integer NOT NULL DEFAULT 0,
    acknowledged   integer NOT NULL DEFAULT 0,
    ack_hist       integer[] NOT NULL DEFAULT array_fill(0, ARRAY[15]),
    closed         integer NOT NULL DEFAULT 0,
    close_hist     integer[] NOT NULL DEFAULT array_fill(0, ARRAY[15]),
    false_alarm    integer NOT NULL DEFAULT 0,
    device_fault   integer NOT NULL DEFAULT 0,
    disposed       integer NOT NULL DEFAULT 0,
    disposed_late  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, domain, district, level)
);
CREATE TABLE alarm_stats_site_monthly (LIKE alarm_stats_daily INCLUDING DEFAULTS);
ALTER TABLE alarm_stats_site_monthly DROP COLUMN day, DROP COLUMN district, DROP COLUMN level,
    ADD COLUMN month date NOT NULL, ADD COLUMN site_id text NOT NULL, ADD PRIMARY KEY (month, site_id, domain);
CREATE TABLE alarm_stats_site_daily (LIKE alarm_stats_daily INCLUDING DEFAULTS);
ALTER TABLE alarm_stats_site_daily DROP COLUMN district, DROP COLUMN level,
    ADD COLUMN site_id text NOT NULL, ADD PRIMARY KEY (day, site_id, domain);
CREATE INDEX alarm_stats_site_daily_site ON alarm_stats_site_daily (site_id, day);

-- Adds `sign` (+1 or -1) times one alarm's contribution to its row of each table.
CREATE FUNCTION cityguard_alarm_stats_apply(a alarms, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d date;
    dist text;
    red integer := CASE WHEN a.peak_level = 1 THEN sign ELSE 0 END;
    orange integer := CASE WHEN a.peak_level = 2 THEN sign ELSE 0 END;
    yellow integer := CASE WHEN a.peak_level = 3 THEN sign ELSE 0 END;
    blue integer := CASE WHEN a.peak_level = 4 THEN sign ELSE 0 END;
    ack integer := CASE WHEN a.acknowledged_at IS NOT NULL THEN sign ELSE 0 END;
    ack_b integer := 15;
    cls integer := CASE WHEN a.status = 'closed' AND a.closed_at IS NOT NULL THEN sign ELSE 0 END;
    cls_b integer := 15;
    fa integer := CASE WHEN a.status = 'closed' AND a.close_reason = 'false_alarm' THEN sign ELSE 0 END;
    df integer := CASE WHEN a.status = 'closed' AND a.close_reason = 'device_fault' THEN sign ELSE 0 END;
    dp integer := CASE WHEN a.disposed_at IS NOT NULL THEN sign ELSE 0 END;
    dl integer := CASE WHEN a.disposed_at IS NOT NULL AND a.disposal_late THEN sign ELSE 0 END;
    ack_h integer[] := array_fill(0, ARRAY[15]);  -- what a new row starts with
    cls_h integer[] := array_fill(0, ARRAY[15]);
BEGIN
    SELECT (a.opened_at AT TIME ZONE s.time_zone)::date INTO d FROM stats_settings s;
    SELECT coalesce((SELECT x.district FROM sites x WHERE x.id = a.site_id), '') INTO dist;
    IF ack <> 0 THEN ack_b := cityguard_duration_bucket(extract(epoch FROM a.acknowledged_at - a.opened_at)); END IF;
    IF cls <> 0 THEN cls_b := cityguard_duration_bucket(extract(epoch FROM a.closed_at - a.opened_at)); END IF;
    ack_h[ack_b] := ack;
    cls_h[cls_b] := cls;

    INSERT INTO alarm_stats_daily AS r (day, domain, district, level, raised, raised_red, raised_orange, raised_yellow,
        raised_blue, acknowledged, ack_hist, closed, close_hist, false_alarm, device_fault, disposed, disposed_late)
    VALUES (d, a.domain, dist, a.peak_level, sign, red, orange, yellow, blue, ack, ack_h, cls,
        cls_h, fa, df, dp, dl)
    ON CONFLICT (day, domain, district, level) DO UPDATE SET raised = r.raised + sign,
        raised_red = r.raised_red + red, raised_orange = r.raised_orange + orange,
        raised_yellow = r.raised_yellow + yellow, raised_blue = r.raised_blue + blue,
        acknowledged = r.acknowledged + ack, ack_hist[ack_b] = r.ack_hist[ack_b] + ack,
        closed = r.closed + cls, close_hist[cls_b] = r.close_hist[cls_b] + cls,
        false_alarm = r.false_alarm + fa, device_fault = r.device_fault + df,
        disposed = r.disposed + dp, disposed_late = r.disposed_late + dl;

    INSERT INTO alarm_stats_site_monthly AS r (month, site_id, domain, raised, raised_red, raised_orange, raised_yellow,
        raised_blue, acknowledged, ack_hist, closed, close_hist, false_alarm, device_fault, disposed, disposed_late)
    VALUES (date_trunc('month', d)::date, a.site_id, a.domain, sign, red, orange, yellow, blue, ack,
        ack_h, cls, cls_h, fa, df, dp, dl)
    ON CONFLICT (month, site_id, domain) DO UPDATE SET raised = r.raised + sign,
        raised_red = r.raised_red + red, raised_orange = r.raised_orange + orange,
        raised_yellow = r.raised_yellow + yellow, raised_blue = r.raised_blue + blue,
        acknowledged = r.acknowledged + ack, ack_hist[ack_b] = r.ack_hist[ack_b] + ack,
        closed = r.closed + cls, close_hist[cls_b] = r.close_hist[cls_b] + cls,
        false_alarm = r.false_alarm + fa, device_fault = r.device_fault + df,
        disposed = r.disposed + dp, disposed_late = r.disposed_late + dl;

    INSERT INTO alarm_stats_site_daily AS r (day, site_id, domain, raised, raised_red, raised_orange, raised_yellow,
        raised_blue, acknowledged, ack_hist, closed, close_hist, false_alarm, device_fault, disposed, disposed_late)
    VALUES (d, a.site_id, a.domain, sign, red, orange, yellow, blue, ack, ack_h, cls,
        cls_h, fa, df, dp, dl)
    ON CONFLICT (day, site_id, domain) DO UPDATE SET raised = r.raised + sign,
        raised_red = r.raised_red + red, raised_orange = r.raised_orange + orange,
        raised_yellow = r.raised_yellow + yellow, raised_blue = r.raised_blue + blue,
        acknowledged = r.acknowledged + ack, ack_hist[ack_b] = r.ack_hist[ack_b] + ack,
        closed = r.closed + cls, close_hist[cls_b] = r.close_hist[cls_b] + cls,
        false_alarm = r.false_alarm + fa, device_fault = r.device_fault + df,
        disposed = r.disposed + dp, disposed_late = r.disposed_late + dl;
END;
$$;

CREATE TRIGGER alarms_stats_insert AFTER INSERT ON alarms FOR EACH ROW EXECUTE FUNCTION cityguard_alarm_stats_track();
CREATE TRIGGER alarms_stats_update AFTER UPDATE ON alarms FOR EACH ROW
    WHEN (OLD.peak_level IS DISTINCT FROM NEW.peak_level OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.acknowledged_at IS DISTINCT FROM NEW.acknowledged_at OR OLD.disposed_at IS DISTINCT FROM NEW.disposed_at
          OR OLD.closed_at IS DISTINCT FROM NEW.closed_at OR OLD.close_reason IS DISTINCT FROM NEW.close_reason)
    EXECUTE FUNCTION cityguard_alarm_stats_track();
CREATE TRIGGER alarms_stats_delete AFTER DELETE ON alarms FOR EACH ROW EXECUTE FUNCTION cityguard_alarm_stats_track();

CREATE FUNCTION cityguard_rebuild_stats() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM alarm_stats_daily;
    DELETE FROM alarm_stats_site_monthly;
    DELETE FROM alarm_stats_site_daily;
    PERFORM cityguard_alarm_stats_apply(a, 1) FROM alarms a;
    DELETE FROM reading_counts_daily;
    INSERT INTO reading_counts_daily (day, domain, district, readings)
    SELECT (r.ts AT TIME ZONE st.time_zone)::date, s.domain, s.district, count(*)
    FROM readings r JOIN sensors se ON se.key = r.sensor_key JOIN sites s ON s.id = se.site_id CROSS JOIN stats_settings st
    GROUP BY 1, 2, 3;
END;
$$;

DO $$
BEGIN
    DELETE FROM alarm_stats_daily;
    PERFORM cityguard_alarm_stats_apply(a, 1) FROM alarms a;
END;
$$;
