#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>

#include "cityguard/store/database.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::store {

/// Upward reporting's position in the alarm event log (sql/0024_upward_reporting.sql).
class upward_repo {
  public:
    explicit upward_repo(database& db) : db_(db) {}

    struct position {
        std::int64_t seq = 0;   ///< every event up to here is sent (or is not of a type sent upward)
        std::int64_t sent = 0;  ///< events the platform acknowledged, ever
    };
    boost::asio::awaitable<position> load();
    /// Moves the position to `seq` (never back), counting `sent` more acknowledged events.
    boost::asio::awaitable<void> advance(std::int64_t seq, std::int64_t sent);

    struct backlog {
        std::int64_t events = 0;                ///< of the types sent upward, after the position
        std::optional<util::micros> oldest_at;  ///< when the oldest of them happened
    };
    boost::asio::awaitable<backlog> waiting();

  private:
    database& db_;
};

}  // namespace cityguard::store
