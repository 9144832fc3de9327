// The configuration file (config/cityguard.json).
#include <cstdint>
#include <string>

#include "cityguard/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    cityguard::config::config cfg;
    try {
        cityguard::config::apply_json(cfg, text);
        if (cfg.http.reserved_connections >= cfg.http.max_connections) __builtin_trap();
    } catch (const cityguard::config::config_error&) {
    }
    return 0;
}
