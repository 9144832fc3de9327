#include "cityguard/alarm_model/coverage.hpp"

#include <algorithm>
#include <map>

namespace cityguard::alarm_model {

using json = nlohmann::json;

namespace {

bool holds(const alarm& a) { return a.state != status::closed && a.cond == condition::active; }

/// A sensor's state, worst first: offline and fault mean the item is not watched by it.
std::string sensor_state(const std::string& sensor, const std::vector<alarm>& alarms, const rules::bundle_item& item) {
    bool offline = false, fault = false, in_alarm = false;
    for (const auto& a : alarms) {
        if (a.sensor != sensor || !holds(a)) continue;
        offline = offline || a.cat == category::offline;
        fault = fault || a.cat == category::fault;
        in_alarm = in_alarm || (a.cat == category::process && std::count(item.rules.begin(), item.rules.end(), a.rule));
    }
    return offline ? "offline" : fault ? "fault" : in_alarm ? "in_alarm" : "ok";
}

}  // namespace

json coverage_of(
    const std::string& site,
    const rules::bundle& b,
    const std::vector<site_sensor>& sensors,
    const std::vector<alarm>& alarms
) {
    json items = json::array();
    std::map<std::string, int> counts{{"ok", 0}, {"in_alarm", 0}, {"offline", 0}, {"fault", 0}, {"no_sensor", 0}};
    json required_missing = json::array();
    for (const auto& item : b.items) {
        json members = json::array();
        json alarm_ids = json::array();
        int working = 0;
        bool any_offline = false, any_fault = false, in_alarm = false;
        for (const auto& s : sensors) {
            if (!item.serves(s.kind)) continue;
            const auto st = sensor_state(s.id, alarms, item);
            members.push_back({{"id", s.id}, {"kind", s.kind}, {"state", st}});
            working += st == "ok" || st == "in_alarm";
            any_offline = any_offline || st == "offline";
            any_fault = any_fault || st == "fault";
        }
        for (const auto& a : alarms)
            if (holds(a) && a.cat == category::process && std::count(item.rules.begin(), item.rules.end(), a.rule) &&
                (a.sensor.empty() ||
                 std::any_of(members.begin(), members.end(), [&](const json& m) { return m["id"] == a.sensor; }))) {
                in_alarm = true;
                alarm_ids.push_back(a.id);
            }
        const std::string state = members.empty() ? "no_sensor"
                                  : in_alarm      ? "in_alarm"
                                  : any_fault     ? "fault"
                                  : any_offline   ? "offline"
                                                  : "ok";
        ++counts[state];
        if (item.required && (members.empty() || working == 0)) required_missing.push_back(item.id);
        items.push_back(
            {{"id", item.id},
             {"type", item.type},
             {"name", {{"zh", item.name.zh}, {"en", item.name.en}}},
             {"required", item.required},
             {"rules", item.rules},
             {"state", state},
             {"working_sensors", working},
             {"sensors", std::move(members)},
             {"alarms", std::move(alarm_ids)}}
        );
    }
    json summary(counts);
    summary["items"] = b.items.size();
    summary["covered"] = b.items.size() - static_cast<std::size_t>(counts["no_sensor"]);
    // Required items with no working sensor: the monitoring duty is not met for them.
    summary["required_unwatched"] = std::move(required_missing);
    return {
        {"site", site},
        {"bundle", {{"id", b.id}, {"name", {{"zh", b.name.zh}, {"en", b.name.en}}}}},
        {"summary", std::move(summary)},
        {"items", std::move(items)}};
}

}  // namespace cityguard::alarm_model
