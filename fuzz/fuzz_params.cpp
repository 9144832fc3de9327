// Query strings of the routes whose parameters are parsed apart from a database: statistics
// (GET /api/v1/stats and its export), nearby resources (GET /api/v1/resources/nearby). The input
// is a request target; each parameter is taken as the handlers take it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cityguard/api/request.hpp"
#include "cityguard/registry/nearby_service.hpp"
#include "cityguard/stats/stats_service.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/time.hpp"

namespace cg = cityguard;

namespace {

std::optional<std::string> param(const std::unordered_map<std::string, std::string>& query, const char* name) {
    auto it = query.find(name);
    return it == query.end() ? std::nullopt : std::optional<std::string>(it->second);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string path;
    std::unordered_map<std::string, std::string> query;
    if (!cg::api::parse_target(text, path, query)) return 0;

    static const cg::config::stats_config stats_cfg;
    static const auto domains = cg::rules::load_domains(CITYGUARD_SOURCE_DIR "/config/rules");
    cg::stats::stats_request s{
        param(query, "from"),
        param(query, "to"),
        param(query, "group_by"),
        param(query, "domain"),
        param(query, "district"),
        param(query, "site"),
        param(query, "top"),
        param(query, "lang")};
    // Today as the database would say, near either end of the calendar too.
    for (const std::optional<std::int64_t> today :
         {std::optional<std::int64_t>{},
          std::optional<std::int64_t>(20'428),
          std::optional(cg::util::kFirstDay),
          std::optional(cg::util::kLastDay)}) {
        try {
            const auto f = cg::stats::parse_filter(s, stats_cfg, domains, today);
            if (f.from_day.empty() != f.to_day.empty()) __builtin_trap();
            if (!f.from_day.empty()) {
                const auto first = cg::util::parse_date(f.from_day), last = cg::util::parse_date(f.to_day);
                // Every range we accept is one PostgreSQL and the API can name, in order, within stats.max_days.
                if (!first || !last || *first > *last || *last - *first + 1 > stats_cfg.max_days) __builtin_trap();
            }
            if (f.top_sites < 0 || f.top_sites > stats_cfg.max_top_sites) __builtin_trap();
        } catch (const cg::api_error& e) {
            if (e.code() != cg::errc::bad_request) __builtin_trap();
        }
    }

    static const cg::config::resources_config resources_cfg;
    const cg::registry::nearby_request n{
        param(query, "lat"),
        param(query, "lon"),
        param(query, "kind"),
        param(query, "team_kind"),
        param(query, "material"),
        param(query, "limit")};
    try {
        const auto found = cg::registry::parse_nearby(n, resources_cfg);
        if (!(found.lat >= -90 && found.lat <= 90 && found.lon >= -180 && found.lon <= 180)) __builtin_trap();
        if (found.per_kind < 1 || found.per_kind > static_cast<int>(resources_cfg.max_nearby_per_kind))
            __builtin_trap();
        if (found.kinds.size() > 16 || found.wanted.teams.size() > 16 || found.wanted.materials.size() > 16)
            __builtin_trap();
    } catch (const cg::api_error& e) {
        if (e.code() != cg::errc::bad_request) __builtin_trap();
    }
    return 0;
}
