#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/store/database.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::store {

/// One instance as the database knows it (cluster_members). `leading` comes from pg_locks: the
/// instance whose writer connection holds the leadership lock right now.
struct member_record {
    std::string id;
    std::string url;
    std::string version;
    util::micros started_at = 0;
    util::micros seen_at = 0;
    std::int64_t silent_ms = 0;  ///< since seen_at, by the database's clock
    bool leading = false;
    std::optional<util::micros> leader_since;
};

/// The instances on this database and who leads (sql/0016_cluster.sql). Clocks are the
/// database's, so instances whose clocks disagree still agree on who was seen when.
class cluster_repo {
  public:
    explicit cluster_repo(database& db) : db_(db) {}

    /// Registers (or refreshes) this instance, and forgets instances silent for `forget_s`.
    boost::asio::awaitable<void> heartbeat(std::string id, std::string url, std::string version, int forget_s);
    /// Removes this instance (graceful stop).
    boost::asio::awaitable<void> forget(std::string id);
    boost::asio::awaitable<std::vector<member_record>> members();
    /// The leading instance's id and URL, if any instance leads now.
    boost::asio::awaitable<std::optional<std::pair<std::string, std::string>>> leader();
    /// Tells every instance that `what` changed ("rules"), at the commit of this statement.
    boost::asio::awaitable<void> announce(std::string what);

  private:
    database& db_;
};

}  // namespace cityguard::store
