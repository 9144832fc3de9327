#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// Timestamps are carried as microseconds since the Unix epoch (UTC), PostgreSQL's own precision.
namespace cityguard::util {

using micros = std::int64_t;
inline constexpr micros kMicrosPerSecond = 1'000'000;

/// Current wall-clock time. Thread-safe.
micros now_micros() noexcept;

/// Parses RFC 3339 date-time with a mandatory offset ("Z" or "+08:00"), e.g.
/// "2026-11-22T08:00:00.250Z". Fractions beyond microseconds must be zero (so two distinct
/// nanosecond readings never collapse onto one identity). Returns nullopt on any error.
std::optional<micros> parse_rfc3339(std::string_view text) noexcept;

/// Formats as RFC 3339 in UTC with millisecond or microsecond precision as needed:
/// "2026-11-22T08:00:00.250Z".
std::string format_rfc3339(micros t);

/// Appends the PostgreSQL COPY text form of a timestamptz ("2026-11-22 08:00:00.25+00").
void append_pg_timestamp(std::string& out, micros t);

/// Parses a duration like "60s", "5m", "1h", "1d" into seconds. nullopt on error or non-positive.
std::optional<std::int64_t> parse_duration_seconds(std::string_view text) noexcept;

/// a / b rounded towards negative infinity (b != 0).
std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept;

/// Days since 1970-01-01 of a timestamp (floor), for daily partitions.
std::int64_t day_number(micros t) noexcept;

/// The first and last day the API takes, 0001-01-01 and 9999-12-31, as days since 1970-01-01
/// (the instants: util::kEarliestTime, util::kLatestTime in input.hpp).
inline constexpr std::int64_t kFirstDay = -719'162;
inline constexpr std::int64_t kLastDay = 2'932'896;

/// A calendar date "YYYY-MM-DD" (years 0001-9999) as days since 1970-01-01; nullopt if it is
/// not one (2026-02-30 is not).
std::optional<std::int64_t> parse_date(std::string_view text) noexcept;

/// The "YYYY-MM-DD" of a day counted from 1970-01-01.
std::string format_date(std::int64_t day);

}  // namespace cityguard::util
