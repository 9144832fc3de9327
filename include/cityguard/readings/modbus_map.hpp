#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

/// The Modbus connector file (docs/ingest.md, "Modbus TCP"): which device (host, port, unit id)
/// holds which register of which sensor, its type, scale and offset. Pure: no I/O.
namespace cityguard::readings {

enum class modbus_table { holding, input, coil, discrete };
enum class modbus_type { uint16, int16, uint32, int32, float32, boolean };

struct modbus_point {
    std::string sensor;
    modbus_table table = modbus_table::holding;
    int address = 0;
    modbus_type type = modbus_type::uint16;
    bool low_word_first = false;  ///< 32-bit values: "word_order": "little" (CDAB), else big (ABCD)
    double scale = 1;
    double offset = 0;
    int interval_s = 0;  ///< 0: the sensor's own interval_s from the registry
};

struct modbus_device {
    std::string id;
    std::string host;
    int port = 502;
    int unit = 1;
    int timeout_ms = 1000;
    std::vector<modbus_point> points;
};

/// Checks and takes a connector document {"devices":[...]}. Throws std::invalid_argument naming the item.
std::vector<modbus_device> parse_modbus_map(const nlohmann::json& doc);

/// Registers (16-bit words) a point of this type reads: 1 or 2; bits for coils and discrete inputs.
int modbus_width(modbus_type t) noexcept;
/// The point's value from the words (or bits, 0/1) read at its address: raw × scale + offset;
/// nullopt for a value that is not finite (a float32 NaN from a failed sensor).
std::optional<double> modbus_value(const modbus_point& p, const std::uint16_t* words);

}  // namespace cityguard::readings
