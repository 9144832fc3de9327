#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cityguard/readings/reading_parser.hpp"
#include "cityguard/util/time.hpp"

/// The MQTT mapping file (docs/ingest.md): which gateways publish on which topics, which sites
/// each may report for, and which payload field of which device topic is which sensor. Pure: no
/// I/O, no registry (a mapped sensor that is not registered is refused reading by reading).
namespace cityguard::readings {

struct mqtt_device {
    std::string topic;                                    ///< exact topic the device's telemetry arrives on
    std::unordered_map<std::string, std::string> fields;  ///< payload field → sensor id
};

struct mqtt_gateway {
    std::string id;
    std::vector<std::string> topics;   ///< subscription filters; each topic the gateway may publish on
    std::vector<std::string> sites;    ///< the sites it may report for; empty: any
    std::vector<mqtt_device> devices;  ///< ThingsBoard-style telemetry: field mapping by topic
    bool may_report_for(std::string_view site) const;
};

/// Bounds of one message's payload.
struct payload_limits {
    std::size_t max_readings = 10'000;  ///< readings in one message (ingest.max_readings_per_request)
    std::size_t max_depth = util::kDefaultJsonMaxDepth;
    std::size_t max_url_bytes = 1'024;
};

class gateway_map {
  public:
    gateway_map() = default;
    /// Checks and takes a mapping document. Throws std::invalid_argument naming the item.
    static gateway_map parse(const nlohmann::json& doc);

    const std::vector<mqtt_gateway>& gateways() const noexcept { return gateways_; }
    /// Every gateway's filters, each once: what the connector subscribes to.
    std::vector<std::string> subscriptions() const;
    /// The gateway whose filters match `topic`; nullptr: none (the message is not ours).
    const mqtt_gateway* gateway_for(std::string_view topic) const;

    /// One message's payload as readings, by its shape:
    ///   {"readings":[...]}                      CityGuard's readings body, sensors named
    ///   {"ts":1733558400000,"values":{...}}     ThingsBoard telemetry with a time (epoch ms)
    ///   [{"ts":...,"values":{...}}, ...]        several of those
    ///   {"lel":3.5,"pressure":0.31}             ThingsBoard telemetry without a time: `now`
    /// For the ThingsBoard shapes, fields are mapped to sensors by the device on `topic`; a field
    /// that is not mapped is refused alone ("unmapped_field"), and a topic with no device refuses
    /// the message (api_error bad_request). Request-level errors as parse_readings.
    parsed_readings map_payload(
        const mqtt_gateway& gateway,
        std::string_view topic,
        std::string_view payload,
        const payload_limits& limits,
        util::micros now
    ) const;

  private:
    std::vector<mqtt_gateway> gateways_;
};

}  // namespace cityguard::readings
