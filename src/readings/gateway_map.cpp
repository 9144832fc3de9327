#include "cityguard/readings/gateway_map.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "cityguard/mqtt/packets.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cityguard::readings {

using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxGateways = 100'000;
constexpr std::size_t kMaxNameBytes = 256;

std::string text_of(const json& v, const std::string& where) {
    if (!v.is_string() || v.get_ref<const std::string&>().empty() ||
        v.get_ref<const std::string&>().size() > kMaxNameBytes || !util::storable_text(v.get_ref<const std::string&>()))
        throw std::invalid_argument(where + " must be a non-empty string of at most 256 bytes");
    return v.get<std::string>();
}

std::vector<std::string> strings_of(const json& v, const std::string& where, bool may_be_empty) {
    if (!v.is_array() || (!may_be_empty && v.empty()))
        throw std::invalid_argument(where + " must be " + (may_be_empty ? "an array" : "a non-empty array"));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v.size(); ++i) out.push_back(text_of(v[i], where + "[" + std::to_string(i) + "]"));
    return out;
}

void only_keys(const json& obj, std::initializer_list<std::string_view> keys, const std::string& where) {
    for (const auto& [key, value] : obj.items())
        if (std::find(keys.begin(), keys.end(), key) == keys.end())
            throw std::invalid_argument(where + " has no field '" + key.substr(0, 64) + "'");
}

mqtt_device parse_device(const json& d, const std::string& where, const mqtt_gateway& g) {
    if (!d.is_object()) throw std::invalid_argument(where + " must be an object");
    only_keys(d, {"topic", "fields"}, where);
    mqtt_device device;
    device.topic = text_of(d.value("topic", json()), where + ".topic");
    if (device.topic.find_first_of("+#") != std::string::npos)
        throw std::invalid_argument(where + ".topic must be a topic, not a filter");
    if (std::none_of(g.topics.begin(), g.topics.end(), [&](const std::string& f) {
            return mqtt::topic_matches(f, device.topic);
        }))
        throw std::invalid_argument(where + ".topic is outside the gateway's topics");
    const json fields = d.value("fields", json());
    if (!fields.is_object() || fields.empty())
        throw std::invalid_argument(where + ".fields must map payload fields to sensor ids");
    for (const auto& [field, sensor] : fields.items())
        device.fields.emplace(field, text_of(sensor, where + ".fields." + field.substr(0, 64)));
    return device;
}

/// One reading of a ThingsBoard values object: a number, or true/false as 1/0.
bool value_of(const json& v, double& out) {
    if (v.is_boolean()) {
        out = v.get<bool>() ? 1.0 : 0.0;
        return true;
    }
    if (!v.is_number()) return false;
    out = v.get<double>();
    return std::isfinite(out);
}

/// The mapped fields of one ThingsBoard values object at time `ts`, appended to `out`; `index`
/// counts fields across the message, so a refusal names its place.
void map_values(
    const json& values,
    util::micros ts,
    const mqtt_device& device,
    std::size_t max_readings,
    parsed_readings& out,
    std::size_t& index
) {
    for (const auto& [field, value] : values.items()) {
        if (++index > max_readings)
            throw api_error(
                errc::too_many_readings, "at most " + std::to_string(max_readings) + " readings per message"
            );
        const std::size_t at = index - 1;
        auto sensor = device.fields.find(field);
        if (sensor == device.fields.end()) {
            out.rejected.push_back(
                {at, "unmapped_field", "field '" + field.substr(0, 64) + "' is not mapped to a sensor"}
            );
            continue;
        }
        posted_reading r;
        r.index = at;
        r.sensor = sensor->second;
        r.ts = ts;
        if (!value_of(value, r.value)) {
            out.rejected.push_back(
                {at, "bad_value", "field '" + field.substr(0, 64) + "' must be a finite number or a boolean"}
            );
            continue;
        }
        out.readings.push_back(std::move(r));
    }
}

/// A ThingsBoard "ts" (epoch milliseconds), as readings take it.
util::micros ts_of(const json& ts) {
    if (!ts.is_number_integer()) throw api_error(errc::bad_request, "ts must be integer epoch milliseconds");
    const auto ms = ts.get<std::int64_t>();
    if (ms < 0 || ms > 32'503'680'000'000LL) throw api_error(errc::bad_request, "ts out of range");
    return ms * 1000;
}

}  // namespace

bool mqtt_gateway::may_report_for(std::string_view site) const {
    return sites.empty() || std::find(sites.begin(), sites.end(), site) != sites.end();
}

gateway_map gateway_map::parse(const json& doc) {
    if (!doc.is_object()) throw std::invalid_argument("the mapping must be an object {\"gateways\":[...]}");
    only_keys(doc, {"gateways"}, "the mapping");
    const json list = doc.value("gateways", json());
    if (!list.is_array()) throw std::invalid_argument("the mapping must have a \"gateways\" array");
    if (list.size() > kMaxGateways) throw std::invalid_argument("at most 100000 gateways");
    gateway_map map;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string where = "gateways[" + std::to_string(i) + "]";
        const json& g = list[i];
        if (!g.is_object()) throw std::invalid_argument(where + " must be an object");
        only_keys(g, {"id", "topics", "sites", "devices"}, where);
        mqtt_gateway gateway;
        gateway.id = text_of(g.value("id", json()), where + ".id");
        gateway.topics = strings_of(g.value("topics", json()), where + ".topics", false);
        for (const auto& f : gateway.topics)
            if (auto problem = mqtt::filter_problem(f); !problem.empty())
                throw std::invalid_argument(where + ".topics: '" + f + "' " + problem);
        if (g.contains("sites")) gateway.sites = strings_of(g["sites"], where + ".sites", true);
        if (g.contains("devices")) {
            if (!g["devices"].is_array()) throw std::invalid_argument(where + ".devices must be an array");
            for (std::size_t d = 0; d < g["devices"].size(); ++d)
                gateway.devices.push_back(
                    parse_device(g["devices"][d], where + ".devices[" + std::to_string(d) + "]", gateway)
                );
        }
        for (const auto& other : map.gateways_)
            if (other.id == gateway.id) throw std::invalid_argument(where + ".id '" + gateway.id + "' is repeated");
        map.gateways_.push_back(std::move(gateway));
    }
    // A topic belongs to one gateway: otherwise who sent a message would depend on list order.
    for (const auto& a : map.gateways_)
        for (const auto& b : map.gateways_)
            if (&a != &b)
                for (const auto& fa : a.topics)
                    for (const auto& fb : b.topics)
                        if (mqtt::filters_overlap(fa, fb))
                            throw std::invalid_argument(
                                "gateways '" + a.id + "' and '" + b.id + "' share topics ('" + fa + "', '" + fb + "')"
                            );
    return map;
}

std::vector<std::string> gateway_map::subscriptions() const {
    std::vector<std::string> out;
    for (const auto& g : gateways_)
        for (const auto& f : g.topics)
            if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
    return out;
}

const mqtt_gateway* gateway_map::gateway_for(std::string_view topic) const {
    for (const auto& g : gateways_)
        for (const auto& f : g.topics)
            if (mqtt::topic_matches(f, topic)) return &g;
    return nullptr;
}

parsed_readings gateway_map::map_payload(
    const mqtt_gateway& gateway,
    std::string_view topic,
    std::string_view payload,
    const payload_limits& limits,
    util::micros now
) const {
    // CityGuard's own body is told by its first key without a second parse.
    const auto start = payload.find_first_not_of(" \t\r\n");
    if (start != std::string_view::npos && payload[start] == '{') {
        const auto key = payload.find_first_not_of(" \t\r\n", start + 1);
        if (key != std::string_view::npos && payload.substr(key).starts_with("\"readings\""))
            return parse_readings(payload, limits.max_readings, limits.max_depth, limits.max_url_bytes);
    }
    const json doc = util::parse_untrusted_json(payload, limits.max_depth);
    if (doc.is_object() && doc.contains("readings"))
        return parse_readings(payload, limits.max_readings, limits.max_depth, limits.max_url_bytes);
    if (!doc.is_object() && !doc.is_array())
        throw api_error(errc::bad_request, "a payload must be a JSON object or an array of telemetry objects");
    const auto device = std::find_if(gateway.devices.begin(), gateway.devices.end(), [&](const mqtt_device& d) {
        return d.topic == topic;
    });
    if (device == gateway.devices.end())
        throw api_error(errc::bad_request, "no device of gateway '" + gateway.id + "' publishes on this topic");
    parsed_readings out;
    std::size_t index = 0;
    auto one = [&](const json& item) {
        if (!item.is_object()) throw api_error(errc::bad_request, "telemetry must be an object");
        if (auto values = item.find("values"); values != item.end()) {
            if (!values->is_object()) throw api_error(errc::bad_request, "values must be an object");
            const auto ts = item.find("ts");
            map_values(*values, ts == item.end() ? now : ts_of(*ts), *device, limits.max_readings, out, index);
        } else {
            map_values(item, now, *device, limits.max_readings, out, index);
        }
    };
    if (doc.is_array()) {
        if (doc.size() > limits.max_readings)
            throw api_error(
                errc::too_many_readings, "at most " + std::to_string(limits.max_readings) + " readings per message"
            );
        for (const auto& item : doc) one(item);
    } else {
        one(doc);
    }
    return out;
}

}  // namespace cityguard::readings
