#pragma once
// Upward reporting's position in the alarm event log (part of queries.hpp: see there).

#include "common.hpp"

namespace cityguard::store::queries {

// sql/0024_upward_reporting.sql, docs/upward.md. The event types sent upward.
#define CITYGUARD_UPWARD_TYPES "('raised', 'escalated', 'deescalated', 'closed')"
inline constexpr query upward_position{"upward_position", "SELECT seq, sent FROM upward_cursor WHERE id = 1"};
inline constexpr query upward_advance{
    "upward_advance",
    "UPDATE upward_cursor SET seq = $1, sent = sent + $2, updated_at = now() WHERE id = 1 AND seq < $1"};
inline constexpr query upward_backlog{
    "upward_backlog",
    "SELECT count(*), (extract(epoch FROM min(e.at)) * 1000000)::bigint FROM alarm_events e "
    "JOIN upward_cursor c ON c.id = 1 WHERE e.seq > c.seq AND e.type IN " CITYGUARD_UPWARD_TYPES};
#undef CITYGUARD_UPWARD_TYPES

}  // namespace cityguard::store::queries
