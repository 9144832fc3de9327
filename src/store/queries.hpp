#pragma once
// Every SQL statement the server runs outside migrations. Each name doubles as the
// prepared-statement name; values always travel as $n parameters.

#include <optional>
#include <string>
#include <string_view>

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

inline constexpr query key_table{"key_table", "SELECT key_hash, name, role FROM api_keys"};
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
    "INSERT INTO sites (id, name, domain, district, lat, lon, address, attributes, unit_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, domain = EXCLUDED.domain, district = EXCLUDED.district, "
    "lat = EXCLUDED.lat, lon = EXCLUDED.lon, address = EXCLUDED.address, attributes = EXCLUDED.attributes, "
    "unit_id = EXCLUDED.unit_id, updated_at = now() "
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

#define CITYGUARD_SITE_COLUMNS \
    "s.id, s.name, s.domain, s.district, s.lat, s.lon, s.address, s.attributes::text, s.unit_id, "
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

inline constexpr query upsert_unit{
    "upsert_unit",
    "INSERT INTO units (id, name, credit_code, address) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, credit_code = EXCLUDED.credit_code, "
    "address = EXCLUDED.address, updated_at = now() "
    "RETURNING (xmax = 0) AS inserted"};
inline constexpr query existing_unit_ids{"existing_unit_ids", "SELECT id FROM units WHERE id = ANY($1::text[])"};
#define CITYGUARD_UNIT_COLUMNS \
    "u.id, u.name, u.credit_code, u.address, (SELECT count(*) FROM sites x WHERE x.unit_id = u.id) FROM units u "
inline constexpr query list_units{"list_units", "SELECT " CITYGUARD_UNIT_COLUMNS "ORDER BY u.id"};
inline constexpr query get_unit{"get_unit", "SELECT " CITYGUARD_UNIT_COLUMNS "WHERE u.id = $1"};
#undef CITYGUARD_UNIT_COLUMNS
// A unit that still has sites or contacts is not deleted (the foreign keys refuse it).
inline constexpr query delete_unit{"delete_unit", "DELETE FROM units WHERE id = $1 RETURNING id"};
inline constexpr query upsert_contact{
    "upsert_contact",
    "INSERT INTO contacts (id, name, tier, unit_id, district, phone, channels) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, tier = EXCLUDED.tier, unit_id = EXCLUDED.unit_id, "
    "district = EXCLUDED.district, phone = EXCLUDED.phone, channels = EXCLUDED.channels, updated_at = now() "
    "RETURNING (xmax = 0) AS inserted"};
#define CITYGUARD_CONTACT_COLUMNS \
    "c.id, c.name, c.tier, c.unit_id, c.district, c.phone, c.channels::text FROM contacts c "
inline constexpr query list_contacts{
    "list_contacts",
    "SELECT " CITYGUARD_CONTACT_COLUMNS
    "WHERE ($1::text IS NULL OR c.unit_id = $1) AND ($2::text IS NULL OR c.district = $2) "
    "AND ($3::text IS NULL OR c.tier = $3) ORDER BY c.id"};
inline constexpr query get_contact{"get_contact", "SELECT " CITYGUARD_CONTACT_COLUMNS "WHERE c.id = $1"};
// Who answers for a site: its unit's enterprise contacts, its district's, and the city's.
inline constexpr query contacts_of_site{
    "contacts_of_site",
    "SELECT " CITYGUARD_CONTACT_COLUMNS
    "JOIN sites s ON s.id = $1 WHERE (c.tier = 'enterprise' AND c.unit_id = s.unit_id) "
    "OR (c.tier = 'district' AND c.district = s.district) OR c.tier = 'city' "
    "ORDER BY CASE c.tier WHEN 'enterprise' THEN 0 WHEN 'district' THEN 1 ELSE 2 END, c.id"};
#undef CITYGUARD_CONTACT_COLUMNS
inline constexpr query delete_contact{"delete_contact", "DELETE FROM contacts WHERE id = $1 RETURNING id"};

// Emergency resources (sql/0011_resources.sql). `tags` is what a rule's responders match.
inline constexpr query upsert_resource{
    "upsert_resource",
    "INSERT INTO resources (id, kind, name, district, lat, lon, address, team_kind, size, on_duty, capacity, "
    "speciality, phone, materials, tags) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15::text[]) "
    "ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, district = EXCLUDED.district, "
    "lat = EXCLUDED.lat, lon = EXCLUDED.lon, address = EXCLUDED.address, team_kind = EXCLUDED.team_kind, "
    "size = EXCLUDED.size, on_duty = EXCLUDED.on_duty, capacity = EXCLUDED.capacity, "
    "speciality = EXCLUDED.speciality, phone = EXCLUDED.phone, materials = EXCLUDED.materials, "
    "tags = EXCLUDED.tags, updated_at = now() "
    "RETURNING (xmax = 0) AS inserted"};
#define CITYGUARD_RESOURCE_COLUMNS                                                                            \
    "r.id, r.kind, r.name, r.district, r.lat, r.lon, r.address, r.team_kind, r.size, r.on_duty, r.capacity, " \
    "r.speciality, r.phone, r.materials::text FROM resources r "
inline constexpr query list_resources{
    "list_resources",
    "SELECT " CITYGUARD_RESOURCE_COLUMNS
    "WHERE ($1::text IS NULL OR r.kind = $1) AND ($2::text IS NULL OR r.district = $2) "
    "AND ($3::text IS NULL OR $3 = ANY (r.tags)) ORDER BY r.id"};
inline constexpr query get_resource{"get_resource", "SELECT " CITYGUARD_RESOURCE_COLUMNS "WHERE r.id = $1"};
// The candidates around ($1 lat, $2 lon): of each kind the $3..$6 nearest (warehouse, team,
// shelter, expert; 0 for none), and for each wanted team kind ($7) and material kind ($8) the $9
// nearest teams or warehouses that have it. Each branch walks its kind's GiST index in distance
// order (the kind is a literal so that the partial index applies); UNION drops repeats.
#define CITYGUARD_HERE "cityguard_earth_point($1, $2)"
#define CITYGUARD_NEAREST_OF(KIND, LIMIT)                                                                  \
    "(SELECT " CITYGUARD_RESOURCE_COLUMNS "WHERE r.kind = '" KIND "' ORDER BY r.earth <-> " CITYGUARD_HERE \
    " LIMIT " LIMIT ")"
#define CITYGUARD_NEAREST_TAGGED(KIND, TAGS)                                                                           \
    "(SELECT n.* FROM unnest(" TAGS "::text[]) AS wanted (tag) CROSS JOIN LATERAL (SELECT " CITYGUARD_RESOURCE_COLUMNS \
    "WHERE r.kind = '" KIND "' AND r.tags @> ARRAY[wanted.tag] ORDER BY r.earth <-> " CITYGUARD_HERE                   \
    " LIMIT $9) AS n)"
inline constexpr query nearest_resources{
    "nearest_resources",
    CITYGUARD_NEAREST_OF("warehouse", "$3") " UNION " CITYGUARD_NEAREST_OF("team", "$4") " UNION "
    CITYGUARD_NEAREST_OF("shelter", "$5") " UNION " CITYGUARD_NEAREST_OF("expert", "$6") " UNION "
    CITYGUARD_NEAREST_TAGGED("team", "$7") " UNION " CITYGUARD_NEAREST_TAGGED("warehouse", "$8")};
#undef CITYGUARD_NEAREST_TAGGED
#undef CITYGUARD_NEAREST_OF
#undef CITYGUARD_HERE
#undef CITYGUARD_RESOURCE_COLUMNS
inline constexpr query delete_resource{"delete_resource", "DELETE FROM resources WHERE id = $1 RETURNING id"};
// Where an alarm is: its sensor's location, else its site's, else (a named group's alarm, site
// "group:NAME") the middle of the group's sensors, each at its own or its site's location.
inline constexpr query alarm_place{
    "alarm_place",
    "SELECT a.rule_id, a.site_id, a.sensor_id, a.level, "
    "coalesce(se.lat, s.lat, g.lat), coalesce(se.lon, s.lon, g.lon) FROM alarms a "
    "LEFT JOIN sensors se ON se.id = a.sensor_id AND se.lat IS NOT NULL "
    "LEFT JOIN sites s ON s.id = a.site_id "
    "LEFT JOIN LATERAL (SELECT avg(coalesce(m.lat, ms.lat)) AS lat, avg(coalesce(m.lon, ms.lon)) AS lon "
    "FROM sensors m JOIN sites ms ON ms.id = m.site_id "
    "WHERE a.site_id LIKE 'group:%' AND m.groups ? substr(a.site_id, 7)) g ON true "
    "WHERE a.id = $1"};

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
    "SELECT s.id, s.key, s.site_id, s.kind, s.interval_s, si.domain, s.limits::text, s.lat, s.lon, s.groups::text, "
    "si.district FROM sensors s "
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

// Readings for years (sql/0015_readings_rollups.sql). The raw partitions' days, from their names.
#define CITYGUARD_RAW_DAYS                                                                    \
    "SELECT to_date(substr(c.relname, 10), 'YYYYMMDD') AS day, c.relname AS name, "           \
    "i.inhdetachpending AS pending FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid " \
    "WHERE i.inhparent = 'readings'::regclass AND c.relname ~ '^readings_[0-9]{8}$'"
// Where a bucketed query over [$1, $2) turns from rollup to raw: the start of the first day in
// the range that still has its raw partition and is not (freshly) rolled up; days without a raw
// partition are dropped (rolled up first) or never had readings.
#define CITYGUARD_RAW_FROM                                                                             \
    "SELECT (extract(epoch FROM coalesce(min(p.day::timestamp AT TIME ZONE 'UTC'), $2::timestamptz)) " \
    "* 1000000)::bigint FROM (" CITYGUARD_RAW_DAYS                                                     \
    ") p "                                                                                             \
    "WHERE p.day >= ($1::timestamptz AT TIME ZONE 'UTC')::date "                                       \
    "AND p.day <= ($2::timestamptz AT TIME ZONE 'UTC')::date "                                         \
    "AND (NOT EXISTS (SELECT 1 FROM readings_rolled_days r WHERE r.day = p.day) "                      \
    "OR EXISTS (SELECT 1 FROM readings_late_days l WHERE l.day = p.day))"
inline constexpr query raw_from{"raw_from", CITYGUARD_RAW_FROM};
// Buckets from a rollup table before $5 (raw_from) and from raw readings after it, merged: a
// bucket that straddles the boundary gets both parts.
#define CITYGUARD_ROLLUP_BUCKETS(table)                                                                         \
    "SELECT (extract(epoch FROM b) * 1000000)::bigint, min(mn), (sum(av * c) / sum(c))::float8, max(mx), "      \
    "sum(c)::bigint FROM ("                                                                                     \
    "SELECT date_bin(make_interval(secs => $4), bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS b, "           \
    "min AS mn, avg::numeric AS av, max AS mx, count::bigint AS c FROM " table                                  \
    " "                                                                                                         \
    "WHERE sensor_key = $1 AND bucket >= $2::timestamptz AND bucket < least($3::timestamptz, $5::timestamptz) " \
    "UNION ALL "                                                                                                \
    "SELECT date_bin(make_interval(secs => $4), ts, TIMESTAMPTZ '2000-01-01 00:00:00+00'), min(value), "        \
    "avg(value::numeric), max(value), count(*) FROM readings "                                                  \
    "WHERE sensor_key = $1 AND ts >= greatest($2::timestamptz, $5::timestamptz) AND ts < $3::timestamptz "      \
    "GROUP BY 1) q GROUP BY b ORDER BY b"
inline constexpr query readings_buckets_1m{"readings_buckets_1m", CITYGUARD_ROLLUP_BUCKETS("readings_1m")};
inline constexpr query readings_buckets_1h{"readings_buckets_1h", CITYGUARD_ROLLUP_BUCKETS("readings_1h")};
#undef CITYGUARD_ROLLUP_BUCKETS
// Past days with raw partitions that must be rolled up: ended before $1, never rolled or late.
inline constexpr query days_to_roll{
    "days_to_roll",
    "SELECT p.day::text FROM (" CITYGUARD_RAW_DAYS
    ") p WHERE p.day < $1::date AND NOT p.pending "
    "AND (NOT EXISTS (SELECT 1 FROM readings_rolled_days r WHERE r.day = p.day) "
    "OR EXISTS (SELECT 1 FROM readings_late_days l WHERE l.day = p.day)) ORDER BY p.day"};
inline constexpr query forget_late_day{"forget_late_day", "DELETE FROM readings_late_days WHERE day = $1::date"};
inline constexpr query roll_up_day{"roll_up_day", "SELECT cityguard_roll_up_day($1::date)"};
// Raw partitions past retention (day < $1) whose readings are rolled up and not late since.
inline constexpr query raw_partitions_to_drop{
    "raw_partitions_to_drop",
    "SELECT p.name, p.pending FROM (" CITYGUARD_RAW_DAYS
    ") p WHERE p.day < $1::date "
    "AND EXISTS (SELECT 1 FROM readings_rolled_days r WHERE r.day = p.day) "
    "AND NOT EXISTS (SELECT 1 FROM readings_late_days l WHERE l.day = p.day) ORDER BY p.day"};
// Rollup partitions whose whole range ends on or before $2 ($1: readings_1m or readings_1h).
inline constexpr query rollup_partitions_to_drop{
    "rollup_partitions_to_drop",
    "SELECT c.relname, i.inhdetachpending FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = $1::regclass AND c.relname ~ '^readings_1[mh]_[0-9]{4,6}$' "
    "AND (CASE WHEN length(c.relname) = 18 "
    "THEN to_date(substr(c.relname, 13), 'YYYYMM') + interval '1 month' "
    "ELSE to_date(substr(c.relname, 13), 'YYYY') + interval '1 year' END) <= $2::date "
    "ORDER BY c.relname"};
// What GET /api/v1/storage shows: each table's partitions, bytes (with indexes) and extent.
inline constexpr query storage_tables{
    "storage_tables",
    "SELECT t.name, count(c.oid), coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint, "
    "min(c.relname), max(c.relname) FROM (VALUES ('readings'), ('readings_1m'), ('readings_1h')) t (name) "
    "LEFT JOIN pg_inherits i ON i.inhparent = t.name::regclass LEFT JOIN pg_class c ON c.oid = i.inhrelid "
    "GROUP BY t.name ORDER BY t.name"};
inline constexpr query storage_rolled{
    "storage_rolled",
    "SELECT count(*), min(day)::text, max(day)::text, coalesce(sum(rows), 0)::bigint, "
    "(SELECT count(*) FROM readings_late_days) FROM readings_rolled_days"};
// The writer: past days that got new readings in this batch ($1: dates) must be rolled again.
inline constexpr query mark_late_days{
    "mark_late_days", "INSERT INTO readings_late_days (day) SELECT unnest($1::date[]) ON CONFLICT (day) DO NOTHING"};
#undef CITYGUARD_RAW_FROM
#undef CITYGUARD_RAW_DAYS
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
    ) ", close_reason, category, title_en, advice_en, members::text, inhibited_by, " CITYGUARD_EPOCH("ack_due"   \
    ) ", " CITYGUARD_EPOCH("dispose_due") ", told_tiers, suppressed, silence_id, raise_pending"

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
// Replay: one page of the stored readings of some sensors, in the order the live engine saw
// them (by time; ties by sensor): after (ts $2, sensor $3) — at ts $2 only sensors above $3 —
// and before ts $4, at most $5. Times are exact microseconds since the epoch.
inline constexpr query readings_page{
    "readings_page",
    "SELECT sensor_key, " CITYGUARD_EPOCH("ts"
    ) ", value FROM readings WHERE sensor_key = ANY($1::int[]) AND "
      "ts >= 'epoch'::timestamptz + $2::bigint * interval '1 microsecond' AND "
      "ts < 'epoch'::timestamptz + $4::bigint * interval '1 microsecond' AND "
      "(ts > 'epoch'::timestamptz + $2::bigint * interval '1 microsecond' OR sensor_key > $3) "
      "ORDER BY ts, sensor_key LIMIT $5"};
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
inline constexpr query open_alarm_counts{
    "open_alarm_counts",
    "SELECT status, level, category, count(*) FROM alarms WHERE status <> 'closed' GROUP BY 1, 2, 3"};
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
// Notification and escalation (notification_model::escalation's output, the outbox, the dispatcher).
inline constexpr query update_deadlines{
    "update_deadlines",
    "UPDATE alarms SET ack_due = $2, dispose_due = $3, told_tiers = $4, suppressed = $5, raise_pending = $6, "
    "silence_id = $7 WHERE id = $1"};
// One row per contact of the tier who answers for the alarm's site, and per channel of theirs.
// A group's pseudo-site has no row in sites: only city contacts answer for it.
inline constexpr query insert_notifications{
    "insert_notifications",
    "INSERT INTO notifications (alarm_id, kind, tier, level, contact_id, contact_name, channel) "
    "SELECT $1, $2, $3, $4, c.id, c.name, ch.name FROM contacts c LEFT JOIN sites s ON s.id = $5 "
    "CROSS JOIN LATERAL jsonb_array_elements_text(c.channels) AS ch(name) "
    "WHERE c.tier = $3 AND ((c.tier = 'enterprise' AND c.unit_id = s.unit_id) OR "
    "(c.tier = 'district' AND c.district = s.district) OR c.tier = 'city') ORDER BY c.id, ch.name"};
#define CITYGUARD_NOTIFICATION_COLUMNS                                                               \
    "n.id, n.alarm_id, n.kind, n.tier, n.level, n.contact_id, n.contact_name, n.channel, n.status, " \
    "n.attempts, " CITYGUARD_EPOCH("n.next_attempt_at") ", " CITYGUARD_EPOCH("n.created_at"          \
    ) ", " CITYGUARD_EPOCH("n.delivered_at") ", n.last_error"
inline constexpr query notifications_of_alarm{
    "notifications_of_alarm",
    "SELECT " CITYGUARD_NOTIFICATION_COLUMNS " FROM notifications n WHERE n.alarm_id = $1 ORDER BY n.id"};
inline constexpr query list_notifications{
    "list_notifications",
    "SELECT " CITYGUARD_NOTIFICATION_COLUMNS
    " FROM notifications n "
    "WHERE ($1::text IS NULL OR n.status = $1) AND ($2::bigint IS NULL OR n.id < $2) ORDER BY n.id DESC LIMIT $3"};
// What the dispatcher delivers next: due rows not already in flight, with what a message needs.
inline constexpr query due_notifications{
    "due_notifications",
    "SELECT n_id, n_alarm, n_kind, n_tier, n_level, n_contact, n_contact_name, n_channel, n_status, n_attempts, "
    "n_next, n_created, n_delivered, n_error, n_phone, n_site_name, n_district, " CITYGUARD_ALARM_COLUMNS
    " FROM (SELECT n.id AS n_id, n.alarm_id AS n_alarm, n.kind AS n_kind, n.tier AS n_tier, n.level AS n_level, "
    "n.contact_id AS n_contact, n.contact_name AS n_contact_name, n.channel AS n_channel, n.status AS n_status, "
    "n.attempts AS n_attempts, " CITYGUARD_EPOCH("n.next_attempt_at") " AS n_next, " CITYGUARD_EPOCH("n.created_at"
    ) " AS n_created, " CITYGUARD_EPOCH("n.delivered_at"
    ) " AS n_delivered, n.last_error AS n_error, "
      "c.phone AS n_phone, s.name AS n_site_name, s.district AS n_district, to_jsonb(a) AS snap "
      "FROM notifications n JOIN alarms a ON a.id = n.alarm_id LEFT JOIN contacts c ON c.id = n.contact_id "
      "LEFT JOIN sites s ON s.id = a.site_id "
      "WHERE n.status = 'pending' AND n.next_attempt_at <= now() AND NOT (n.id = ANY($1::bigint[])) "
      "ORDER BY n.next_attempt_at, n.id LIMIT $2) nn "
      "CROSS JOIN LATERAL jsonb_populate_record(NULL::alarms, nn.snap) ORDER BY n_next, n_id"};
// Marked once: a row already delivered (by an earlier attempt that was not recorded in time)
// stays as it is.
inline constexpr query record_attempt{
    "record_attempt",
    "WITH n AS (UPDATE notifications SET attempts = attempts + 1, status = $2, last_error = $3, "
    "next_attempt_at = $4, delivered_at = CASE WHEN $2 = 'delivered' THEN now() END "
    "WHERE id = $1 AND status = 'pending' RETURNING attempts) "
    "INSERT INTO notification_attempts (notification_id, attempt, duration_ms, http_status, error) "
    "SELECT $1, n.attempts, $5, $6, $3 FROM n"};
inline constexpr query attempts_of_alarm{
    "attempts_of_alarm",
    "SELECT t.notification_id, t.attempt, " CITYGUARD_EPOCH("t.at"
    ) ", t.duration_ms, t.http_status, t.error "
      "FROM notification_attempts t JOIN notifications n ON n.id = t.notification_id WHERE n.alarm_id = $1 "
      "ORDER BY t.notification_id, t.attempt"};
#undef CITYGUARD_NOTIFICATION_COLUMNS

#define CITYGUARD_SILENCE_COLUMNS                                                                                     \
    "id, site_id, sensor_id, rule_id, domain, district, " CITYGUARD_EPOCH("starts_at") ", " CITYGUARD_EPOCH("ends_at" \
    ) ", owner, reason, " CITYGUARD_EPOCH("created_at") ", ended_early_by"
// Creations take this lock, so that two of them cannot both see room under silences.max_active.
inline constexpr query lock_silence_count{"lock_silence_count", "SELECT pg_advisory_xact_lock(437356841, 2)"};
inline constexpr query count_unexpired_silences{
    "count_unexpired_silences", "SELECT count(*) FROM silences WHERE ends_at > now()"};
inline constexpr query insert_silence{
    "insert_silence",
    "INSERT INTO silences (site_id, sensor_id, rule_id, domain, district, starts_at, ends_at, owner, reason) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING " CITYGUARD_SILENCE_COLUMNS};
// Ends a silence that is in force or still to come; one already over is left as it is.
inline constexpr query end_silence{
    "end_silence",
    "UPDATE silences SET ends_at = GREATEST(starts_at + interval '1 microsecond', LEAST(ends_at, now())), "
    "ended_early_by = $2 WHERE id = $1 AND ends_at > now() RETURNING " CITYGUARD_SILENCE_COLUMNS};
inline constexpr query insert_silence_audit{
    "insert_silence_audit",
    "INSERT INTO silence_audit (silence_id, actor, action, detail) VALUES ($1, $2, $3, $4::jsonb)"};
inline constexpr query get_silence{"get_silence", "SELECT " CITYGUARD_SILENCE_COLUMNS " FROM silences WHERE id = $1"};
// state: active (in force now), pending (to come), expired; NULL: active and pending.
inline constexpr query list_silences{
    "list_silences",
    "SELECT " CITYGUARD_SILENCE_COLUMNS
    " FROM silences WHERE "
    "($1::text IS NULL AND ends_at > now()) OR ($1 = 'active' AND starts_at <= now() AND ends_at > now()) OR "
    "($1 = 'pending' AND starts_at > now()) OR ($1 = 'expired' AND ends_at <= now()) "
    "ORDER BY id DESC LIMIT $2"};
inline constexpr query silence_audit_of{
    "silence_audit_of",
    "SELECT seq, " CITYGUARD_EPOCH("at"
    ) ", actor, action, detail::text FROM silence_audit WHERE silence_id = $1 "
      "ORDER BY seq"};
inline constexpr query unexpired_silences{
    "unexpired_silences", "SELECT " CITYGUARD_SILENCE_COLUMNS " FROM silences WHERE ends_at > now() ORDER BY id"};
#undef CITYGUARD_SILENCE_COLUMNS

// Statistics (sql/0012_stats.sql). The group key of each statement is one of a fixed set of
// expressions, chosen by stats_group(); nothing a client sends is spliced into SQL text.
// Parameters: $1 first day, $2 last day (YYYY-MM-DD, in stats_settings.time_zone), $3 domain,
// $4 district, $5 site (NULL: any). Readings are counted by district, not by site: their two
// statements are not run for one site.
namespace stats {

/// The tables a statistics statement reads, each naming a day and the group fields differently.
enum class source { rollup, alarms, readings, sensors };

/// The SQL expression of grouping `by` over `from`, or nullopt when that source cannot be
/// grouped so (readings by site, say). An empty `by` is one group: ''.
inline std::optional<std::string> group_expression(std::string_view by, source from) {
    if (by.empty()) return "''";
    const char* day = from == source::rollup ? "r.day" : from == source::readings ? "c.day" : nullptr;
    if (by == "day" || by == "week" || by == "month") {
        if (!day) return std::nullopt;
        if (by == "day") return std::string("to_char(") + day + ", 'YYYY-MM-DD')";
        if (by == "week") return std::string("to_char(date_trunc('week', ") + day + "), 'YYYY-MM-DD')";
        return std::string("to_char(") + day + ", 'YYYY-MM')";
    }
    if (by == "domain")
        return from == source::rollup     ? "r.domain"
               : from == source::alarms   ? "a.domain"
               : from == source::readings ? "c.domain"
                                          : "s.domain";
    if (by == "district") return from == source::readings ? "c.district" : "coalesce(s.district, '')";
    if (by == "level") {
        if (from == source::rollup) return "r.level::text";
        if (from == source::alarms) return "a.peak_level::text";
        return std::nullopt;
    }
    if (by == "site") {
        if (from == source::rollup) return "r.site_id";
        if (from == source::alarms) return "a.site_id";
        if (from == source::sensors) return "s.id";
        return std::nullopt;
    }
    if (by == "unit" && from != source::readings) return "coalesce(s.unit_id, '')";
    return std::nullopt;
}

// The figures of alarm_counts, summed over rollup rows `r`: 40 columns (group, raised, raised by
// peak level red to blue, acknowledged, 14 buckets of time to acknowledge, closed, 14 of time to
// close, false_alarm, device_fault, disposed, disposed_late).
#define CITYGUARD_ALARM_FIGURES                                                                                      \
    ", sum(r.raised), sum(r.raised_red), sum(r.raised_orange), sum(r.raised_yellow), sum(r.raised_blue), "           \
    "sum(r.acknowledged), sum(r.ack_hist[1]), sum(r.ack_hist[2]), sum(r.ack_hist[3]), sum(r.ack_hist[4]), "          \
    "sum(r.ack_hist[5]), sum(r.ack_hist[6]), sum(r.ack_hist[7]), sum(r.ack_hist[8]), sum(r.ack_hist[9]), "           \
    "sum(r.ack_hist[10]), sum(r.ack_hist[11]), sum(r.ack_hist[12]), sum(r.ack_hist[13]), sum(r.ack_hist[14]), "      \
    "sum(r.closed), sum(r.close_hist[1]), sum(r.close_hist[2]), sum(r.close_hist[3]), sum(r.close_hist[4]), "        \
    "sum(r.close_hist[5]), sum(r.close_hist[6]), sum(r.close_hist[7]), sum(r.close_hist[8]), sum(r.close_hist[9]), " \
    "sum(r.close_hist[10]), sum(r.close_hist[11]), sum(r.close_hist[12]), sum(r.close_hist[13]), "                   \
    "sum(r.close_hist[14]), sum(r.false_alarm), sum(r.device_fault), "                                               \
    "sum(r.disposed), sum(r.disposed_late) "
#define CITYGUARD_SITE_ROLLUP_COLUMNS                                                                          \
    "site_id, domain, raised, raised_red, raised_orange, raised_yellow, raised_blue, acknowledged, ack_hist, " \
    "closed, close_hist, false_alarm, device_fault, disposed, disposed_late"

/// Where alarm figures are read from (sql/0013_stats_by_place.sql).
enum class alarm_rollup {
    by_place,   ///< alarm_stats_daily: time, domain, district and level groupings
    one_site,   ///< alarm_stats_site_daily of one site ($5)
    all_sites,  ///< by site or unit: the months covered whole ($6-$7) and the days at the ends ($8-$9, $10-$11)
};

/// The expression of grouping `by` over a rollup, or nullopt where that rollup cannot answer it.
inline std::optional<std::string> alarm_group_expression(std::string_view by, alarm_rollup from) {
    if (by.empty()) return "''";
    if (from == alarm_rollup::by_place) {
        if (by == "district") return "r.district";
        if (by == "level") return "r.level::text";
        if (by == "domain") return "r.domain";
        if (by == "site" || by == "unit") return std::nullopt;
        return group_expression(by, source::rollup);  // day, week, month of r.day
    }
    if (by == "site") return "r.site_id";
    if (by == "unit") return "coalesce(s.unit_id, '')";
    if (by == "domain") return "r.domain";
    if (by == "district") return "coalesce(s.district, '')";
    if (from == alarm_rollup::one_site && (by == "day" || by == "week" || by == "month"))
        return group_expression(by, source::rollup);
    return std::nullopt;
}

// Alarms opened in the range, by group. Parameters $1-$5 as above; all_sites adds $6-$11.
inline std::string alarm_counts(const std::string& group, alarm_rollup from) {
    std::string rows;
    std::string where = "WHERE ($3::text IS NULL OR r.domain = $3) AND ($4::text IS NULL OR ";
    if (from == alarm_rollup::by_place) {
        rows = "alarm_stats_daily r";
        where += "r.district = $4) AND r.day BETWEEN $1::date AND $2::date AND $5::text IS NULL ";
        return "SELECT " + group + CITYGUARD_ALARM_FIGURES "FROM " + rows + " " + where + "GROUP BY 1";
    }
    if (from == alarm_rollup::one_site) {
        rows = "alarm_stats_site_daily r";
        where += "s.district = $4) AND r.site_id = $5 AND r.day BETWEEN $1::date AND $2::date ";
    } else {
        rows = "(SELECT " CITYGUARD_SITE_ROLLUP_COLUMNS
               " FROM alarm_stats_site_monthly WHERE month BETWEEN $6::date AND $7::date "
               "UNION ALL SELECT " CITYGUARD_SITE_ROLLUP_COLUMNS
               " FROM alarm_stats_site_daily "
               "WHERE day BETWEEN $8::date AND $9::date OR day BETWEEN $10::date AND $11::date) r";
        where += "s.district = $4) AND $1::date IS NOT NULL AND $2::date IS NOT NULL AND $5::text IS NULL ";
    }
    return "SELECT " + group + CITYGUARD_ALARM_FIGURES "FROM " + rows + " LEFT JOIN sites s ON s.id = r.site_id " +
           where + "GROUP BY 1";
}

// The sites with most alarms: all_sites, parameters $1-$11, $12 how many.
inline std::string top_sites() {
    return "SELECT r.site_id, coalesce(s.name, ''), sum(r.raised) FROM (SELECT " CITYGUARD_SITE_ROLLUP_COLUMNS
           " FROM alarm_stats_site_monthly WHERE month BETWEEN $6::date AND $7::date UNION ALL "
           "SELECT " CITYGUARD_SITE_ROLLUP_COLUMNS
           " FROM alarm_stats_site_daily WHERE day BETWEEN $8::date AND $9::date OR day BETWEEN $10::date AND "
           "$11::date) r "
           "LEFT JOIN sites s ON s.id = r.site_id WHERE ($3::text IS NULL OR r.domain = $3) "
           "AND ($4::text IS NULL OR s.district = $4) AND ($5::text IS NULL OR r.site_id = $5) "
           "AND $1::date IS NOT NULL AND $2::date IS NOT NULL "
           "GROUP BY 1, 2 HAVING sum(r.raised) > 0 ORDER BY 3 DESC, 1 LIMIT $12";
}
#undef CITYGUARD_SITE_ROLLUP_COLUMNS
#undef CITYGUARD_ALARM_FIGURES

// Alarms not yet disposed of (open, acknowledged, handling) and past their disposal deadline:
// the policy's (a disposal_overdue event) or, without one, stats.default_disposal_s. Whenever
// they were opened: "overdue now" is about today.
inline std::string overdue_now(const std::string& group) {
    return "SELECT " + group +
           ", count(*) FROM alarms a LEFT JOIN sites s ON s.id = a.site_id CROSS JOIN stats_settings st "
           "WHERE a.status <> 'closed' AND a.status IN ('open', 'acknowledged', 'handling') "
           "AND (a.overdue_at IS NOT NULL OR (NOT a.has_disposal_deadline "
           "AND a.opened_at < now() - make_interval(secs => st.default_disposal_s))) "
           "AND ($3::text IS NULL OR a.domain = $3) AND ($4::text IS NULL OR s.district = $4) "
           "AND ($5::text IS NULL OR a.site_id = $5) AND $1::date IS NOT NULL AND $2::date IS NOT NULL GROUP BY 1";
}

inline std::string readings_received(const std::string& group) {
    return "SELECT " + group +
           ", sum(c.readings) FROM reading_counts_daily c WHERE c.day BETWEEN $1::date AND $2::date "
           "AND ($3::text IS NULL OR c.domain = $3) AND ($4::text IS NULL OR c.district = $4) AND $5::text IS NULL "
           "GROUP BY 1";
}

// What the sensors should have sent in the range, up to now: each one's seconds registered
// within it over its interval_s.
inline std::string readings_expected(const std::string& group) {
    return "SELECT " + group +
           ", sum(greatest(0, extract(epoch FROM least(w.t1, now()) - greatest(w.t0, se.created_at))) / se.interval_s) "
           "FROM sensors se JOIN sites s ON s.id = se.site_id CROSS JOIN (SELECT $1::date::timestamp AT TIME ZONE "
           "st.time_zone AS t0, ($2::date + 1)::timestamp AT TIME ZONE st.time_zone AS t1 FROM stats_settings st) w "
           "WHERE ($3::text IS NULL OR s.domain = $3) AND ($4::text IS NULL OR s.district = $4) "
           "AND $5::text IS NULL GROUP BY 1";
}

// Registered sensors and those whose offline alarm is active, now.
inline std::string sensor_counts(const std::string& group) {
    return "SELECT " + group +
           ", count(*), count(o.sensor_id) FROM sensors se JOIN sites s ON s.id = se.site_id "
           "LEFT JOIN (SELECT DISTINCT sensor_id FROM alarms WHERE status <> 'closed' AND condition = 'active' "
           "AND category = 'offline') o ON o.sensor_id = se.id "
           "WHERE ($3::text IS NULL OR s.domain = $3) AND ($4::text IS NULL OR s.district = $4) "
           "AND ($5::text IS NULL OR s.id = $5) AND $1::date IS NOT NULL AND $2::date IS NOT NULL GROUP BY 1";
}

}  // namespace stats

inline constexpr query stats_time_zone{"stats_time_zone", "SELECT time_zone FROM stats_settings"};
inline constexpr query stats_today{
    "stats_today", "SELECT to_char(now() AT TIME ZONE time_zone, 'YYYY-MM-DD') FROM stats_settings"};
// A time zone PostgreSQL does not know fails the statement before anything is written.
inline constexpr query configure_stats{
    "configure_stats",
    "UPDATE stats_settings SET time_zone = $1, default_disposal_s = $2 "
    "WHERE (now() AT TIME ZONE $1) IS NOT NULL"};
inline constexpr query rebuild_stats{"rebuild_stats", "SELECT cityguard_rebuild_stats()"};
// One statement per readings batch: the new rows counted by (sensor, hour since the epoch),
// added to their day, domain and district.
inline constexpr query count_readings{
    "count_readings",
    "INSERT INTO reading_counts_daily AS c (day, domain, district, readings) "
    "SELECT (to_timestamp(b.hour * 3600) AT TIME ZONE st.time_zone)::date, s.domain, s.district, sum(b.n) "
    "FROM unnest($1::integer[], $2::bigint[], $3::integer[]) AS b (sensor_key, hour, n) "
    "JOIN sensors se ON se.key = b.sensor_key JOIN sites s ON s.id = se.site_id CROSS JOIN stats_settings st "
    "GROUP BY 1, 2, 3 ON CONFLICT (day, domain, district) DO UPDATE SET readings = c.readings + EXCLUDED.readings"};

#undef CITYGUARD_EPOCH
#undef CITYGUARD_ALARM_COLUMNS

// Cluster (sql/0016_cluster.sql, docs/scaling.md). Leadership is the session-level advisory lock
// (437356841, 1) on the leader's writer connection; pg_locks says who holds it in this database.
#define CITYGUARD_LEADER_LOCK_HOLDER                                                             \
    "LEFT JOIN pg_locks l ON l.locktype = 'advisory' AND l.classid = 437356841 AND l.objid = 1 " \
    "AND l.objsubid = 2 AND l.granted AND l.pid = m.writer_pid "                                 \
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
inline constexpr query try_leader_lock{"try_leader_lock", "SELECT pg_try_advisory_lock(437356841, 1)"};
inline constexpr query mark_leader{
    "mark_leader",
    "INSERT INTO cluster_members (id, url, version, writer_pid, leader_since) "
    "VALUES ($1, '', $2, pg_backend_pid(), now()) ON CONFLICT (id) DO UPDATE SET "
    "writer_pid = EXCLUDED.writer_pid, leader_since = EXCLUDED.leader_since, seen_at = now()"};
inline constexpr query upsert_member{
    "upsert_member",
    "INSERT INTO cluster_members (id, url, version) VALUES ($1, $2, $3) "
    "ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, version = EXCLUDED.version, seen_at = now()"};
inline constexpr query prune_members{
    "prune_members", "DELETE FROM cluster_members WHERE seen_at < now() - make_interval(secs => $1)"};
inline constexpr query forget_member{"forget_member", "DELETE FROM cluster_members WHERE id = $1"};
inline constexpr query list_members{
    "list_members",
    "SELECT m.id, m.url, m.version, (extract(epoch FROM m.started_at) * 1000000)::bigint, "
    "(extract(epoch FROM m.seen_at) * 1000000)::bigint, "
    "(extract(epoch FROM now() - m.seen_at) * 1000)::bigint, l.pid IS NOT NULL, "
    "(extract(epoch FROM m.leader_since) * 1000000)::bigint "
    "FROM cluster_members m " CITYGUARD_LEADER_LOCK_HOLDER "ORDER BY m.started_at, m.id"};
inline constexpr query leader_member{
    "leader_member",
    "SELECT m.id, m.url FROM cluster_members m " CITYGUARD_LEADER_LOCK_HOLDER
    "WHERE l.pid IS NOT NULL AND m.url <> '' ORDER BY m.seen_at DESC LIMIT 1"};
#undef CITYGUARD_LEADER_LOCK_HOLDER
// A follower's live readings (cluster::readings_relay): each followed sensor's rows after the
// newest one already relayed, in (sensor, ts) order.
inline constexpr query readings_newer_than{
    "readings_newer_than",
    "SELECT r.sensor_key, (extract(epoch FROM r.ts) * 1000000)::bigint, r.value "
    "FROM unnest($1::int[], $2::bigint[]) AS f(k, after_us) CROSS JOIN LATERAL ("
    "SELECT sensor_key, ts, value FROM readings WHERE sensor_key = f.k "
    "AND ts > timestamptz 'epoch' + f.after_us * interval '1 microsecond' ORDER BY ts LIMIT $3) r "
    "ORDER BY r.sensor_key, r.ts"};
inline constexpr query newest_readings_of{
    "newest_readings_of",
    "SELECT f.k, coalesce((SELECT (extract(epoch FROM max(ts)) * 1000000)::bigint FROM readings "
    "WHERE sensor_key = f.k), 0) FROM unnest($1::int[]) AS f(k)"};
inline constexpr query announce_change{"announce_change", "SELECT pg_notify('cityguard_changes', $1)"};

inline constexpr query all[] = {
    key_table,
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
    upsert_unit,
    existing_unit_ids,
    list_units,
    get_unit,
    delete_unit,
    upsert_contact,
    list_contacts,
    get_contact,
    contacts_of_site,
    delete_contact,
    upsert_resource,
    list_resources,
    get_resource,
    nearest_resources,
    delete_resource,
    alarm_place,
    stats_time_zone,
    stats_today,
    configure_stats,
    rebuild_stats,
    count_readings,
    list_sensors,
    sensors_of_site,
    get_sensor,
    sensor_directory,
    readings_range,
    readings_buckets,
    raw_from,
    readings_buckets_1m,
    readings_buckets_1h,
    days_to_roll,
    forget_late_day,
    roll_up_day,
    raw_partitions_to_drop,
    rollup_partitions_to_drop,
    storage_tables,
    storage_rolled,
    mark_late_days,
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
    readings_page,
    count_by_domain,
    count_sensors_by_domain,
    active_by_level,
    open_alarm_counts,
    active_by_domain,
    sensors_offline,
    oldest_unacknowledged_red,
    update_deadlines,
    insert_notifications,
    notifications_of_alarm,
    list_notifications,
    due_notifications,
    record_attempt,
    attempts_of_alarm,
    lock_silence_count,
    count_unexpired_silences,
    insert_silence,
    end_silence,
    insert_silence_audit,
    get_silence,
    list_silences,
    silence_audit_of,
    unexpired_silences,
    try_leader_lock,
    mark_leader,
    upsert_member,
    prune_members,
    forget_member,
    list_members,
    leader_member,
    announce_change,
    readings_newer_than,
    newest_readings_of,
};

}  // namespace cityguard::store::queries
