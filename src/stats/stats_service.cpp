#include "cityguard/stats/stats_service.hpp"

#include <algorithm>

#include "cityguard/rules/rule.hpp"
#include "cityguard/stats/stats_model.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::stats {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

std::int64_t day_param(const std::string& text, const char* name) {
    const auto day = util::parse_date(text);
    if (!day) throw api_error(errc::bad_request, std::string(name) + " must be a date, YYYY-MM-DD");
    return *day;
}

/// The places counted: the one asked for, when the scope (`allowed`, empty for any) covers it, or
/// everything the scope allows.
std::vector<std::string> within_scope(
    const std::optional<std::string>& asked, const std::vector<std::string>& allowed, const char* what
) {
    if (!asked) return allowed;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *asked) == allowed.end())
        throw api_error(errc::not_found, std::string("no ") + what + " '" + *asked + "' in your scope");
    return {*asked};
}

}  // namespace

net::awaitable<void> stats_service::configure() {
    co_await settings_.configure(cfg_.time_zone, cfg_.default_disposal_s);
}

stats::stats_filter parse_filter(
    const stats_request& req,
    const config::stats_config& cfg,
    const rules::domain_catalog& domains,
    std::optional<std::int64_t> today
) {
    stats::stats_filter f;
    if (req.group_by) {
        if (!store::stats_repo::known_grouping(*req.group_by))
            throw api_error(
                errc::bad_request, "group_by must be day, week, month, district, domain, level, site or unit"
            );
        f.group_by = *req.group_by;
    }
    if (req.domain && !domains.contains(*req.domain))
        throw api_error(errc::bad_request, "domain must be one of the catalog's: " + domains.listed());
    if (req.district && (req.district->empty() || req.district->size() > 100 || !util::storable_text(*req.district)))
        throw api_error(errc::bad_request, "district must be 1-100 bytes of UTF-8 text");
    f.domains = within_scope(req.domain, req.scope.domains, "domain");
    f.districts = within_scope(req.district, req.scope.districts, "district");
    f.units = req.scope.units;
    if (req.site) {
        if (req.site->empty() || req.site->size() > 200 || !util::storable_text(*req.site))
            throw api_error(errc::bad_request, "site must be a site id");
        f.site = req.site;
    }
    if (f.site && f.group_by == "level")
        throw api_error(
            errc::bad_request, "group_by=level cannot be combined with site: a site's figures are not kept by level"
        );
    if (!f.units.empty() && f.group_by == "level")
        throw api_error(
            errc::bad_request, "group_by=level is not offered to a unit's scope: a site's figures are not kept by level"
        );
    f.top_sites = 10;
    if (req.top) f.top_sites = static_cast<int>(util::parse_integer_param(*req.top, "top", 0, cfg.max_top_sites));
    const auto from = req.from ? std::optional(day_param(*req.from, "from")) : std::nullopt;
    if (!req.to && !today) return f;
    const std::int64_t last = req.to ? day_param(*req.to, "to") : *today;
    // The default range ends at `to`; near 0001-01-01 it starts there, not in year 0 (which
    // neither the API nor PostgreSQL's dates name).
    const std::int64_t first = from ? *from : std::max(util::kFirstDay, last - (cfg.default_days - 1));
    if (first > last) throw api_error(errc::bad_request, "from must not be after to");
    if (last - first + 1 > cfg.max_days)
        throw api_error(
            errc::bad_request, "the range is longer than " + std::to_string(cfg.max_days) + " days (stats.max_days)"
        );
    f.from_day = util::format_date(first);
    f.to_day = util::format_date(last);
    return f;
}

net::awaitable<stats::stats_filter> stats_service::filter_of(const stats_request& req) {
    const auto domains = domains_.snapshot();
    if (req.to) co_return parse_filter(req, cfg_, *domains, std::nullopt);
    // Every parameter is checked before the database is asked what day it is.
    (void)parse_filter(req, cfg_, *domains, std::nullopt);
    const auto today = co_await tables_.today();
    co_return parse_filter(req, cfg_, *domains, *util::parse_date(today));
}

net::awaitable<json> stats_service::table(const stats_request& req) {
    const auto f = co_await filter_of(req);
    auto data = co_await tables_.collect(f);
    co_return to_json(build_table(std::move(data), f));
}

net::awaitable<std::string> stats_service::export_csv(const stats_request& req, std::string& filename) {
    const std::string language = req.language.value_or("zh");
    if (language != "zh" && language != "en") throw api_error(errc::bad_request, "lang must be zh or en");
    const auto f = co_await filter_of(req);
    auto data = co_await tables_.collect(f);
    filename =
        "cityguard-stats-" + f.from_day + "-" + f.to_day + (f.group_by.empty() ? "" : "-by-" + f.group_by) + ".csv";
    co_return to_csv(build_table(std::move(data), f), language);
}

}  // namespace cityguard::stats
