#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/alarm_model/alarm.hpp"
#include "cityguard/rules/reading.hpp"
#include "cityguard/store/database.hpp"
#include "cityguard/store/records.hpp"
#include "cityguard/store/writer_connection.hpp"

namespace cityguard::store {

/// Filters of GET /api/v1/alarms; empty means "any".
struct alarm_filter {
    std::vector<std::string> statuses;  ///< "active" stands for every status but closed
    std::vector<int> levels;
    std::vector<std::string> domains, sites, sensors, rules, categories;
    std::optional<util::micros> from, to;   ///< on first_ts
    std::optional<std::int64_t> before_id;  ///< keyset cursor
    std::optional<bool> inhibited;          ///< only alarms inside (true) or outside (false) another
    place_filter scope;                     ///< only alarms of sites the caller covers
    std::size_t limit = 100;
};

struct overview_record {
    nlohmann::json sites_by_domain, sensors_by_domain, active_by_level, active_by_domain;
    std::int64_t sensors_offline = 0;
    std::int64_t sensors_in_fault = 0;
    std::optional<alarm_model::alarm> oldest_unacknowledged_red;
};

/// Alarm reads for the API and the engine's restore. Async through the pool.
class alarms_repo {
  public:
    explicit alarms_repo(database& db) : db_(db) {}

    /// Newest first (by id); at most filter.limit + 1 rows, so the caller can tell whether more exist.
    boost::asio::awaitable<std::vector<alarm_model::alarm>> list(alarm_filter filter);
    boost::asio::awaitable<std::optional<alarm_model::alarm>> get(std::int64_t id);
    boost::asio::awaitable<std::vector<alarm_model::event>> events_of(std::int64_t id);
    /// Counts of process alarms by level and domain; sensors offline and in fault.
    boost::asio::awaitable<overview_record> overview(place_filter scope);
    /// Alarms not closed, counted by status, level and category (for /metrics).
    struct open_count {
        std::string status, level, category;
        std::int64_t count = 0;
    };
    boost::asio::awaitable<std::vector<open_count>> open_counts();

    // Restore at start-up.
    boost::asio::awaitable<std::vector<alarm_model::alarm>> not_closed();
    boost::asio::awaitable<std::vector<alarm_model::changes::state_write>> rule_states();
    /// The latest reading of every sensor that has one: (sensor id, ts, value).
    boost::asio::awaitable<std::vector<std::tuple<std::string, util::micros, double>>> latest_readings();
    /// What one sensor's rules need of its history: readings from `from` on, at most one per `step`.
    struct history_request {
        std::int32_t sensor_key = 0;
        util::micros from = 0;
        util::micros step = 1;
    };
    /// Those readings: (sensor key, ts, value), by sensor then time.
    boost::asio::awaitable<std::vector<std::tuple<std::int32_t, util::micros, double>>> recent_readings(
        std::vector<history_request> wanted
    );

    /// One page of the stored readings of `keys` (replay), by time then sensor: those after
    /// (`after_ts`, `after_key`) (at `after_ts`, only keys above `after_key`; -1 for all) and
    /// before `to`, at most `limit`.
    boost::asio::awaitable<std::vector<rules::reading>> readings_page(
        const std::string& keys, util::micros after_ts, std::int32_t after_key, util::micros to, std::size_t limit
    );
    /// `keys` as the array parameter readings_page() takes (built once per replay).
    static std::string key_array(const std::vector<std::int32_t>& keys);

  private:
    database& db_;
};

}  // namespace cityguard::store
