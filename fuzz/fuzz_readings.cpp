// The readings body of POST /api/v1/readings and a video platform's callback, POST
// /api/v1/events, both with evidence (docs/evidence.md). The first byte picks the parser.
#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cityguard/readings/reading_parser.hpp"
#include "cityguard/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const bool events = data[0] & 1;
    const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        auto parsed = events ? cityguard::readings::parse_events(body, 1'000, 32, 1024)
                             : cityguard::readings::parse_readings(body, 10'000, 32, 1024);
        for (const auto& r : parsed.readings) {
            if (r.sensor.empty()) __builtin_trap();  // accepted readings always name a sensor
            if (r.evidence.empty()) continue;
            // Accepted evidence is a JSON object the store and the dashboard can take as is.
            const auto ev = nlohmann::json::parse(r.evidence, nullptr, false);
            if (!ev.is_object() || ev.empty()) __builtin_trap();
            for (const char* key : {"snapshot", "clip"})
                if (ev.contains(key)) {
                    const auto& url = ev[key].get_ref<const std::string&>();
                    std::string scheme = url.substr(0, 8);
                    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                    if (url.size() > 1024 || !(scheme.starts_with("http://") || scheme.starts_with("https://")))
                        __builtin_trap();
                    if (url.find_first_of("\"'<> ") != std::string::npos) __builtin_trap();
                }
        }
        for (const auto& x : parsed.rejected) (void)nlohmann::json(x.message).dump();  // valid UTF-8
    } catch (const cityguard::api_error&) {
    }
    return 0;
}
