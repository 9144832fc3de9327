// Request targets and the values in them: path and query decoding, text checks, times, durations,
// integer and decimal parameters, dates.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cityguard/api/request.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"
#include "cityguard/util/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string path;
    std::unordered_map<std::string, std::string> query;
    if (cityguard::api::parse_target(text, path, query)) {
        if (path.find('\0') != std::string::npos) __builtin_trap();  // parse_target refuses NUL in paths
        (void)cityguard::util::storable_text(path);
        for (const auto& [name, value] : query) {
            (void)cityguard::util::storable_text(value);
            try {
                const auto t = cityguard::util::parse_time_param(value, name);
                if (t < cityguard::util::kEarliestTime || t > cityguard::util::kLatestTime) __builtin_trap();
                (void)cityguard::util::format_rfc3339(t);
            } catch (const cityguard::api_error&) {
            }
            if (auto d = cityguard::util::parse_duration_seconds(value); d && *d <= 0) __builtin_trap();
            try {
                const auto n = cityguard::util::parse_integer_param(value, name, -5, 50);
                if (n < -5 || n > 50) __builtin_trap();
            } catch (const cityguard::api_error&) {
            }
            try {
                const double x = cityguard::util::parse_number_param(value, name, -90, 90);
                if (!(x >= -90 && x <= 90)) __builtin_trap();
            } catch (const cityguard::api_error&) {
            }
        }
    }
    if (auto day = cityguard::util::parse_date(text)) {
        // A date we accept prints back as itself.
        if (cityguard::util::format_date(*day) != text) __builtin_trap();
    }
    if (auto t = cityguard::util::parse_rfc3339(text)) {
        // What we parse we can print, and printing then parsing gives the same instant.
        if (cityguard::util::parse_rfc3339(cityguard::util::format_rfc3339(*t)) != t) __builtin_trap();
    }
    return 0;
}
