#include "cityguard/readings/reading_parser.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cityguard::readings {

using json = nlohmann::json;

namespace {

/// At most 64 bytes of a field name for a message, never ending inside a UTF-8 character.
std::string short_name(const std::string& key) {
    std::size_t n = std::min<std::size_t>(key.size(), 64);
    while (n > 0 && n < key.size() && (static_cast<unsigned char>(key[n]) & 0xC0) == 0x80) --n;
    return key.substr(0, n);
}

bool is_gb28181_id(std::string_view s) {
    return s.size() == 20 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_plain_id(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
    });
}

// Only what a browser shows as an image or opens as a link, and nothing that could leave an
// attribute or a Markdown link it is put in.
std::string url_problem(std::string_view url, std::size_t max_bytes) {
    if (url.size() > max_bytes) return "longer than " + std::to_string(max_bytes) + " bytes";
    std::string lower;
    for (char c : url.substr(0, 8)) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::size_t host = 0;
    if (lower.starts_with("https://"))
        host = 8;
    else if (lower.starts_with("http://"))
        host = 7;
    else
        return "must be an http:// or https:// URL";
    if (host >= url.size() || url[host] == '/' || url[host] == '?' || url[host] == '#') return "has no host";
    for (char c : url) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' || c == '`' ||
            c == '(' || c == ')')
            return "may hold printable ASCII only, without spaces, quotes, brackets, backslash or backtick";
    }
    return {};
}

constexpr std::string_view kEvidenceKeys[] = {"camera", "snapshot", "clip", "label", "confidence"};

/// The first field of a callback event that is neither its subject nor evidence; empty: none.
std::string unknown_event_field(const json& item) {
    for (const auto& [key, value] : item.items())
        if (key != "sensor" && key != "ts" && key != "detected" &&
            std::find(std::begin(kEvidenceKeys), std::end(kEvidenceKeys), key) == std::end(kEvidenceKeys))
            return key;
    return {};
}

/// Why one item is refused: a stable code and a message; nothing: accepted.
using item_error = std::optional<std::pair<const char*, std::string>>;

item_error refuse(const char* code, std::string message) { return std::pair{code, std::move(message)}; }

/// The sensor and ts of an item.
item_error parse_subject(const json& item, posted_reading& r) {
    auto sensor = item.find("sensor");
    if (sensor == item.end() || !sensor->is_string() || sensor->get_ref<const std::string&>().empty())
        return refuse("missing_sensor", "sensor is required and must be a non-empty string");
    r.sensor = sensor->get<std::string>();

    auto ts = item.find("ts");
    if (ts == item.end())
        return refuse("missing_timestamp", "ts is required (RFC 3339 with offset, or epoch milliseconds)");
    if (ts->is_string()) {
        auto t = util::parse_rfc3339(ts->get_ref<const std::string&>());
        if (!t) return refuse("bad_timestamp", "ts must be RFC 3339 with an offset, e.g. 2026-11-22T08:00:00.250Z");
        r.ts = *t;
    } else if (ts->is_number_integer()) {
        // Epoch milliseconds; the bound keeps the multiplication far from overflow.
        const auto ms = ts->get<std::int64_t>();
        if (ms < 0 || ms > 32'503'680'000'000LL) return refuse("bad_timestamp", "epoch milliseconds out of range");
        r.ts = ms * 1000;
    } else {
        return refuse("bad_timestamp", "ts must be an RFC 3339 string or integer epoch milliseconds");
    }
    return std::nullopt;
}

/// The items array of a {"<name>":[...]} body, checked as a whole.
const json& items_of(const json& doc, const char* name, std::size_t max_items) {
    const std::string list_name(name);
    if (!doc.is_object()) throw api_error(errc::bad_request, "body must be an object {\"" + list_name + "\":[...]}");
    auto list = doc.find(list_name);
    if (list == doc.end() || !list->is_array())
        throw api_error(errc::bad_request, "body must have a \"" + list_name + "\" array");
    if (list->size() > max_items)
        throw api_error(
            errc::too_many_readings,
            "at most " + std::to_string(max_items) + " " + list_name + " per request; got " +
                std::to_string(list->size())
        );
    return *list;
}

/// A {"<list_name>":[...]} body, item by item: each must be an object with a sensor and a ts,
/// and `rest(item, reading)` judges the remainder. A refused item is listed alone.
template <class Rest>
parsed_readings parse_items(
    std::string_view body,
    const char* list_name,
    const char* not_an_object,
    std::size_t max_items,
    std::size_t max_depth,
    Rest rest
) {
    const json doc = util::parse_untrusted_json(body, max_depth);
    const json& list = items_of(doc, list_name, max_items);
    parsed_readings out;
    out.readings.reserve(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
        const json& item = list[i];
        posted_reading r;
        r.index = i;
        item_error error = item.is_object() ? parse_subject(item, r) : refuse("bad_item", not_an_object);
        if (!error) error = rest(item, r);
        if (error)
            out.rejected.push_back({i, error->first, std::move(error->second)});
        else
            out.readings.push_back(std::move(r));
    }
    return out;
}

}  // namespace

evidence_check parse_evidence(const json& item, std::size_t max_url_bytes, bool only_evidence_keys) {
    if (!item.is_object()) return {{}, "evidence must be an object"};
    json out = json::object();
    for (const auto& [key, value] : item.items()) {
        const bool known =
            std::find(std::begin(kEvidenceKeys), std::end(kEvidenceKeys), key) != std::end(kEvidenceKeys);
        if (!known) {
            if (only_evidence_keys) return {{}, "evidence has an unknown field '" + short_name(key) + "'"};
            continue;
        }
        if (value.is_null()) continue;
        if (key == "confidence") {
            if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0 ||
                value.get<double>() > 1)
                return {{}, "evidence confidence must be a number from 0 to 1"};
            out[key] = value.get<double>();
            continue;
        }
        if (!value.is_string()) return {{}, "evidence " + key + " must be a string"};
        const auto& text = value.get_ref<const std::string&>();
        if (key == "camera") {
            if (!is_gb28181_id(text) && !is_plain_id(text))
                return {{}, "evidence camera must be a GB/T 28181 id (20 digits) or 1-64 of A-Z a-z 0-9 _ . : -"};
        } else if (key == "label") {
            if (text.empty() || text.size() > 64) return {{}, "evidence label must be 1-64 bytes"};
            if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
                return {{}, "evidence label may not hold control characters"};
        } else if (auto problem = url_problem(text, max_url_bytes); !problem.empty()) {
            return {{}, "evidence " + key + " " + problem};
        }
        out[key] = text;
    }
    if (!out.contains("camera") && !out.contains("snapshot") && !out.contains("clip"))
        return {{}, "evidence needs a camera, a snapshot or a clip"};
    return {out.dump(), {}};
}

parsed_readings parse_readings(
    std::string_view body, std::size_t max_items, std::size_t max_depth, std::size_t max_url_bytes
) {
    return parse_items(
        body,
        "readings",
        "a reading must be an object",
        max_items,
        max_depth,
        [max_url_bytes](const json& item, posted_reading& r) -> item_error {
            auto value = item.find("value");
            if (value == item.end() || value->is_null()) return refuse("missing_value", "value is required");
            if (value->is_boolean()) {
                r.value = value->get<bool>() ? 1.0 : 0.0;
            } else if (value->is_number()) {
                r.value = value->get<double>();
                if (!std::isfinite(r.value)) return refuse("bad_value", "value must be a finite number");
            } else {
                return refuse("bad_value", "value must be a number");
            }
            if (auto evidence = item.find("evidence"); evidence != item.end() && !evidence->is_null()) {
                auto checked = parse_evidence(*evidence, max_url_bytes, true);
                if (!checked.error.empty()) return refuse("bad_evidence", std::move(checked.error));
                r.evidence = std::move(checked.json);
            }
            return std::nullopt;
        }
    );
}

parsed_readings parse_events(
    std::string_view body, std::size_t max_items, std::size_t max_depth, std::size_t max_url_bytes
) {
    return parse_items(
        body,
        "events",
        "an event must be an object",
        max_items,
        max_depth,
        [max_url_bytes](const json& item, posted_reading& r) -> item_error {
            r.value = 1;
            if (auto detected = item.find("detected"); detected != item.end() && !detected->is_null()) {
                if (!detected->is_boolean()) return refuse("bad_value", "detected must be true or false");
                r.value = detected->get<bool>() ? 1.0 : 0.0;
            }
            if (const auto stray = unknown_event_field(item); !stray.empty())
                return refuse("bad_item", "an event has no field '" + short_name(stray) + "'");
            // A clear ("detected": false) may come bare; whatever evidence an event has must be whole.
            const bool bare = std::none_of(std::begin(kEvidenceKeys), std::end(kEvidenceKeys), [&](std::string_view k) {
                const auto it = item.find(k);
                return it != item.end() && !it->is_null();
            });
            if (!bare) {
                auto checked = parse_evidence(item, max_url_bytes, false);
                if (!checked.error.empty()) return refuse("bad_evidence", std::move(checked.error));
                r.evidence = std::move(checked.json);
            }
            return std::nullopt;
        }
    );
}

}  // namespace cityguard::readings
