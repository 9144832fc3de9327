#pragma once
// Every SQL statement the server runs outside migrations. Each name doubles as the
// prepared-statement name; values always travel as $n parameters.

namespace cityguard::store::queries {

struct query {
    const char* name;
    const char* sql;
};

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
    "INSERT INTO sensors (id, site_id, kind, unit, lat, lon, interval_s, limits) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) "
    "ON CONFLICT (id) DO UPDATE SET site_id = EXCLUDED.site_id, kind = EXCLUDED.kind, unit = EXCLUDED.unit, "
    "lat = EXCLUDED.lat, lon = EXCLUDED.lon, interval_s = EXCLUDED.interval_s, limits = EXCLUDED.limits, "
    "updated_at = now() "
    "RETURNING key, (xmax = 0) AS inserted"};
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
#define CITYGUARD_SENSOR_COLUMNS "s.id, s.key, s.site_id, s.kind, s.unit, s.lat, s.lon, s.interval_s, s.limits::text"
#define CITYGUARD_LATEST_JOIN                                                                                 \
    " LEFT JOIN LATERAL (SELECT (extract(epoch FROM r.ts) * 1000000)::bigint AS ts, r.value FROM readings r " \
    "WHERE r.sensor_key = s.key ORDER BY r.ts DESC LIMIT 1) l ON true "
inline constexpr query list_sensors{
    "list_sensors",
    "SELECT " CITYGUARD_SENSOR_COLUMNS
    ", NULL::bigint, NULL::float8 FROM sensors s "
    "WHERE ($1::text IS NULL OR s.site_id = $1) AND ($2::text IS NULL OR s.kind = $2) ORDER BY s.id"};
inline constexpr query sensors_of_site{
    "sensors_of_site",
    "SELECT " CITYGUARD_SENSOR_COLUMNS ", l.ts, l.value FROM sensors s" CITYGUARD_LATEST_JOIN
    "WHERE s.site_id = $1 ORDER BY s.id"};
inline constexpr query get_sensor{
    "get_sensor",
    "SELECT " CITYGUARD_SENSOR_COLUMNS ", l.ts, l.value FROM sensors s" CITYGUARD_LATEST_JOIN "WHERE s.id = $1"};
inline constexpr query sensor_directory{
    "sensor_directory", "SELECT s.id, s.key, s.site_id, s.kind, s.interval_s FROM sensors s"};
#undef CITYGUARD_SENSOR_COLUMNS
#undef CITYGUARD_LATEST_JOIN

inline constexpr query readings_range{
    "readings_range",
    "SELECT (extract(epoch FROM ts) * 1000000)::bigint, value FROM readings "
    "WHERE sensor_key = $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz "
    "ORDER BY ts LIMIT $4"};
inline constexpr query readings_buckets{
    "readings_buckets",
    "SELECT (extract(epoch FROM b) * 1000000)::bigint, min(value), avg(value), max(value), count(*) FROM ("
    "SELECT date_bin(make_interval(secs => $4), ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS b, value FROM readings "
    "WHERE sensor_key = $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz"
    ") q GROUP BY b ORDER BY b"};

inline constexpr query ensure_partitions{"ensure_partitions", "SELECT cityguard_ensure_partitions($1::date, $2::date)"};
inline constexpr query staged_insert{
    "staged_insert",
    "INSERT INTO readings (sensor_key, ts, value) SELECT sensor_key, ts, value FROM readings_staging "
    "ON CONFLICT DO NOTHING RETURNING sensor_key, (extract(epoch FROM ts) * 1000000)::bigint"};

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
};

}  // namespace cityguard::store::queries
