-- API keys: only a SHA-256 of the key is stored; the key itself is shown once, at creation.
CREATE TABLE api_keys (
    name        text PRIMARY KEY,
    role        text NOT NULL CHECK (role IN ('gateway', 'operator', 'admin')),
    key_hash    text NOT NULL UNIQUE,   -- hex SHA-256
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A site is one monitored place (a manhole cluster, a bridge, an excavation, a gas station, a plant).
CREATE TABLE sites (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    domain      text NOT NULL CHECK (domain IN ('gas_pipeline', 'bridge', 'ground', 'gas_station',
                                                'chemical_plant', 'major_hazard')),
    district    text NOT NULL,
    lat         double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    address     text,
    attributes  jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sites_domain_idx ON sites (domain);

-- A sensor is one measured channel at a site. `key` is the compact id that readings carry,
-- so the hot table stays narrow (4 bytes instead of the text id).
CREATE TABLE sensors (
    id          text PRIMARY KEY,
    key         integer GENERATED ALWAYS AS IDENTITY UNIQUE,
    site_id     text NOT NULL REFERENCES sites (id),
    kind        text NOT NULL,
    unit        text NOT NULL,
    lat         double precision CHECK (lat BETWEEN -90 AND 90),
    lon         double precision CHECK (lon BETWEEN -180 AND 180),
    interval_s  integer NOT NULL CHECK (interval_s > 0),
    limits      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sensors_site_idx ON sensors (site_id);
CREATE INDEX sensors_kind_idx ON sensors (kind);

-- Readings, partitioned by day. The primary key makes (sensor, ts) the identity of a reading
-- (idempotent ingest) and serves per-sensor time-range queries. No foreign key: the server
-- validates sensors before writing, and a per-row FK check would halve COPY throughput.
CREATE TABLE readings (
    sensor_key  integer NOT NULL,
    ts          timestamptz NOT NULL,
    value       double precision NOT NULL,
    PRIMARY KEY (sensor_key, ts)
) PARTITION BY RANGE (ts);

-- Creates the daily partitions covering [first_day, last_day]; existing ones are left alone.
CREATE FUNCTION cityguard_ensure_partitions(first_day date, last_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d date := first_day;
    created integer := 0;
    part text;
BEGIN
    WHILE d <= last_day LOOP
        part := 'readings_' || to_char(d, 'YYYYMMDD');
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF readings FOR VALUES FROM (%L) TO (%L)',
                           part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN created;
END;
$$;
