#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
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

    /// Per-bucket min/avg/max/count of one sensor over [from, to); buckets are aligned to
    /// multiples of `bucket_s` since 2000-01-01T00:00Z. Empty buckets are omitted.
    boost::asio::awaitable<std::vector<bucket_row>> buckets(
        std::int32_t sensor_key, util::micros from, util::micros to, std::int64_t bucket_s
    );

    /// Creates the daily partitions from yesterday to `days_ahead` days ahead; returns how many
    /// were new.
    boost::asio::awaitable<int> ensure_partitions(int days_ahead);

  private:
    database& db_;
};

}  // namespace cityguard::store
