#include "cityguard/util/input.hpp"

#include <charconv>
#include <cmath>
#include <sstream>
#include <string>

#include "cityguard/util/error.hpp"

namespace cityguard::util {

bool storable_text(std::string_view text) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c == 0) return false;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t n;
        std::uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) <= n) return false;
        for (std::size_t i = 1; i <= n; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8.
        constexpr std::uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
        if (cp < smallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        p += n + 1;
    }
    return true;
}

namespace {

bool is_nul_escape(std::string_view s, std::size_t u) noexcept {
    // s[u] == 'u'; "\u0000" in any case of hex digits is all zeros anyway.
    return u + 4 < s.size() && s.substr(u + 1, 4) == "0000";
}

}  // namespace

nlohmann::json parse_untrusted_json(std::string_view text, std::size_t max_depth) {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                if (i + 1 < text.size() && text[i + 1] == 'u' && is_nul_escape(text, i + 1))
                    throw api_error(errc::invalid_text, "text must not contain \\u0000 (NUL)");
                ++i;  // the escaped character cannot end the string
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                throw api_error(
                    errc::invalid_json,
                    "JSON nested deeper than http.json_max_depth (" + std::to_string(max_depth) + ")"
                );
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) throw api_error(errc::invalid_json, "body is not valid JSON");
    return doc;
}

micros parse_time_param(std::string_view text, std::string_view name) {
    if (auto t = parse_rfc3339(text); t && *t >= kEarliestTime && *t <= kLatestTime) return *t;
    long long ms = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc{} && p == text.data() + text.size() && ms >= 0 && ms <= kLatestTime / 1000) return ms * 1000;
    throw api_error(
        errc::bad_request, std::string(name) + " must be RFC 3339 (years 0001-9999) or non-negative epoch milliseconds"
    );
}

long long parse_integer_param(std::string_view text, std::string_view name, long long min, long long max) {
    long long v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || p != text.data() + text.size() || v < min || v > max)
        throw api_error(
            errc::bad_request,
            std::string(name) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max)
        );
    return v;
}

double parse_number_param(std::string_view text, std::string_view name, double min, double max) {
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || p != text.data() + text.size() || !std::isfinite(v) || v < min || v > max) {
        std::ostringstream range;
        range << min << " to " << max;
        throw api_error(errc::bad_request, std::string(name) + " must be a number from " + range.str());
    }
    return v;
}

}  // namespace cityguard::util
