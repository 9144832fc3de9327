// The readings body of POST /api/v1/readings.
#include <cstdint>
#include <string_view>

#include "cityguard/readings/reading_parser.hpp"
#include "cityguard/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    try {
        auto parsed = cityguard::readings::parse_readings(body, 10'000, 32);
        for (const auto& r : parsed.readings)
            if (r.sensor.empty()) __builtin_trap();  // accepted readings always name a sensor
    } catch (const cityguard::api_error&) {
    }
    return 0;
}
