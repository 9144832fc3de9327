// The configuration files: config/cityguard.json, the notification file
// (config/notifications.json), the MQTT mapping file, the Modbus connector file and upward
// reporting's fields file, each parsed as the server parses it at start-up.
#include <cstdint>
#include <string>

#include "cityguard/config/config.hpp"
#include "cityguard/mqtt/packets.hpp"
#include "cityguard/notification_model/policy.hpp"
#include "cityguard/readings/gateway_map.hpp"
#include "cityguard/readings/modbus_map.hpp"
#include "cityguard/upward/report.hpp"

namespace {

std::optional<std::string> fixed_environment(const std::string& name) {
    if (name == "CITYGUARD_WEBHOOK_SECRET") return "fuzz-secret";
    return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    cityguard::config::config cfg;
    try {
        cityguard::config::apply_json(cfg, text);
        if (cfg.http.reserved_connections >= cfg.http.max_connections) __builtin_trap();
    } catch (const cityguard::config::config_error&) {
    }
    const auto doc = nlohmann::json::parse(text, nullptr, false, /*ignore_comments=*/true);
    if (!doc.is_discarded()) {
        try {
            const auto policy = cityguard::notification_model::parse_policy(doc, fixed_environment);
            // Every level has a policy once the document is accepted.
            for (auto lvl : {cityguard::rules::level::red, cityguard::rules::level::blue})
                (void)policy.for_alarm(lvl, "gas_station");
            (void)cityguard::notification_model::to_json(policy);
        } catch (const cityguard::notification_model::policy_error&) {
        }
        // The MQTT mapping file and the Modbus connector file: refused with a message or accepted whole.
        try {
            const auto map = cityguard::readings::gateway_map::parse(doc);
            for (const auto& filter : map.subscriptions())
                if (!cityguard::mqtt::filter_problem(filter).empty()) __builtin_trap();
        } catch (const std::invalid_argument&) {
        }
        try {
            for (const auto& device : cityguard::readings::parse_modbus_map(doc))
                for (const auto& point : device.points)
                    if (point.address + cityguard::readings::modbus_width(point.type) > 65'536) __builtin_trap();
        } catch (const std::invalid_argument&) {
        }
        // Upward reporting's fields file: an accepted one renames or omits and never loses the event id's value.
        if (cityguard::upward::fields_problem(doc).empty()) {
            cityguard::alarm_model::event e;
            e.seq = 7;
            e.type = "raised";
            cityguard::alarm_model::alarm a;
            const auto report = cityguard::upward::report(e, a, {}, "440300", doc);
            const auto renamed = doc.find("eventId");
            const std::string key = renamed == doc.end()   ? "eventId"
                                    : renamed->is_string() ? renamed->get<std::string>()
                                                           : "";
            if (!key.empty() && report.value(key, "") != "440300-7") __builtin_trap();
        }
    }
    return 0;
}
