#pragma once
// Every SQL statement the server runs outside migrations. Each name doubles as the
// prepared-statement name; values always travel as $n parameters.

namespace cityguard::store::queries {

struct query {
    const char* name;
    const char* sql;
};

// Session settings of every connection (open_connection), and the health check.
inline constexpr const char* session_time_zone = "SET TimeZone = 'UTC'";
inline constexpr const char* session_application_name = "SET application_name = 'cityguard'";
inline constexpr const char* session_statement_timeout = "SET statement_timeout = ";  // + milliseconds
inline constexpr const char* ping = "SELECT 1";

inline constexpr query find_key_by_hash{"find_key_by_hash", "SELECT name, role FROM api_keys WHERE key_hash = $1"};
inline constexpr query insert_key{
    "insert_key",
    "INSERT INTO api_keys (name, role, key_hash) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING name"};
inline constexpr query upsert_key{
    "upsert_key",
    "INSERT INTO api_keys (name, role, key_hash) VALUES ($1, $2, $3) "
    "ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, key_hash = EXCLUDED.key_hash"};
inline constexpr query list_keys{
    "list_keys", "SELECT name, role, (extract(epoch FROM created_at) * 1000000)::bigint FROM api_keys ORDER BY name"};
inline constexpr query delete_key{"delete_key", "DELETE FROM api_keys WHERE name = $1 RETURNING name"};
inline constexpr query count_admin_keys{"count_admin_keys", "SELECT count(*) FROM api_keys WHERE role = 'admin'"};

inline constexpr query upsert_site{
    "upsert_site",
    "INSERT INTO sites (id, name, domain, district, lat, lon, address, attributes) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, domain = EXCLUDED.domain, district = EXCLUDED.district, "
    "lat = EXCLUDED.lat, lon = EXCLUDED.lon, address = EXCLUDED.address, attributes = EXCLUDED.attributes, "
    "updated_at = now() "
    "RETURNING (xmax = 0) AS inserted"};
inline constexpr query upsert_sensor{
    "upsert_sensor",
    "INSERT INTO sensors (id, site_id, kind, unit, lat, lon, interval_s, limits, groups) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb) "
    "ON CONFLICT (id) DO UPDATE SET site_id = EXCLUDED.site_id, kind = EXCLUDED.kind, unit = EXCLUDED.unit, "
    "lat = EXCLUDED.lat, lon = EXCLUDED.lon, interval_s = EXCLUDED.interval_s, limits = EXCLUDED.limits, "
    "groups = EXCLUDED.groups, "
    "updated_at = now() "
    "RETURNING (xmax = 0) AS inserted"};
inline constexpr query existing_site_ids{"existing_site_ids", "SELECT id FROM sites WHERE id = ANY($1::text[])"};

#define CITYGUARD_SITE_COLUMNS "s.id, s.name, s.domain, s.district, s.lat, s.lon, s.address, s.attributes::text, "
inline constexpr query list_sites{
    "list_sites",
    "SELECT " CITYGUARD_SITE_COLUMNS
    "(SELECT count(*) FROM sensors x WHERE x.site_id = s.id) "
    "FROM sites s WHERE ($1::text IS NULL OR s.domain = $1) AND ($2::text IS NULL OR s.district = $2) "
    "ORDER BY s.id"};
inline constexpr query get_site{
    "get_site",
    "SELECT " CITYGUARD_SITE_COLUMNS
    "(SELECT count(*) FROM sensors x WHERE x.site_id = s.id) FROM sites s WHERE s.id = $1"};
#undef CITYGUARD_SITE_COLUMNS

// The latest reading per sensor is one backward index probe per partition at most, and the
// partitions are scanned newest first, so it stays cheap for the handful of sensors of a site.
#define CITYGUARD_SENSOR_COLUMNS \
    "s.id, s.key, s.site_id, s.kind, s.unit, s.lat, s.lon, s.interval_s, s.limits::text, s.groups::text"
#define CITYGUARD_LATEST_JOIN                                                                                 \
    " LEFT JOIN LATERAL (SELECT (extract(epoch FROM r.ts) * 1000000)::bigint AS ts, r.value FROM readings r " \
    "WHERE r.sensor_key = s.key ORDER BY r.ts DESC LIMIT 1) l ON true "
inline constexpr query list_sensors{
    "list_sensors",
    "SELECT " CITYGUARD_SENSOR_COLUMNS
    ", NULL::bigint, NULL::float8 FROM sensors s "
    "WHERE ($1::text IS NULL OR s.site_id = $1) AND ($2::text IS NULL OR s.kind = $2) "
    "AND ($3::text IS NULL OR s.groups ? $3) ORDER BY s.id"};
inline constexpr query sensors_of_site{
    "sensors_of_site",
    "SELECT " CITYGUARD_SENSOR_COLUMNS ", l.ts, l.value FROM sensors s" CITYGUARD_LATEST_JOIN
    "WHERE s.site_id = $1 ORDER BY s.id"};
inline constexpr query get_sensor{
    "get_sensor",
    "SELECT " CITYGUARD_SENSOR_COLUMNS ", l.ts, l.value FROM sensors s" CITYGUARD_LATEST_JOIN "WHERE s.id = $1"};
inline constexpr query sensor_directory{
    "sensor_directory",
    "SELECT s.id, s.key, s.site_id, s.kind, s.interval_s, si.domain, s.limits::text, s.lat, s.lon, s.groups::text "
    "FROM sensors s "
    "JOIN sites si ON si.id = s.site_id"};
#undef CITYGUARD_SENSOR_COLUMNS
#undef CITYGUARD_LATEST_JOIN

inline constexpr query readings_range{
    "readings_range",
    "SELECT (extract(epoch FROM ts) * 1000000)::bigint, value FROM readings "
    "WHERE sensor_key = $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz "
    "ORDER BY ts LIMIT $4"};
inline constexpr query readings_buckets{
    "readings_buckets",
    "SELECT (extract(epoch FROM b) * 1000000)::bigint, "
    // numeric: a float8 sum of values near its limit would overflow, and PostgreSQL errors on that.
    "min(value), avg(value::numeric)::float8, max(value), count(*) FROM ("
    "SELECT date_bin(make_interval(secs => $4), ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS b, value FROM readings "
    "WHERE sensor_key = $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz"
    ") q GROUP BY b ORDER BY b"};

inline constexpr query ensure_partitions{"ensure_partitions", "SELECT cityguard_ensure_partitions($1::date, $2::date)"};
// The writer connection's own staging table for batches that repeat stored readings.
inline constexpr const char* create_readings_staging =
    "CREATE TEMP TABLE IF NOT EXISTS readings_staging "
    "(sensor_key integer, ts timestamptz, value double precision) ON COMMIT DELETE ROWS";
inline constexpr query staged_insert{
    "staged_insert",
    "INSERT INTO readings (sensor_key, ts, value) SELECT sensor_key, ts, value FROM readings_staging "
    "ON CONFLICT DO NOTHING RETURNING sensor_key, (extract(epoch FROM ts) * 1000000)::bigint"};

#define CITYGUARD_EPOCH(x) "(extract(epoch FROM " x ") * 1000000)::bigint"
#define CITYGUARD_ALARM_COLUMNS                                                                                  \
    "id, rule_id, site_id, sensor_id, domain, level, peak_level, condition, status, title, advice, value, "      \
    "peak_value, " CITYGUARD_EPOCH("first_ts") ", " CITYGUARD_EPOCH("last_ts") ", " CITYGUARD_EPOCH("cleared_ts" \
    ) ", count, " CITYGUARD_EPOCH("opened_at") ", " CITYGUARD_EPOCH("closed_at"                                  \
    ) ", close_reason, category, title_en, advice_en, members::text, inhibited_by"

inline constexpr query insert_alarm{
    "insert_alarm",
    "INSERT INTO alarms (rule_id, site_id, sensor_id, domain, level, peak_level, condition, status, title, advice, "
    "value, peak_value, first_ts, last_ts, cleared_ts, count, opened_at, category, title_en, advice_en, members, "
    "inhibited_by) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21::jsonb, "
    "$22) "
    // Another server process opened this (rule, sensor) meanwhile: merge into its alarm.
    "ON CONFLICT (rule_id, site_id, sensor_id) WHERE status <> 'closed' DO UPDATE SET level = EXCLUDED.level, "
    "peak_level = LEAST(alarms.peak_level, EXCLUDED.peak_level), condition = EXCLUDED.condition, "
    "title = EXCLUDED.title, advice = EXCLUDED.advice, title_en = EXCLUDED.title_en, "
    "advice_en = EXCLUDED.advice_en, members = EXCLUDED.members, inhibited_by = EXCLUDED.inhibited_by, "
    "value = EXCLUDED.value, "
    "last_ts = GREATEST(alarms.last_ts, EXCLUDED.last_ts), cleared_ts = NULL, count = alarms.count + EXCLUDED.count "
    "RETURNING id"};
inline constexpr query update_alarm{
    "update_alarm",
    "UPDATE alarms SET level = $2, peak_level = $3, condition = $4, status = $5, title = $6, advice = $7, value = $8, "
    "peak_value = $9, last_ts = $10, cleared_ts = $11, count = $12, closed_at = $13, close_reason = $14, "
    "title_en = $15, advice_en = $16, members = $17::jsonb, inhibited_by = $18 WHERE id = $1"};
inline constexpr query insert_event{
    "insert_event",
    "INSERT INTO alarm_events (alarm_id, type, at, reading_ts, actor, level, value, note, alarm) "
    "SELECT $1, $2, $3, $4, $5, $6, $7, $8, to_jsonb(a) FROM alarms a WHERE a.id = $1 RETURNING seq"};
// Delivered to every listening server process when the writing transaction commits.
inline constexpr query notify_events{"notify_events", "SELECT pg_notify('cityguard_events', $1)"};
inline constexpr query max_event_seq{"max_event_seq", "SELECT COALESCE(max(seq), 0) FROM alarm_events"};
inline constexpr query upsert_rule_state{
    "upsert_rule_state",
    "INSERT INTO rule_state (rule_id, sensor_id, state) VALUES ($1, $2, $3::jsonb) "
    "ON CONFLICT (rule_id, sensor_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()"};
inline constexpr query lock_event_order{"lock_event_order", "SELECT pg_advisory_xact_lock(437356841)"};

inline constexpr query get_alarm{"get_alarm", "SELECT " CITYGUARD_ALARM_COLUMNS " FROM alarms WHERE id = $1"};
inline constexpr query not_closed_alarms{
    "not_closed_alarms", "SELECT " CITYGUARD_ALARM_COLUMNS " FROM alarms WHERE status <> 'closed' ORDER BY id"};
inline constexpr query events_of_alarm{
    "events_of_alarm",
    "SELECT seq, alarm_id, type, " CITYGUARD_EPOCH("at") ", " CITYGUARD_EPOCH("reading_ts"
    ) ", actor, level, value, note "
      "FROM alarm_events WHERE alarm_id = $1 ORDER BY seq"};
inline constexpr query all_rule_states{"all_rule_states", "SELECT rule_id, sensor_id, state::text FROM rule_state"};
inline constexpr query latest_readings{
    "latest_readings",
    "SELECT s.id, " CITYGUARD_EPOCH("l.ts"
    ) ", l.value FROM sensors s CROSS JOIN LATERAL "
      "(SELECT ts, value FROM readings r WHERE r.sensor_key = s.key ORDER BY ts DESC LIMIT 1) l"};
// The readings a restart feeds back into the rules' windows: per sensor key, those from
// `from` on, thinned to the first of each `step` aligned to the epoch (as the windows and series
// sample them), so the restored samples are the ones the live engine kept.
inline constexpr query recent_readings{
    "recent_readings",
    "SELECT DISTINCT ON (w.key, " CITYGUARD_EPOCH("r.ts") " / w.step_us) w.key, " CITYGUARD_EPOCH("r.ts"
    ) ", r.value "
      "FROM unnest($1::int[], $2::bigint[], $3::bigint[]) AS w(key, from_us, step_us) "
      "JOIN readings r ON r.sensor_key = w.key AND r.ts >= to_timestamp(w.from_us / 1000000.0) "
      "ORDER BY w.key, " CITYGUARD_EPOCH("r.ts") " / w.step_us, r.ts"};
// Replay: the stored readings of some sensors over a time range, in the order the live engine
// saw them (by time; ties by sensor).
inline constexpr query readings_between{
    "readings_between",
    "SELECT sensor_key, " CITYGUARD_EPOCH("ts"
    ) ", value FROM readings WHERE sensor_key = ANY($1::int[]) AND "
      "ts >= to_timestamp($2::bigint / 1000000.0) AND ts < to_timestamp($3::bigint / 1000000.0) "
      "ORDER BY ts, sensor_key LIMIT $4"};
// Events after a position with the alarm as it was right after each (the alarm columns first, in
// the order of CITYGUARD_ALARM_COLUMNS, then the event's as event_from() reads them).
inline constexpr query events_after{
    "events_after",
    "SELECT " CITYGUARD_ALARM_COLUMNS
    ", ev_seq, ev_alarm, ev_type, ev_at, ev_reading_ts, ev_actor, ev_level, ev_value, ev_note FROM ("
    "SELECT e.seq AS ev_seq, e.alarm_id AS ev_alarm, e.type AS ev_type, " CITYGUARD_EPOCH("e.at"
    ) " AS ev_at, " CITYGUARD_EPOCH("e.reading_ts"
    ) " AS ev_reading_ts, e.actor AS ev_actor, e.level AS ev_level, "
      "e.value AS ev_value, e.note AS ev_note, "
      "COALESCE(e.alarm, (SELECT to_jsonb(c) FROM alarms c WHERE c.id = e.alarm_id)) AS snap "
      "FROM alarm_events e WHERE e.seq > $1 ORDER BY e.seq LIMIT $2) ev "
      "CROSS JOIN LATERAL jsonb_populate_record(NULL::alarms, ev.snap) ORDER BY ev_seq"};
// Not prepared: planned with the actual filter values, so each filter uses its own index.
inline constexpr const char* list_alarms_sql =
    "SELECT " CITYGUARD_ALARM_COLUMNS
    " FROM alarms WHERE "
    "($1::text[] IS NULL OR status = ANY($1::text[])) AND ($2::boolean IS NOT TRUE OR status <> 'closed') AND "
    "($3::smallint[] IS NULL OR level = ANY($3::smallint[])) AND ($4::text[] IS NULL OR domain = ANY($4::text[])) AND "
    "($5::text[] IS NULL OR site_id = ANY($5::text[])) AND ($6::text[] IS NULL OR sensor_id = ANY($6::text[])) AND "
    "($7::text[] IS NULL OR rule_id = ANY($7::text[])) AND ($8::timestamptz IS NULL OR first_ts >= $8) AND "
    "($9::timestamptz IS NULL OR first_ts < $9) AND ($10::bigint IS NULL OR id < $10) AND "
    "($12::text[] IS NULL OR category = ANY($12::text[])) AND "
    "($13::boolean IS NULL OR (inhibited_by IS NOT NULL) = $13) "
    "ORDER BY id DESC LIMIT $11";
inline constexpr query count_by_domain{"count_sites_by_domain", "SELECT domain, count(*) FROM sites GROUP BY domain"};
inline constexpr query count_sensors_by_domain{
    "count_sensors_by_domain",
    "SELECT si.domain, count(*) FROM sensors s JOIN sites si ON si.id = s.site_id GROUP BY si.domain"};
inline constexpr query active_by_level{
    "active_by_level",
    "SELECT level, count(*) FROM alarms WHERE status <> 'closed' AND category = 'process' GROUP BY level"};
inline constexpr query active_by_domain{
    "active_by_domain",
    "SELECT domain, count(*) FROM alarms WHERE status <> 'closed' AND category = 'process' GROUP BY domain"};
inline constexpr query sensors_offline{
    "sensors_offline",
    "SELECT count(DISTINCT sensor_id) FILTER (WHERE category = 'offline'), "
    "count(DISTINCT sensor_id) FILTER (WHERE category = 'fault') "
    "FROM alarms WHERE status <> 'closed' AND condition = 'active' AND category <> 'process'"};
inline constexpr query oldest_unacknowledged_red{
    "oldest_unacknowledged_red",
    "SELECT " CITYGUARD_ALARM_COLUMNS " FROM alarms WHERE status = 'open' AND level = 1 ORDER BY id LIMIT 1"};
#undef CITYGUARD_EPOCH
#undef CITYGUARD_ALARM_COLUMNS

inline constexpr query all[] = {
    find_key_by_hash,
    insert_key,
    upsert_key,
    list_keys,
    delete_key,
    count_admin_keys,
    upsert_site,
    upsert_sensor,
    existing_site_ids,
    list_sites,
    get_site,
    list_sensors,
    sensors_of_site,
    get_sensor,
    sensor_directory,
    readings_range,
    readings_buckets,
    ensure_partitions,
    insert_alarm,
    update_alarm,
    insert_event,
    upsert_rule_state,
    lock_event_order,
    get_alarm,
    notify_events,
    max_event_seq,
    events_after,
    not_closed_alarms,
    events_of_alarm,
    all_rule_states,
    latest_readings,
    recent_readings,
    readings_between,
    count_by_domain,
    count_sensors_by_domain,
    active_by_level,
    active_by_domain,
    sensors_offline,
    oldest_unacknowledged_red,
};

}  // namespace cityguard::store::queries
