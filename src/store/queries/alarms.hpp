#pragma once
// Alarms, their events and rule states; the engine's restore and replay reads; lists and the overview (part of
// queries.hpp: see there).

#include "common.hpp"

namespace cityguard::store::queries {

inline constexpr query insert_alarm{
    "insert_alarm",
    "INSERT INTO alarms (rule_id, site_id, sensor_id, domain, level, peak_level, condition, status, title, advice, "
    "value, peak_value, first_ts, last_ts, cleared_ts, count, opened_at, category, title_en, advice_en, members, "
    "inhibited_by, evidence) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21::jsonb, "
    "$22, $23::jsonb) "
    // Another server process opened this (rule, sensor) meanwhile: merge into its alarm.
    "ON CONFLICT (rule_id, site_id, sensor_id) WHERE status <> 'closed' DO UPDATE SET level = EXCLUDED.level, "
    "peak_level = LEAST(alarms.peak_level, EXCLUDED.peak_level), condition = EXCLUDED.condition, "
    "title = EXCLUDED.title, advice = EXCLUDED.advice, title_en = EXCLUDED.title_en, "
    "advice_en = EXCLUDED.advice_en, members = EXCLUDED.members, inhibited_by = EXCLUDED.inhibited_by, "
    "value = EXCLUDED.value, evidence = COALESCE(EXCLUDED.evidence, alarms.evidence), "
    "last_ts = GREATEST(alarms.last_ts, EXCLUDED.last_ts), cleared_ts = NULL, count = alarms.count + EXCLUDED.count "
    "RETURNING id"};
// Alarms' new rows, many in one statement: one array per column. The engine's copy never holds
// evidence: only new evidence replaces what the row has.
inline constexpr query update_alarms{
    "update_alarms",
    "UPDATE alarms AS a SET level = u.level, peak_level = u.peak_level, condition = u.condition, status = u.status, "
    "title = u.title, advice = u.advice, value = u.value, peak_value = u.peak_value, last_ts = u.last_ts, "
    "cleared_ts = u.cleared_ts, count = u.count, closed_at = u.closed_at, close_reason = u.close_reason, "
    "title_en = u.title_en, advice_en = u.advice_en, members = u.members::jsonb, inhibited_by = u.inhibited_by, "
    "assignee = u.assignee, evidence = COALESCE(u.evidence::jsonb, a.evidence) "
    "FROM unnest($1::bigint[], $2::smallint[], $3::smallint[], $4::text[], $5::text[], $6::text[], $7::text[], "
    "$8::float8[], $9::float8[], $10::timestamptz[], $11::timestamptz[], $12::bigint[], $13::timestamptz[], "
    "$14::text[], $15::text[], $16::text[], $17::text[], $18::bigint[], $19::text[], $20::text[]) AS u (id, level, "
    "peak_level, condition, status, title, advice, value, peak_value, last_ts, cleared_ts, count, closed_at, "
    "close_reason, title_en, advice_en, members, inhibited_by, assignee, evidence) WHERE a.id = u.id"};
inline constexpr query insert_event{
    "insert_event",
    "INSERT INTO alarm_events (alarm_id, type, at, reading_ts, actor, level, value, note, actor_user_id, actor_name, "
    "evidence, alarm) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, to_jsonb(a) FROM alarms a "
    "WHERE a.id = $1 RETURNING seq"};
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
    ) ", actor, level, value, note, actor_user_id, actor_name, evidence::text "
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
    ", ev_seq, ev_alarm, ev_type, ev_at, ev_reading_ts, ev_actor, ev_level, ev_value, ev_note, ev_user, ev_name, "
    "ev_evidence FROM ("
    "SELECT e.seq AS ev_seq, e.alarm_id AS ev_alarm, e.type AS ev_type, " CITYGUARD_EPOCH("e.at"
    ) " AS ev_at, " CITYGUARD_EPOCH("e.reading_ts"
    ) " AS ev_reading_ts, e.actor AS ev_actor, e.level AS ev_level, "
      "e.value AS ev_value, e.note AS ev_note, e.actor_user_id AS ev_user, e.actor_name AS ev_name, "
      "e.evidence::text AS ev_evidence, COALESCE(e.alarm, (SELECT to_jsonb(c) FROM alarms c WHERE c.id = e.alarm_id)) "
      "AS snap "
      "FROM alarm_events e WHERE e.seq > $1 ORDER BY e.seq LIMIT $2) ev "
      "CROSS JOIN LATERAL jsonb_populate_record(NULL::alarms, ev.snap) ORDER BY ev_seq"};
// The caller's part of the city (store::place_filter) as three text[] parameters: alarms by
// their site's district and unit and their own domain, sites by their columns.
#define CITYGUARD_ALARM_SCOPE(d, dom, u)                                                                         \
    "(" d "::text[] IS NULL OR site_id IN (SELECT id FROM sites WHERE district = ANY(" d "::text[]))) AND (" dom \
    "::text[] IS NULL OR domain = ANY(" dom "::text[])) AND (" u                                                 \
    "::text[] IS NULL OR site_id IN (SELECT id FROM sites WHERE unit_id = ANY(" u "::text[])))"
#define CITYGUARD_SITE_SCOPE(prefix)                                                                  \
    "($1::text[] IS NULL OR " prefix "district = ANY($1::text[])) AND ($2::text[] IS NULL OR " prefix \
    "domain = ANY($2::text[])) AND ($3::text[] IS NULL OR " prefix "unit_id = ANY($3::text[]))"
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
    "($13::boolean IS NULL OR (inhibited_by IS NOT NULL) = $13) AND " CITYGUARD_ALARM_SCOPE(
        "$14", "$15", "$16"
    ) " ORDER BY id DESC LIMIT $11";
inline constexpr query count_by_domain{
    "count_sites_by_domain", "SELECT domain, count(*) FROM sites WHERE " CITYGUARD_SITE_SCOPE("") " GROUP BY domain"};
inline constexpr query count_sensors_by_domain{
    "count_sensors_by_domain",
    "SELECT si.domain, count(*) FROM sensors s JOIN sites si ON si.id = s.site_id WHERE " CITYGUARD_SITE_SCOPE("si."
    ) " GROUP BY si.domain"};
inline constexpr query active_by_level{
    "active_by_level",
    "SELECT level, count(*) FROM alarms WHERE status <> 'closed' AND category = 'process' AND " CITYGUARD_ALARM_SCOPE(
        "$1", "$2", "$3"
    ) " GROUP BY level"};
inline constexpr query open_alarm_counts{
    "open_alarm_counts",
    "SELECT status, level, category, count(*) FROM alarms WHERE status <> 'closed' GROUP BY 1, 2, 3"};
inline constexpr query active_by_domain{
    "active_by_domain",
    "SELECT domain, count(*) FROM alarms WHERE status <> 'closed' AND category = 'process' AND " CITYGUARD_ALARM_SCOPE(
        "$1", "$2", "$3"
    ) " GROUP BY domain"};
inline constexpr query sensors_offline{
    "sensors_offline",
    "SELECT count(DISTINCT sensor_id) FILTER (WHERE category = 'offline'), "
    "count(DISTINCT sensor_id) FILTER (WHERE category = 'fault') "
    "FROM alarms WHERE status <> 'closed' AND condition = 'active' AND category <> 'process' "
    "AND " CITYGUARD_ALARM_SCOPE("$1", "$2", "$3")};
inline constexpr query oldest_unacknowledged_red{
    "oldest_unacknowledged_red",
    "SELECT " CITYGUARD_ALARM_COLUMNS " FROM alarms WHERE status = 'open' AND level = 1 AND " CITYGUARD_ALARM_SCOPE(
        "$1", "$2", "$3"
    ) " ORDER BY id LIMIT 1"};

}  // namespace cityguard::store::queries
