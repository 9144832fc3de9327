#pragma once
// Silences and their audit trail (part of queries.hpp: see there).

#include "common.hpp"

namespace cityguard::store::queries {

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

}  // namespace cityguard::store::queries
