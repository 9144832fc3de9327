#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cityguard/config/config.hpp"
#include "cityguard/rules/domain.hpp"
#include "cityguard/store/records.hpp"
#include "cityguard/store/stats_repo.hpp"

namespace cityguard::stats {

/// The query parameters of GET /api/v1/stats and /stats/export, as the client sent them.
struct stats_request {
    std::optional<std::string> from, to;  ///< YYYY-MM-DD in stats.time_zone, both included
    std::optional<std::string> group_by;
    std::optional<std::string> domain, district;
    std::optional<std::string> site;
    std::optional<std::string> top;       ///< how many top sites
    std::optional<std::string> language;  ///< export: the header row's, zh or en
    /// The caller's part of the city: the figures count only what it covers.
    store::place_filter scope{};
};

/// The filter a request asks for, its range ending at `to` or, without one, at `today` (days since
/// 1970-01-01; nullopt: every parameter is checked, the range left empty), its places narrowed
/// to the request's scope. Throws api_error(bad_request) naming the parameter, or
/// api_error(not_found) for a domain or district outside the scope. Pure: fuzz/fuzz_params.cpp.
stats::stats_filter parse_filter(
    const stats_request& req,
    const config::stats_config& cfg,
    const rules::domain_catalog& domains,
    std::optional<std::int64_t> today
);

/// Statistics for the command center and the monthly report (docs/statistics.md). Throws
/// api_error(bad_request) naming a bad parameter.
class stats_service {
  public:
    /// `settings` is on the primary; `tables` may be on a read replica (db.read_url): the
    /// counts are aggregates the primary's maintenance keeps, read-only here.
    stats_service(
        store::stats_repo& settings,
        store::stats_repo& tables,
        const config::stats_config& cfg,
        const rules::domain_book& domains
    )
        : settings_(settings), tables_(tables), cfg_(cfg), domains_(domains) {}

    /// Hands stats.time_zone and stats.default_disposal_s to the database (start-up).
    boost::asio::awaitable<void> configure();

    boost::asio::awaitable<nlohmann::json> table(const stats_request& req);
    /// The same table as CSV with a byte-order mark; `filename` is set for Content-Disposition.
    boost::asio::awaitable<std::string> export_csv(const stats_request& req, std::string& filename);

  private:
    boost::asio::awaitable<stats::stats_filter> filter_of(const stats_request& req);

    store::stats_repo& settings_;
    store::stats_repo& tables_;
    const config::stats_config& cfg_;
    const rules::domain_book& domains_;
};

}  // namespace cityguard::stats
