#pragma once
// What every group of statements shares (part of queries.hpp: see there).

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

}  // namespace cityguard::store::queries

// Microseconds since the epoch of a timestamptz column, and the alarm's columns in the order
// alarm_rows.hpp reads them: used by the alarm, notification and statistics statements.
#define CITYGUARD_EPOCH(x) "(extract(epoch FROM " x ") * 1000000)::bigint"
#define CITYGUARD_ALARM_COLUMNS                                                                                  \
    "id, rule_id, site_id, sensor_id, domain, level, peak_level, condition, status, title, advice, value, "      \
    "peak_value, " CITYGUARD_EPOCH("first_ts") ", " CITYGUARD_EPOCH("last_ts") ", " CITYGUARD_EPOCH("cleared_ts" \
    ) ", count, " CITYGUARD_EPOCH("opened_at") ", " CITYGUARD_EPOCH("closed_at"                                  \
    ) ", close_reason, category, title_en, advice_en, members::text, inhibited_by, " CITYGUARD_EPOCH("ack_due"   \
    ) ", " CITYGUARD_EPOCH("dispose_due"                                                                         \
    ) ", told_tiers, suppressed, silence_id, raise_pending, assignee, evidence::text"
