#include "cityguard/readings/reading_parser.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cityguard::readings {

using json = nlohmann::json;

parsed_readings parse_readings(std::string_view body, std::size_t max_items, std::size_t max_depth) {
    const json doc = util::parse_untrusted_json(body, max_depth);
    if (!doc.is_object()) throw api_error(errc::bad_request, "body must be an object {\"readings\":[...]}");
    auto list = doc.find("readings");
    if (list == doc.end() || !list->is_array())
        throw api_error(errc::bad_request, "body must have a \"readings\" array");
    if (list->size() > max_items)
        throw api_error(
            errc::too_many_readings,
            "at most " + std::to_string(max_items) + " readings per request; got " + std::to_string(list->size())
        );

    parsed_readings out;
    out.readings.reserve(list->size());
    auto reject = [&](std::size_t i, const char* code, std::string message) {
        out.rejected.push_back({i, code, std::move(message)});
    };
    for (std::size_t i = 0; i < list->size(); ++i) {
        const json& item = (*list)[i];
        if (!item.is_object()) {
            reject(i, "bad_item", "a reading must be an object");
            continue;
        }
        posted_reading r;
        r.index = i;

        auto sensor = item.find("sensor");
        if (sensor == item.end() || !sensor->is_string() || sensor->get_ref<const std::string&>().empty()) {
            reject(i, "missing_sensor", "sensor is required and must be a non-empty string");
            continue;
        }
        r.sensor = sensor->get<std::string>();

        auto ts = item.find("ts");
        if (ts == item.end()) {
            reject(i, "missing_timestamp", "ts is required (RFC 3339 with offset, or epoch milliseconds)");
            continue;
        }
        if (ts->is_string()) {
            auto t = util::parse_rfc3339(ts->get_ref<const std::string&>());
            if (!t) {
                reject(i, "bad_timestamp", "ts must be RFC 3339 with an offset, e.g. 2026-11-22T08:00:00.250Z");
                continue;
            }
            r.ts = *t;
        } else if (ts->is_number_integer()) {
            // Epoch milliseconds; the bound keeps the multiplication far from overflow.
            const auto ms = ts->get<std::int64_t>();
            if (ms < 0 || ms > 32'503'680'000'000LL) {
                reject(i, "bad_timestamp", "epoch milliseconds out of range");
                continue;
            }
            r.ts = ms * 1000;
        } else {
            reject(i, "bad_timestamp", "ts must be an RFC 3339 string or integer epoch milliseconds");
            continue;
        }

        auto value = item.find("value");
        if (value == item.end() || value->is_null()) {
            reject(i, "missing_value", "value is required");
            continue;
        }
        if (value->is_boolean()) {
            r.value = value->get<bool>() ? 1.0 : 0.0;
        } else if (value->is_number()) {
            r.value = value->get<double>();
            if (!std::isfinite(r.value)) {
                reject(i, "bad_value", "value must be a finite number");
                continue;
            }
        } else {
            reject(i, "bad_value", "value must be a number");
            continue;
        }
        out.readings.push_back(std::move(r));
    }
    return out;
}

}  // namespace cityguard::readings
