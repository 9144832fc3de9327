#include "cityguard/readings/modbus_map.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "cityguard/util/input.hpp"

namespace cityguard::readings {

using json = nlohmann::json;

namespace {

[[noreturn]] void refuse(const std::string& where, const std::string& why) {
    throw std::invalid_argument(where + ": " + why);
}

std::string text(const json& obj, const char* key, const std::string& where, bool required = true) {
    const auto it = obj.find(key);
    if (it == obj.end()) {
        if (required) refuse(where + "." + key, "is required");
        return {};
    }
    if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
        it->get_ref<const std::string&>().size() > 256 || !util::storable_text(it->get_ref<const std::string&>()))
        refuse(where + "." + key, "must be a non-empty string of at most 256 bytes");
    return it->get<std::string>();
}

long long integer(
    const json& obj, const char* key, const std::string& where, long long lo, long long hi, long long fallback
) {
    const auto it = obj.find(key);
    if (it == obj.end()) return fallback;
    if (!it->is_number_integer() || it->get<long long>() < lo || it->get<long long>() > hi)
        refuse(where + "." + key, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    return it->get<long long>();
}

double number(const json& obj, const char* key, const std::string& where, double fallback) {
    const auto it = obj.find(key);
    if (it == obj.end()) return fallback;
    if (!it->is_number() || !std::isfinite(it->get<double>())) refuse(where + "." + key, "must be a finite number");
    return it->get<double>();
}

void only_keys(const json& obj, std::initializer_list<const char*> keys, const std::string& where) {
    for (const auto& [key, value] : obj.items()) {
        bool known = false;
        for (const char* k : keys) known = known || key == k;
        if (!known) refuse(where, "has no field '" + key.substr(0, 64) + "'");
    }
}

modbus_point parse_point(const json& p, const std::string& where) {
    if (!p.is_object()) refuse(where, "must be an object");
    only_keys(p, {"sensor", "table", "address", "type", "word_order", "scale", "offset", "interval_s"}, where);
    modbus_point out;
    out.sensor = text(p, "sensor", where);
    const std::string table = p.value("table", std::string("holding"));
    if (table == "holding")
        out.table = modbus_table::holding;
    else if (table == "input")
        out.table = modbus_table::input;
    else if (table == "coil")
        out.table = modbus_table::coil;
    else if (table == "discrete")
        out.table = modbus_table::discrete;
    else
        refuse(where + ".table", "must be holding, input, coil or discrete");
    out.address = static_cast<int>(integer(p, "address", where, 0, 65'535, -1));
    if (out.address < 0) refuse(where + ".address", "is required (0-65535, the protocol address)");
    const bool bits = out.table == modbus_table::coil || out.table == modbus_table::discrete;
    const std::string type = p.value("type", std::string(bits ? "bool" : "uint16"));
    if (type == "uint16")
        out.type = modbus_type::uint16;
    else if (type == "int16")
        out.type = modbus_type::int16;
    else if (type == "uint32")
        out.type = modbus_type::uint32;
    else if (type == "int32")
        out.type = modbus_type::int32;
    else if (type == "float32")
        out.type = modbus_type::float32;
    else if (type == "bool")
        out.type = modbus_type::boolean;
    else
        refuse(where + ".type", "must be uint16, int16, uint32, int32, float32 or bool");
    if (bits != (out.type == modbus_type::boolean))
        refuse(where + ".type", "coils and discrete inputs are bool; registers are not");
    const std::string order = p.value("word_order", std::string("big"));
    if (order != "big" && order != "little") refuse(where + ".word_order", "must be big (ABCD) or little (CDAB)");
    out.low_word_first = order == "little";
    if (out.address + modbus_width(out.type) > 65'536) refuse(where + ".address", "the value runs past register 65535");
    out.scale = number(p, "scale", where, 1);
    out.offset = number(p, "offset", where, 0);
    out.interval_s = static_cast<int>(integer(p, "interval_s", where, 1, 86'400, 0));
    return out;
}

}  // namespace

int modbus_width(modbus_type t) noexcept {
    return t == modbus_type::uint32 || t == modbus_type::int32 || t == modbus_type::float32 ? 2 : 1;
}

std::optional<double> modbus_value(const modbus_point& p, const std::uint16_t* words) {
    double raw = 0;
    std::uint32_t both = 0;
    if (modbus_width(p.type) == 2)
        both =
            p.low_word_first ? (std::uint32_t{words[1]} << 16) | words[0] : (std::uint32_t{words[0]} << 16) | words[1];
    switch (p.type) {
        case modbus_type::boolean:
            raw = words[0] ? 1 : 0;
            break;
        case modbus_type::uint16:
            raw = words[0];
            break;
        case modbus_type::int16:
            raw = static_cast<std::int16_t>(words[0]);
            break;
        case modbus_type::uint32:
            raw = both;
            break;
        case modbus_type::int32:
            raw = static_cast<std::int32_t>(both);
            break;
        case modbus_type::float32: {
            float f = 0;
            std::memcpy(&f, &both, sizeof f);
            raw = f;
            break;
        }
    }
    const double value = raw * p.scale + p.offset;
    if (!std::isfinite(value)) return std::nullopt;
    return value;
}

std::vector<modbus_device> parse_modbus_map(const json& doc) {
    if (!doc.is_object() || !doc.contains("devices") || !doc["devices"].is_array())
        throw std::invalid_argument("the connector file must be an object {\"devices\":[...]}");
    only_keys(doc, {"devices"}, "the connector file");
    std::vector<modbus_device> out;
    for (std::size_t i = 0; i < doc["devices"].size(); ++i) {
        const std::string where = "devices[" + std::to_string(i) + "]";
        const json& d = doc["devices"][i];
        if (!d.is_object()) refuse(where, "must be an object");
        only_keys(d, {"id", "host", "port", "unit", "timeout_ms", "points"}, where);
        modbus_device device;
        device.id = text(d, "id", where);
        device.host = text(d, "host", where);
        device.port = static_cast<int>(integer(d, "port", where, 1, 65'535, 502));
        device.unit = static_cast<int>(integer(d, "unit", where, 0, 247, 1));
        device.timeout_ms = static_cast<int>(integer(d, "timeout_ms", where, 10, 60'000, 1000));
        if (!d.contains("points") || !d["points"].is_array() || d["points"].empty())
            refuse(where + ".points", "must list the device's points");
        for (std::size_t k = 0; k < d["points"].size(); ++k)
            device.points.push_back(parse_point(d["points"][k], where + ".points[" + std::to_string(k) + "]"));
        for (const auto& other : out)
            if (other.id == device.id) refuse(where + ".id", "'" + device.id + "' is repeated");
        out.push_back(std::move(device));
    }
    return out;
}

}  // namespace cityguard::readings
