// Client messages of the live feed (GET /api/v1/feed).
#include <cstdint>
#include <string_view>

#include "cityguard/feed/feed_service.hpp"
#include "cityguard/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto m = cityguard::feed::parse_client_message(text, 32);
        if (m.since && *m.since < 0) __builtin_trap();
    } catch (const cityguard::api_error&) {
    }
    return 0;
}
