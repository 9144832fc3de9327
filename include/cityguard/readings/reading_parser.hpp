#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cityguard/util/input.hpp"
#include "cityguard/util/time.hpp"

/// Parsing of POST /api/v1/readings bodies. Pure: no I/O, no registry.
namespace cityguard::readings {

/// One well-formed reading as posted.
struct posted_reading {
    std::size_t index = 0;  ///< position in the request's "readings" array
    std::string sensor;
    util::micros ts = 0;
    double value = 0;
};

/// An item refused with a stable code ("missing_sensor", "bad_timestamp", "bad_value", ...).
struct rejected_reading {
    std::size_t index = 0;
    std::string error;
    std::string message;
};

struct parsed_readings {
    std::vector<posted_reading> readings;
    std::vector<rejected_reading> rejected;
};

/// Parses {"readings":[{"sensor":"...","ts":"RFC 3339" | epoch-ms integer,"value":number}, ...]}.
/// Items with a missing or malformed field are rejected one by one; the others are returned.
/// `value` may also be true/false (1/0), as detections are. Throws api_error(invalid_json) for
/// a body that is not JSON, api_error(bad_request) for a body without a "readings" array, and
/// api_error(too_many_readings) beyond `max_items`.
/// Nesting beyond `max_depth` is refused as invalid_json and "\u0000" as invalid_text, before parsing.
parsed_readings parse_readings(
    std::string_view body, std::size_t max_items, std::size_t max_depth = util::kDefaultJsonMaxDepth
);

}  // namespace cityguard::readings
