#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
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
    std::string evidence{};  ///< the validated evidence object as JSON text; empty: none
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
/// An item may carry "evidence" (see parse_evidence); one that is malformed rejects the item
/// alone, code "bad_evidence".
parsed_readings parse_readings(
    std::string_view body,
    std::size_t max_items,
    std::size_t max_depth = util::kDefaultJsonMaxDepth,
    std::size_t max_url_bytes = 1024
);

/// Parses a video-analysis platform's callback, POST /api/v1/events (docs/evidence.md):
/// {"events":[{"sensor":"...","ts":...,"detected":true|false,"camera":"...","snapshot":"https://...",
/// "clip":"https://...","label":"...","confidence":0.93}, ...]}. Each event becomes the sensor's
/// reading (1 detected, 0 cleared; "detected" defaults to true) carrying the rest as evidence.
/// Request-level errors as parse_readings, with "events" for "readings".
parsed_readings parse_events(
    std::string_view body,
    std::size_t max_items,
    std::size_t max_depth = util::kDefaultJsonMaxDepth,
    std::size_t max_url_bytes = 1024
);

/// Checks the evidence fields of `item` (an object; other keys are left to the caller when
/// `only_evidence_keys` is false) and returns them as compact JSON text, or the reason they are
/// refused. Fields, all optional but at least one of camera, snapshot, clip:
///   camera      the camera or channel id: a GB/T 28181 id (20 digits) or 1–64 of [A-Za-z0-9_.:-]
///   snapshot    an http(s) URL of the picture, at most `max_url_bytes`, printable ASCII without
///               quotes, angle brackets, backslash or backtick
///   clip        an http(s) URL of the video clip, the same rules
///   label       what the analysis saw ("smoking", "fire"), at most 64 bytes of UTF-8 text
///   confidence  a number from 0 to 1
struct evidence_check {
    std::string json;   ///< set when accepted
    std::string error;  ///< set when refused
};
evidence_check parse_evidence(const nlohmann::json& item, std::size_t max_url_bytes, bool only_evidence_keys);

}  // namespace cityguard::readings
