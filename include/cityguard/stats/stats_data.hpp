#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

/// What a statistics request asks for and what the daily count tables answer: the plain data the statistics
/// model computes on (stats_model.hpp) and the store reads into (store/stats_repo.hpp). Pure.
namespace cityguard::stats {

/// Durations are counted in this many buckets (sql/0012_stats.sql, cityguard_duration_bucket).
inline constexpr std::size_t kDurationBuckets = 14;
/// The buckets' lower bounds in seconds; the first starts at 0, the last has no upper bound.
inline constexpr std::array<double, kDurationBuckets> kDurationBucketStarts{
    0, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800};

/// What GET /api/v1/stats asks the store for. Days are YYYY-MM-DD in stats.time_zone, both
/// included; `group_by` is one of the names stats_repo accepts (checked by the caller).
struct stats_filter {
    std::string from_day;
    std::string to_day;
    std::string group_by;  ///< empty: one group, the whole range
    // The places counted, each list empty for any: what the request asked for within the
    // caller's scope. Units narrow to their sites; readings are not counted by unit or site.
    std::vector<std::string> domains;
    std::vector<std::string> districts;
    std::vector<std::string> units;
    std::optional<std::string> site;  ///< one site only (its file)
    int top_sites = 10;
};

using duration_histogram = std::array<std::int64_t, kDurationBuckets>;

/// Alarms opened in the range, by group (from alarm_stats_daily).
struct alarm_counts {
    std::string group;
    std::int64_t raised = 0;
    std::array<std::int64_t, 4> raised_by_level{};  ///< red, orange, yellow, blue (peak level)
    std::int64_t acknowledged = 0;
    duration_histogram ack_seconds{};
    std::int64_t closed = 0;
    duration_histogram close_seconds{};
    std::int64_t false_alarm = 0;
    std::int64_t device_fault = 0;
    std::int64_t disposed = 0;
    std::int64_t disposed_late = 0;
};

struct group_value {
    std::string group;
    double value = 0;
};

/// Registered sensors now and those whose offline alarm is active.
struct sensor_counts {
    std::string group;
    std::int64_t sensors = 0;
    std::int64_t offline = 0;
};

struct site_alarms {
    std::string site;
    std::string name;  ///< empty for a named group's pseudo-site
    std::int64_t raised = 0;
};

/// Everything one statistics request reads, each part by the same group key. A part the
/// grouping does not apply to (readings by site, say) is left out (`*_grouped` false).
struct stats_data {
    std::string time_zone;
    std::vector<alarm_counts> alarms;
    std::vector<group_value> overdue_now;  ///< not yet disposed of and past the disposal deadline
    bool readings_counted = true;          ///< false for one site
    bool readings_grouped = false;
    std::vector<group_value> readings_received;
    std::vector<group_value> readings_expected;  ///< from each sensor's interval_s since it was registered
    bool sensors_grouped = false;
    std::vector<sensor_counts> sensors;
    std::vector<site_alarms> top_sites;
};

}  // namespace cityguard::stats
