// What a broker sends CityGuard's MQTT client (src/mqtt/packets.cpp) and what a gateway
// publishes (the mapping of payloads to readings, src/readings/gateway_map.cpp). The first
// byte picks the target.
#include <cstdint>
#include <string>
#include <string_view>

#include "cityguard/mqtt/packets.hpp"
#include "cityguard/readings/gateway_map.hpp"
#include "cityguard/util/error.hpp"

namespace {

const cityguard::readings::gateway_map& the_map() {
    static const auto map = cityguard::readings::gateway_map::parse(nlohmann::json::parse(R"({"gateways":[
        {"id":"gw-a","topics":["cg/gw-a/#"],"sites":["S-A"],
         "devices":[{"topic":"cg/gw-a/station-1","fields":{"lel":"A-LEL-1","pressure":"A-P-1"}}]}]})"));
    return map;
}

void packets(std::string_view bytes) {
    using namespace cityguard::mqtt;
    // As the client's read loop does: one packet after another until the bytes run out.
    while (!bytes.empty()) {
        const auto header = parse_fixed_header(bytes);
        if (!header || header->header_bytes + header->remaining > bytes.size()) return;
        const auto body = bytes.substr(header->header_bytes, header->remaining);
        switch (header->type) {
            case packet_type::connack:
                (void)parse_connack(body);
                break;
            case packet_type::suback:
                (void)parse_suback(body);
                break;
            case packet_type::publish: {
                const auto p = parse_publish(header->flags, body);
                if (p.topic.empty() || p.topic.size() + p.payload.size() > body.size()) __builtin_trap();
                if (p.qos > 0 && p.packet_id == 0) __builtin_trap();
                (void)topic_matches("cg/gw-a/#", p.topic);
                (void)topic_matches("cg/+/station-1", p.topic);
                break;
            }
            default:
                break;
        }
        bytes.remove_prefix(header->header_bytes + header->remaining);
    }
}

void payload(std::string_view text) {
    const auto& map = the_map();
    const cityguard::readings::payload_limits limits{100, 32, 1024};
    try {
        auto parsed = map.map_payload(map.gateways()[0], "cg/gw-a/station-1", text, limits, 1);
        if (parsed.readings.size() + parsed.rejected.size() > 100 * 100) __builtin_trap();
        for (const auto& r : parsed.readings)
            if (r.sensor.empty()) __builtin_trap();
        for (const auto& x : parsed.rejected) (void)nlohmann::json(x.message).dump();  // valid UTF-8
    } catch (const cityguard::api_error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        if (data[0] & 1)
            packets(rest);
        else
            payload(rest);
    } catch (const cityguard::mqtt::protocol_error&) {
    }
    return 0;
}
