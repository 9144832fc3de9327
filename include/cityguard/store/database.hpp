#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>

#include "cityguard/config/config.hpp"

namespace cityguard::store {

/// A pool of PostgreSQL connections, each used by one dedicated thread, so blocking libpqxx
/// calls never run on an I/O thread. Repositories run their queries through it; nothing else
/// sees a connection.
///
/// Thread safety: all members may be called from any thread. Work beyond `db.max_queued`
/// queued tasks is refused with store::error(overloaded) instead of waiting without bound.
class database {
  public:
    explicit database(const config::db_config& cfg);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    /// True when a trivial query succeeds. Never throws.
    boost::asio::awaitable<bool> ping();

    /// Finishes queued work and joins the pool threads. Idempotent.
    void stop();

    /// What /metrics shows of the pool. Any thread.
    struct pool_stats {
        std::size_t size = 0;        ///< db.pool_size
        std::size_t in_use = 0;      ///< tasks running on a connection now
        std::size_t queued = 0;      ///< tasks accepted and not finished (running included)
        std::size_t max_queued = 0;  ///< db.max_queued
        std::uint64_t unavailable = 0, overloaded = 0, conflicts = 0, other_errors = 0;
    };
    pool_stats stats() const noexcept;

    struct impl;

  private:
    // Repositories reach the pool through store-private helpers (src/store/pool.hpp).
    friend impl& pool_of(database& db) noexcept;
    std::unique_ptr<impl> impl_;
};

}  // namespace cityguard::store
