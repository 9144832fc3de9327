// Rule packs (config/rules/*.json): parsing, the start-up checks and the pack's bundle; then a
// few readings through each rule, so whatever parameters a pack can set are evaluated too.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "cityguard/rules/bundle.hpp"
#include "cityguard/rules/evaluator.hpp"
#include "cityguard/rules/rule.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
    if (doc.is_discarded()) return 0;
    try {
        auto rules = cityguard::rules::parse_pack(doc, "fuzz.json");
        (void)cityguard::rules::parse_bundle(doc, "fuzz.json", rules);
        for (const auto& r : rules) {
            const auto limits = nlohmann::json::object();
            const auto levels = cityguard::rules::resolve_levels(r, limits);
            cityguard::rules::eval_state state;
            // An hour apart, then a day: enough to close series buckets and fill windows.
            const std::int64_t hour = 3'600'000'000LL;
            for (int i = 0; i < 6; ++i)
                (void
                )cityguard::rules::evaluate(r, levels, limits, state, (i < 3 ? i : 24 * i) * hour, i % 2 ? 1e9 : -3.5);
            (void)cityguard::rules::eval_state::from_persisted(state.persisted());
        }
    } catch (const std::runtime_error&) {
        // A pack refused at start-up names file and rule: the expected outcome for bad input.
    }
    return 0;
}
