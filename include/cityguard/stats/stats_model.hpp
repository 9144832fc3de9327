#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cityguard/stats/stats_data.hpp"

/// The statistics table of GET /api/v1/stats and its CSV export. Pure: the daily count tables' counts in,
/// rates, shares and quantiles out.
namespace cityguard::stats {

/// The q-quantile (0 < q < 1) of a duration histogram in seconds, interpolated linearly within
/// its bucket as Prometheus' histogram_quantile does; nullopt for an empty histogram. A quantile
/// in the last, unbounded bucket is that bucket's lower bound.
std::optional<double> histogram_quantile(const stats::duration_histogram& h, double q) noexcept;

/// One row of the table: a group (a day, district, site, …) or the total.
struct stats_row {
    std::string group;  ///< the group's key; for level, its name (red, …); "" for the total
    stats::alarm_counts alarms;
    std::int64_t overdue_now = 0;
    std::optional<std::int64_t> sensors;  ///< absent where the grouping does not apply to sensors
    std::optional<std::int64_t> offline;
    std::optional<double> readings;
    std::optional<double> expected;
};

struct stats_table {
    std::string from_day;
    std::string to_day;
    std::string group_by;
    std::string time_zone;
    std::vector<stats_row> rows;  ///< by group; every day, week or month of the range for those groupings
    stats_row total;
    std::vector<stats::site_alarms> top_sites;
};

/// Merges what the store read into one row per group and a total.
stats_table build_table(stats::stats_data data, const stats::stats_filter& filter);

/// {"from","to","group_by","time_zone","rows":[...],"total":{...},"top_sites":[...]}; per row:
/// alarms (raised, by level, false-alarm and device-fault share of closed alarms), response
/// (median and 90th percentile of time to acknowledge and to close), disposal (rate, late,
/// overdue now), sensors (online ratio) and readings (completeness). A figure without data is null.
nlohmann::json to_json(const stats_table& t);

/// The same table as CSV for spreadsheets: UTF-8 with a byte-order mark, CRLF line ends, a
/// header row in `language` ("zh" or "en"), the total last.
std::string to_csv(const stats_table& t, std::string_view language);

}  // namespace cityguard::stats
