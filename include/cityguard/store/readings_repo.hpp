#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/rules/reading.hpp"
#include "cityguard/store/database.hpp"
#include "cityguard/store/records.hpp"

namespace cityguard::store {

/// Reads stored readings. Writing is the writer's, on its own connection (writer_connection).
class readings_repo {
  public:
    explicit readings_repo(database& db) : db_(db) {}

    /// Readings of one sensor with from <= ts < to, in time order, at most `limit`.
    boost::asio::awaitable<std::vector<rules::reading>> range(
        std::int32_t sensor_key, util::micros from, util::micros to, std::size_t limit
    );

    /// For each (sensor key, ts): that sensor's readings after ts, at most `per_sensor` each, in
    /// (sensor, ts) order. A follower's live readings (cluster::readings_relay).
    boost::asio::awaitable<std::vector<rules::reading>> newer_than(
        std::vector<std::pair<std::int32_t, util::micros>> after, std::size_t per_sensor
    );

    /// The ts of each sensor's newest stored reading (0 when it has none).
    boost::asio::awaitable<std::vector<std::pair<std::int32_t, util::micros>>> newest_of(std::vector<std::int32_t> keys
    );

    /// Per-bucket min/avg/max/count of one sensor over [from, to); buckets are aligned to
    /// multiples of `bucket_s` since 2000-01-01T00:00Z. Empty buckets are omitted. Whole hours
    /// (minutes) are read from the hour (minute) rollups for the days already rolled up, the
    /// rest from raw readings.
    struct bucketed {
        std::vector<bucket_row> rows;
        const char* rollup = nullptr;  ///< "1h" or "1m" when a rollup answered [from, raw_from)
        util::micros raw_from = 0;     ///< raw readings answered [raw_from, to)
    };
    boost::asio::awaitable<bucketed> buckets(
        std::int32_t sensor_key, util::micros from, util::micros to, std::int64_t bucket_s
    );

    // Maintenance (readings::retention_service). Days are UTC day numbers since the epoch.
    /// Past days whose raw readings must be rolled up: ended before `before_day`, never rolled
    /// up, or late readings arrived since.
    boost::asio::awaitable<std::vector<std::int64_t>> days_to_roll(std::int64_t before_day);
    /// Rolls one day into the minute and hour rollups; returns its readings.
    boost::asio::awaitable<std::int64_t> roll_up_day(std::int64_t day);
    /// Detaches and drops the raw partitions of days before `before_day` that are rolled up,
    /// then the minute and hour rollup partitions that end on or before their cut-off days.
    /// Returns the dropped tables' names.
    boost::asio::awaitable<std::vector<std::string>> drop_expired(
        std::optional<std::int64_t> raw_before_day,
        std::optional<std::int64_t> minutes_before_day,
        std::optional<std::int64_t> hours_before_day
    );
    struct storage_table {
        std::string name;
        std::int64_t partitions = 0, bytes = 0;
        std::string first, last;  ///< partition names, oldest and newest
    };
    struct storage_overview {
        std::vector<storage_table> tables;
        std::int64_t rolled_days = 0, rolled_readings = 0, late_days = 0;
        std::string first_rolled, last_rolled;
    };
    boost::asio::awaitable<storage_overview> overview();

    /// Creates the daily partitions from yesterday to `days_ahead` days ahead; returns how many
    /// were new.
    boost::asio::awaitable<int> ensure_partitions(int days_ahead);

  private:
    database& db_;
};

}  // namespace cityguard::store
