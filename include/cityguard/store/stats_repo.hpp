#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "cityguard/stats/stats_data.hpp"
#include "cityguard/store/database.hpp"

namespace cityguard::store {

/// The statistics rollups (sql/0012_stats.sql), read into the statistics model's types. Throws store::error when the
/// database cannot serve.
class stats_repo {
  public:
    explicit stats_repo(database& db) : db_(db) {}

    /// The groupings the store can answer: day, week, month, district, domain, level, site, unit.
    static bool known_grouping(std::string_view group_by) noexcept;

    /// Writes stats.time_zone and stats.default_disposal_s for the triggers; rebuilds the
    /// rollups when the time zone changed. Throws store::error for a time zone PostgreSQL does not know.
    boost::asio::awaitable<void> configure(const std::string& time_zone, int default_disposal_s);

    boost::asio::awaitable<stats::stats_data> collect(const stats::stats_filter& f);
    /// Today's date in stats.time_zone, YYYY-MM-DD.
    boost::asio::awaitable<std::string> today();

  private:
    database& db_;
};

}  // namespace cityguard::store
