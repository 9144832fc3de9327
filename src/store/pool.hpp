#pragma once
// Private to store/: the only place that combines Asio executors with libpqxx connections.

#include <poll.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>
#include <vector>

#include "cityguard/rules/reading.hpp"
#include "cityguard/store/database.hpp"
#include "cityguard/store/errors.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::store {

namespace net = boost::asio;

/// Opens a connection with the session settings every CityGuard connection uses and the
/// named statements of queries.hpp prepared. Blocking; throws pqxx::broken_connection.
std::unique_ptr<pqxx::connection> open_connection(const std::string& url, int statement_timeout_ms);

/// Turns a null-able string into what libpqxx 6.4 binds as SQL NULL.
inline const char* nullable(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }

/// A PostgreSQL text[] literal, every element quoted, for `$n::text[]` parameters.
inline std::string text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char c : items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

/// A PostgreSQL array literal of any element type, for `$n::T[]` parameters: every element
/// quoted (PostgreSQL parses it with T's input), an empty optional as NULL.
inline std::string nullable_array(const std::vector<std::optional<std::string>>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        if (!items[i]) {
            out += "NULL";
            continue;
        }
        out += '"';
        for (char c : *items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

/// A text[] parameter that is NULL (any) when there are no items: the scope filters' convention.
inline std::optional<std::string> array_or_null(const std::vector<std::string>& items) {
    if (items.empty()) return std::nullopt;
    return text_array(items);
}

/// A PostgreSQL integer array literal, {1,2,3}, for `$n::int[]` / `$n::bigint[]` parameters:
/// each element projected from the range's items (the items themselves by default).
template <class Range, class Project = std::identity>
std::string pg_int_array(const Range& items, Project project = {}) {
    std::string out = "{";
    // Appended piece by piece: "," + std::to_string(...) trips GCC 12's -Wstringop-overflow.
    for (const auto& item : items) {
        if (out.size() > 1) out += ',';
        out += std::to_string(std::invoke(project, item));
    }
    out += '}';
    return out;
}

/// A reading from a row of (sensor_key, ts, value).
inline rules::reading reading_from(const pqxx::row& row) {
    return rules::reading{row[0].as<std::int32_t>(), row[1].as<util::micros>(), row[2].as<double>()};
}

/// PostgreSQL's text form of a timestamptz, for parameters.
inline std::string pg_time(util::micros t) {
    std::string s;
    util::append_pg_timestamp(s, t);
    return s;
}

/// pg_time, or NULL.
inline std::optional<std::string> pg_opt_time(const std::optional<util::micros>& t) {
    if (!t) return std::nullopt;
    return pg_time(*t);
}

/// A column's value, or nullopt for NULL.
template <class T>
std::optional<T> opt_field(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<T>();
}

/// An optional value as a parameter: its text, or NULL (see nullable()).
template <class T>
std::optional<std::string> opt_param(const std::optional<T>& v) {
    if (!v) return std::nullopt;
    if constexpr (std::is_same_v<T, bool>)
        return std::string(*v ? "true" : "false");
    else
        return pqxx::to_string(*v);
}

/// The date (YYYY-MM-DD) of a day counted from the epoch, for partition bounds.
inline std::string pg_day(std::int64_t day) { return pg_time(day * 86'400LL * 1'000'000LL).substr(0, 10); }

struct database::impl {
    explicit impl(const config::db_config& c) : cfg(c), threads(static_cast<std::size_t>(c.pool_size)) {}

    config::db_config cfg;
    net::thread_pool threads;
    std::mutex mutex;
    std::vector<std::unique_ptr<pqxx::connection>> idle;
    std::atomic<std::size_t> queued{0};
    std::atomic<std::size_t> in_use{0};
    // Failures by kind, for /metrics.
    std::atomic<std::uint64_t> unavailable{0}, overloaded{0}, conflicts{0}, other_errors{0};

    std::unique_ptr<pqxx::connection> acquire() {
        {
            std::lock_guard lock(mutex);
            while (!idle.empty()) {
                auto c = std::move(idle.back());
                idle.pop_back();
                if (c && c->is_open() && !has_input(*c)) return c;
            }
        }
        return open_connection(cfg.url, cfg.statement_timeout_ms);
    }

    /// An idle pool connection has nothing to read unless the server ended it (a restart, a
    /// terminated backend: the FATAL message and EOF wait in the socket). Such a connection
    /// would fail its next query, so it is dropped before use instead; a healthy one that
    /// happens to hold a notice is dropped too, which costs only a reconnect.
    static bool has_input(const pqxx::connection& c) {
        pollfd p{c.sock(), POLLIN, 0};
        return c.sock() < 0 || ::poll(&p, 1, 0) != 0;
    }

    void release(std::unique_ptr<pqxx::connection> c) {
        std::lock_guard lock(mutex);
        idle.push_back(std::move(c));
    }

    /// Runs f(pqxx::connection&) on a pool thread and resumes the caller on its own executor.
    /// A lost connection becomes store::error(unavailable), a unique-key or foreign-key violation
    /// store::error(conflict); other exceptions propagate.
    // Not a coroutine on purpose: GCC 12 mishandles a coroutine that moves from its own by-value
    // parameter (both copies end up owning it). This plain function moves `f` once, into the
    // task that co_spawn keeps alive until it has run.
    template <class F>
    net::awaitable<std::invoke_result_t<F&, pqxx::connection&>> run(F f) {
        using result_t = std::invoke_result_t<F&, pqxx::connection&>;
        if (queued.fetch_add(1) >= cfg.max_queued) {
            queued.fetch_sub(1);
            overloaded.fetch_add(1, std::memory_order_relaxed);
            throw error(failure::overloaded, "database work queue is full; retry later");
        }
        auto task = [this, f = std::move(f)]() mutable -> net::awaitable<result_t> {
            struct dequeue {
                std::atomic<std::size_t>& n;
                std::atomic<std::size_t>& busy;
                ~dequeue() {
                    busy.fetch_sub(1);
                    n.fetch_sub(1);
                }
            } guard{queued, in_use};
            in_use.fetch_add(1);
            std::unique_ptr<pqxx::connection> conn;
            try {
                conn = acquire();
                if constexpr (std::is_void_v<result_t>) {
                    f(*conn);
                    release(std::move(conn));
                    co_return;
                } else {
                    result_t r = f(*conn);
                    release(std::move(conn));
                    co_return r;
                }
            } catch (const pqxx::broken_connection&) {
                unavailable.fetch_add(1, std::memory_order_relaxed);
                throw error(failure::unavailable, "database unavailable");
            } catch (const pqxx::unique_violation&) {
                conflicts.fetch_add(1, std::memory_order_relaxed);
                if (conn && conn->is_open()) release(std::move(conn));
                throw error(failure::conflict, "the change conflicts with stored data");
            } catch (const pqxx::foreign_key_violation&) {
                conflicts.fetch_add(1, std::memory_order_relaxed);
                if (conn && conn->is_open()) release(std::move(conn));
                throw error(failure::conflict, "other records still refer to it");
            } catch (...) {
                other_errors.fetch_add(1, std::memory_order_relaxed);
                // After a failed statement the connection is still usable (the transaction
                // object rolled back); keep it unless it broke.
                if (conn && conn->is_open()) release(std::move(conn));
                throw;
            }
        };
        return net::co_spawn(threads.get_executor(), std::move(task), net::use_awaitable);
    }
};

inline database::impl& pool_of(database& db) noexcept { return *db.impl_; }

/// Runs f(pqxx::read_transaction&) on a pool thread; the caller resumes with its result. For
/// every read-only query. `f` is moved into the task: capture by value.
template <class F>
auto read(database& db, F f) {
    return pool_of(db).run([f = std::move(f)](pqxx::connection& c) mutable {
        pqxx::read_transaction tx(c);
        return f(tx);
    });
}

/// Runs f(pqxx::work&) on a pool thread and commits once it returns; an exception rolls back.
template <class F>
auto write(database& db, F f) {
    return pool_of(db).run([f = std::move(f)](pqxx::connection& c) mutable {
        pqxx::work tx(c);
        if constexpr (std::is_void_v<std::invoke_result_t<F&, pqxx::work&>>) {
            f(tx);
            tx.commit();
        } else {
            auto result = f(tx);
            tx.commit();
            return result;
        }
    });
}

/// Every row of a prepared statement, through `map`.
template <class Map, class... Args>
auto map_rows(pqxx::transaction_base& tx, const char* statement, Map map, Args&&... args) {
    std::vector<std::invoke_result_t<Map&, const pqxx::row&>> out;
    const auto rows = tx.exec_prepared(statement, std::forward<Args>(args)...);
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(map(row));
    return out;
}

/// The first row of a prepared statement through `map`, or nullopt when it returned none.
template <class Map, class... Args>
auto map_first(pqxx::transaction_base& tx, const char* statement, Map map, Args&&... args)
    -> std::optional<std::invoke_result_t<Map&, const pqxx::row&>> {
    const auto rows = tx.exec_prepared(statement, std::forward<Args>(args)...);
    if (rows.empty()) return std::nullopt;
    return map(rows[0]);
}

}  // namespace cityguard::store
