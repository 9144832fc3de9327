#include "cityguard/upward/report.hpp"

#include <algorithm>
#include <array>

namespace cityguard::upward {

using json = nlohmann::json;

namespace {

constexpr std::array<std::string_view, 17> kFields{
    "eventId",
    "eventType",
    "alarmId",
    "rule",
    "level",
    "levelName",
    "title",
    "advice",
    "siteId",
    "district",
    "domain",
    "sensorId",
    "value",
    "longitude",
    "latitude",
    "occurredAt",
    "platform"};

// The national warning scale counts from the most severe: 1 red (特别重大), 2 orange, 3 yellow, 4 blue.
int level_code(rules::level l) {
    switch (l) {
        case rules::level::red:
            return 1;
        case rules::level::orange:
            return 2;
        case rules::level::yellow:
            return 3;
        case rules::level::blue:
            return 4;
    }
    return 4;
}

std::string event_type(std::string_view type) {
    if (type == "escalated" || type == "deescalated") return "level_changed";
    return std::string(type);
}

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

bool reported(std::string_view t) { return t == "raised" || t == "escalated" || t == "deescalated" || t == "closed"; }

std::string event_id(const std::string& platform_code, std::int64_t seq) {
    return (platform_code.empty() ? std::string("cityguard") : platform_code) + "-" + std::to_string(seq);
}

json report(
    const alarm_model::event& e,
    const alarm_model::alarm& a,
    const place& where,
    const std::string& platform_code,
    const json& fields
) {
    const rules::level lvl = e.lvl.value_or(a.lvl);
    json out{
        {"eventId", event_id(platform_code, e.seq)},
        {"eventType", event_type(e.type)},
        {"alarmId", a.id},
        {"rule", a.rule},
        {"level", level_code(lvl)},
        {"levelName", rules::chinese_name(lvl)},
        {"title", a.title.zh},
        {"advice", a.advice.zh},
        {"siteId", a.site},
        {"district", where.district},
        {"domain", a.domain},
        {"sensorId", a.sensor.empty() ? json(nullptr) : json(a.sensor)},
        {"value", optional_number(e.value ? e.value : a.value)},
        {"longitude", optional_number(where.lon)},
        {"latitude", optional_number(where.lat)},
        {"occurredAt", util::format_rfc3339(e.at)},
        {"platform", platform_code}};
    if (!fields.is_object() || fields.empty()) return out;
    json renamed = json::object();
    for (auto& [name, value] : out.items()) {
        const auto it = fields.find(name);
        if (it == fields.end())
            renamed[name] = std::move(value);
        else if (it->is_string())
            renamed[it->get<std::string>()] = std::move(value);
        // null: omitted
    }
    return renamed;
}

std::string string_to_sign(
    const std::string& app_id, std::int64_t timestamp_ms, const std::string& nonce, const std::string& data
) {
    return app_id + std::to_string(timestamp_ms) + nonce + data;
}

std::string fields_problem(const json& fields) {
    if (!fields.is_object()) return "must be an object of field renames";
    std::vector<std::string> targets;
    for (const auto& [name, value] : fields.items()) {
        if (std::find(kFields.begin(), kFields.end(), name) == kFields.end())
            return "'" + name.substr(0, 64) + "' is not a field of the report";
        if (value.is_null()) continue;
        if (!value.is_string() || value.get<std::string>().empty() || value.get<std::string>().size() > 64)
            return "'" + name + "' must be renamed to 1-64 bytes of text, or null to omit it";
        targets.push_back(value.get<std::string>());
    }
    std::sort(targets.begin(), targets.end());
    if (std::adjacent_find(targets.begin(), targets.end()) != targets.end()) return "two fields are renamed alike";
    return {};
}

}  // namespace cityguard::upward
