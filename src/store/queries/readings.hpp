#pragma once
// Readings: ranges, buckets, partitions, rollups and retention, the writer's staging; a follower's relay (part of
// queries.hpp: see there).

#include "common.hpp"

namespace cityguard::store::queries {

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

// Video evidence (docs/evidence.md): the first for a sensor and reading time stays.
inline constexpr query insert_evidence{
    "insert_evidence",
    "INSERT INTO reading_evidence (sensor_key, ts, evidence) "
    "SELECT k, 'epoch'::timestamptz + t * interval '1 microsecond', e::jsonb "
    "FROM unnest($1::int[], $2::bigint[], $3::text[]) AS x(k, t, e) ON CONFLICT (sensor_key, ts) DO NOTHING"};
// The newest $5 pieces of evidence of some sensors (ids) with reading time in [$2, $3], oldest first.
inline constexpr query evidence_of_sensors{
    "evidence_of_sensors",
    "SELECT id, us, evidence FROM (SELECT s.id, " CITYGUARD_EPOCH("e.ts"
    ) " AS us, e.evidence::text AS evidence FROM reading_evidence e JOIN sensors s ON s.key = e.sensor_key "
      "WHERE s.id = ANY($1::text[]) AND e.ts >= 'epoch'::timestamptz + $2::bigint * interval '1 microsecond' "
      "AND e.ts <= 'epoch'::timestamptz + $3::bigint * interval '1 microsecond' ORDER BY e.ts DESC LIMIT $4) f "
      "ORDER BY us"};
// Retention: evidence goes with the readings' partitions it belongs to.
inline constexpr query drop_evidence_before{
    "drop_evidence_before",
    "DELETE FROM reading_evidence WHERE ts < 'epoch'::timestamptz + $1::bigint * interval '1 microsecond'"};

}  // namespace cityguard::store::queries
