-- Alarms: one row per episode of a rule firing on a sensor. Levels are normalised severities:
-- 1 red (重大), 2 orange (较大), 3 yellow (一般), 4 blue (低).
CREATE TABLE alarms (
    id            bigserial PRIMARY KEY,
    rule_id       text NOT NULL,
    site_id       text NOT NULL,
    sensor_id     text NOT NULL,
    domain        text NOT NULL,
    level         smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    peak_level    smallint NOT NULL CHECK (peak_level BETWEEN 1 AND 4),
    condition     text NOT NULL CHECK (condition IN ('active', 'cleared', 'unknown')),
    status        text NOT NULL CHECK (status IN ('open', 'acknowledged', 'handling', 'resolved', 'closed')),
    title         text NOT NULL,
    advice        text NOT NULL,
    value         double precision,
    peak_value    double precision,
    first_ts      timestamptz NOT NULL,
    last_ts       timestamptz NOT NULL,
    cleared_ts    timestamptz,
    count         bigint NOT NULL DEFAULT 1,
    opened_at     timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz,
    close_reason  text
);
-- At most one alarm that is not closed per (rule, sensor), whatever the number of writers.
CREATE UNIQUE INDEX alarms_one_open_per_rule_sensor ON alarms (rule_id, sensor_id) WHERE status <> 'closed';
-- Newest-first listing (ORDER BY id DESC) with each filter.
CREATE INDEX alarms_not_closed ON alarms (id DESC) WHERE status <> 'closed';
CREATE INDEX alarms_status_id ON alarms (status, id DESC);
CREATE INDEX alarms_level_id ON alarms (level, id DESC);
CREATE INDEX alarms_domain_id ON alarms (domain, id DESC);
CREATE INDEX alarms_site_id ON alarms (site_id, id DESC);
CREATE INDEX alarms_sensor_id ON alarms (sensor_id, id DESC);
CREATE INDEX alarms_rule_id ON alarms (rule_id, id DESC);
CREATE INDEX alarms_first_ts ON alarms (first_ts);

-- Every change of every alarm, append-only. `seq` is global and strictly increasing in commit
-- order (writers take an advisory lock first), which the live feed relies on.
CREATE TABLE alarm_events (
    seq         bigserial PRIMARY KEY,
    alarm_id    bigint NOT NULL REFERENCES alarms (id),
    type        text NOT NULL CHECK (type IN ('raised', 'escalated', 'deescalated', 'cleared', 'reactivated',
                                              'unknown', 'acknowledged', 'handling', 'resolved', 'closed')),
    at          timestamptz NOT NULL DEFAULT now(),
    reading_ts  timestamptz,
    actor       text NOT NULL,
    level       smallint CHECK (level BETWEEN 1 AND 4),
    value       double precision,
    note        text NOT NULL DEFAULT ''
);
CREATE INDEX alarm_events_alarm ON alarm_events (alarm_id, seq);

CREATE FUNCTION cityguard_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'alarm_events is append-only';
END;
$$;
CREATE TRIGGER alarm_events_append_only BEFORE UPDATE OR DELETE ON alarm_events
    FOR EACH ROW EXECUTE FUNCTION cityguard_append_only();

-- What the rule engine needs to resume exactly where it stopped: pending on-delays and
-- off-delays, current levels, baselines. Written in the same transaction as the readings that
-- changed it, only when it changes.
CREATE TABLE rule_state (
    rule_id     text NOT NULL,
    sensor_id   text NOT NULL,
    state       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, sensor_id)
);
