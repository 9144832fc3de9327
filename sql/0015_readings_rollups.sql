-- Readings for years (docs/operations.md, "Data for years"): per-sensor minute and hour
-- aggregates, kept longer than the raw readings. Every UTC day of readings is rolled up once it
-- has ended (the server's maintenance, hourly); a reading that arrives later for a past day
-- marks the day late (readings_late_days) and it is rolled again. Raw daily partitions past storage.retention_days
-- are detached and dropped only once their day is rolled up, never emptied by DELETE; rollup
-- partitions (a month of minutes, a year of hours) go the same way past their own retention.
-- Alarms and their events are never touched.

-- One row per sensor and minute (hour): min, average, max and count of its readings.
-- The average, not the sum: a sum of values near the float8 limit would overflow.
CREATE TABLE readings_1m (
    sensor_key  integer NOT NULL,
    bucket      timestamptz NOT NULL,
    min         double precision NOT NULL,
    avg         double precision NOT NULL,
    max         double precision NOT NULL,
    count       integer NOT NULL,
    PRIMARY KEY (sensor_key, bucket)
) PARTITION BY RANGE (bucket);

CREATE TABLE readings_1h (
    sensor_key  integer NOT NULL,
    bucket      timestamptz NOT NULL,
    min         double precision NOT NULL,
    avg         double precision NOT NULL,
    max         double precision NOT NULL,
    count       integer NOT NULL,
    PRIMARY KEY (sensor_key, bucket)
) PARTITION BY RANGE (bucket);

-- Which UTC days are rolled up, and how many readings went in.
CREATE TABLE readings_rolled_days (
    day        date PRIMARY KEY,
    rows       bigint NOT NULL,
    rolled_at  timestamptz NOT NULL DEFAULT now()
);

-- Past UTC days that received new readings (late or back-filled), written by the writer in the
-- batch's transaction. The roll-up deletes a day's row in a short transaction of its own before
-- rolling it, so the writer never waits behind a roll-up; a reading committed after that delete
-- puts the row back and the day is rolled again.
CREATE TABLE readings_late_days (
    day date PRIMARY KEY
);

-- Rolls one UTC day of raw readings into the minute and hour tables (replacing what was there
-- for that day) and records it. Creates the rollup partitions it needs. Returns the raw rows.
CREATE FUNCTION cityguard_roll_up_day(d date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    day_start timestamptz := d::timestamp AT TIME ZONE 'UTC';
    day_end   timestamptz := (d + 1)::timestamp AT TIME ZONE 'UTC';
    month_start date := date_trunc('month', d)::date;
    year_start date := date_trunc('year', d)::date;
    part text;
    n bigint;
BEGIN
    part := 'readings_1m_' || to_char(month_start, 'YYYYMM');
    IF to_regclass(part) IS NULL THEN
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF readings_1m FOR VALUES FROM (%L) TO (%L)',
                       part, month_start::timestamp AT TIME ZONE 'UTC',
                       (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC');
    END IF;
    part := 'readings_1h_' || to_char(year_start, 'YYYY');
    IF to_regclass(part) IS NULL THEN
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF readings_1h FOR VALUES FROM (%L) TO (%L)',
                       part, year_start::timestamp AT TIME ZONE 'UTC',
                       (year_start + interval '1 year')::timestamp AT TIME ZONE 'UTC');
    END IF;
    DELETE FROM readings_1m WHERE bucket >= day_start AND bucket < day_end;
    DELETE FROM readings_1h WHERE bucket >= day_start AND bucket < day_end;
    INSERT INTO readings_1m (sensor_key, bucket, min, avg, max, count)
        SELECT sensor_key, date_trunc('minute', ts, 'UTC'), min(value), avg(value::numeric)::float8, max(value), count(*)
        FROM readings WHERE ts >= day_start AND ts < day_end
        GROUP BY 1, 2;
    INSERT INTO readings_1h (sensor_key, bucket, min, avg, max, count)
        SELECT sensor_key, date_trunc('hour', bucket, 'UTC'), min(min),
               (sum(avg::numeric * count) / sum(count))::float8, max(max), sum(count)
        FROM readings_1m WHERE bucket >= day_start AND bucket < day_end
        GROUP BY 1, 2;
    SELECT coalesce(sum(count), 0) INTO n FROM readings_1m WHERE bucket >= day_start AND bucket < day_end;
    INSERT INTO readings_rolled_days (day, rows, rolled_at) VALUES (d, n, now())
        ON CONFLICT (day) DO UPDATE SET rows = excluded.rows, rolled_at = excluded.rolled_at;
    RETURN n;
END;
$$;
