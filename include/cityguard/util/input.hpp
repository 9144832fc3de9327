#pragma once
// Checks for input from outside the process: text, JSON and time parameters. Pure functions.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "cityguard/util/time.hpp"

namespace cityguard::util {

/// The default of http.json_max_depth.
inline constexpr std::size_t kDefaultJsonMaxDepth = 32;

/// True when `text` is well-formed UTF-8 with no NUL: what a PostgreSQL text column stores
/// as it is (PostgreSQL refuses NUL, and we never truncate).
bool storable_text(std::string_view text) noexcept;

/// Parses JSON that came from a client. Before any DOM is built, one pass over the bytes refuses
/// nesting deeper than `max_depth` (a deep document costs stack and memory out of proportion to
/// its size) and "\u0000" inside strings. Throws api_error: invalid_json (not JSON, too deep)
/// or invalid_text (NUL).
nlohmann::json parse_untrusted_json(std::string_view text, std::size_t max_depth);

/// The earliest and latest instants a client may name: 0001-01-01 and 9999-12-31T23:59:59.999999Z,
/// the range PostgreSQL and RFC 3339 share.
inline constexpr micros kEarliestTime = -62'135'596'800'000'000LL;
inline constexpr micros kLatestTime = 253'402'300'799'999'999LL;

/// A time query parameter: RFC 3339, or epoch milliseconds, within [kEarliestTime, kLatestTime].
/// Throws api_error(bad_request) naming `name`.
micros parse_time_param(std::string_view text, std::string_view name);

/// An integer query parameter within [min, max]. Throws api_error(bad_request) naming `name`.
long long parse_integer_param(std::string_view text, std::string_view name, long long min, long long max);

/// A decimal query parameter within [min, max] (finite). Throws api_error(bad_request) naming `name`.
double parse_number_param(std::string_view text, std::string_view name, double min, double max);

}  // namespace cityguard::util
