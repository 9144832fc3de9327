// The body of POST /api/v1/silences: parsed as any client JSON is, then checked as a silence
// (matchers, window, reason) against the notification file's limits.
#include <cstdint>
#include <string_view>

#include "cityguard/notifications/silence_service.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cg = cityguard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    static const cg::notification_model::policy policy;
    static const auto domains = cg::rules::load_domains(CITYGUARD_SOURCE_DIR "/config/rules");
    constexpr cg::util::micros kNow = 1'764'979'200'000'000;  // 2025-12-06: a fixed "now", for repeatable runs
    try {
        const auto body = cg::util::parse_untrusted_json(text, cg::util::kDefaultJsonMaxDepth);
        const auto s = cg::notifications::parse_silence(body, policy, domains, kNow);
        const auto& w = s.what;
        // What we accept holds for a while from now on, within the calendar and the longest silence,
        // matches something narrower than everything, and says why.
        if (w.ends_at <= w.starts_at || w.ends_at <= kNow || w.ends_at > cg::util::kLatestTime) __builtin_trap();
        if (w.ends_at - w.starts_at > policy.max_silence_s * 1'000'000) __builtin_trap();
        if (!w.site && !w.sensor && !w.rule && !w.domain && !w.district) __builtin_trap();
        if (s.reason.empty() || s.reason.size() > 500) __builtin_trap();
    } catch (const cg::api_error& e) {
        const auto c = e.code();
        if (c != cg::errc::validation_failed && c != cg::errc::invalid_json && c != cg::errc::invalid_text)
            __builtin_trap();
    }
    return 0;
}
