// Rule packs (config/rules/*.json): parsing and the start-up checks.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "cityguard/rules/rule.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
    if (doc.is_discarded()) return 0;
    try {
        auto rules = cityguard::rules::parse_pack(doc, "fuzz.json");
        for (const auto& r : rules) (void)cityguard::rules::resolve_levels(r, nlohmann::json::object());
    } catch (const std::runtime_error&) {
        // A pack refused at start-up names file and rule: the expected outcome for bad input.
    }
    return 0;
}
