#include "cityguard/store/database.hpp"

#include <spdlog/spdlog.h>

#include "pool.hpp"
#include "queries.hpp"

namespace cityguard::store {

// Every statement is prepared once per connection, when it opens: the hot paths then send only
// a name and parameters, and a typo in SQL fails at start-up rather than at the first alarm.
std::unique_ptr<pqxx::connection> open_connection(const std::string& url, int statement_timeout_ms) {
    auto conn = std::make_unique<pqxx::connection>(url);
    {
        pqxx::nontransaction setup(*conn);
        // UTC everywhere: timestamps cross the wire as text, and epoch conversions must not
        // depend on the server's default zone.
        setup.exec(queries::session_time_zone);
        setup.exec(queries::session_application_name);
        setup.exec(queries::session_statement_timeout + std::to_string(statement_timeout_ms));
    }
    for (const auto& q : queries::all) conn->prepare(q.name, q.sql);
    return conn;
}

database::database(const config::db_config& cfg) : impl_(std::make_unique<impl>(cfg)) {}

database::~database() { stop(); }

// Joining the pool's threads lets every accepted task finish: a write the API acknowledged
// is committed before the process goes.
void database::stop() {
    impl_->threads.join();
    std::lock_guard lock(impl_->mutex);
    impl_->idle.clear();
}

database::pool_stats database::stats() const noexcept {
    const auto& p = *impl_;
    return {
        static_cast<std::size_t>(p.cfg.pool_size),
        p.in_use.load(),
        p.queued.load(),
        p.cfg.max_queued,
        p.unavailable.load(std::memory_order_relaxed),
        p.overloaded.load(std::memory_order_relaxed),
        p.conflicts.load(std::memory_order_relaxed),
        p.other_errors.load(std::memory_order_relaxed)};
}

// /readyz: goes through the pool like any request, so a pool that is full or cut off from
// the database reads as not ready, which is what a load balancer should see.
boost::asio::awaitable<bool> database::ping() {
    try {
        co_await impl_->run([](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec(queries::ping);
        });
        co_return true;
    } catch (const std::exception& e) {
        spdlog::warn("database ping failed: {}", e.what());
        co_return false;
    }
}

}  // namespace cityguard::store
