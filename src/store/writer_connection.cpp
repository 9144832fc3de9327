#include "cityguard/store/writer_connection.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <optional>
#include <pqxx/largeobject>
#include <pqxx/pqxx>
#include <set>
#include <type_traits>

#include "cityguard/store/errors.hpp"
#include "pool.hpp"
#include "queries/cluster.hpp"
#include "queries/common.hpp"
#include "queries/readings.hpp"
#include "queries/stats.hpp"
#include "scope.hpp"

namespace cityguard::store {
namespace {

/// The batch in COPY's binary form (PostgreSQL documentation, "COPY", "Binary Format"):
/// PostgreSQL takes integers, timestamps and doubles as they are instead of parsing text, which
/// made the COPY a fifth faster (docs/performance.md). The 19-byte header, then per row a field
/// count and three (length, big-endian value) fields, then -1.
std::string copy_binary(const std::vector<rules::reading>& rows) {
    static constexpr char kSignature[] = "PGCOPY\n\377\r\n";                                // and its terminating NUL
    static constexpr std::int64_t kPgEpochMicros = 946'684'800LL * util::kMicrosPerSecond;  // 2000-01-01
    std::string out;
    out.resize(sizeof kSignature + 8 + rows.size() * 34 + 2);
    char* at = out.data();
    const auto put = [&at](auto value) {  // big-endian, whatever this machine's order
        const auto bits = static_cast<std::make_unsigned_t<decltype(value)>>(value);
        for (int shift = 8 * (sizeof bits - 1); shift >= 0; shift -= 8) *at++ = static_cast<char>(bits >> shift);
    };
    std::memcpy(at, kSignature, sizeof kSignature);
    at += sizeof kSignature;
    put(std::uint32_t{0});  // flags: no OIDs
    put(std::uint32_t{0});  // header extension length
    for (const auto& r : rows) {
        put(std::int16_t{3});
        put(std::int32_t{4});
        put(r.sensor_key);
        put(std::int32_t{8});
        put(static_cast<std::int64_t>(r.ts - kPgEpochMicros));
        put(std::int32_t{8});
        put(std::bit_cast<std::uint64_t>(r.value));
    }
    put(std::int16_t{-1});
    return out;
}

/// libpqxx hands its libpq connection to large objects only; COPY's binary form needs it too.
struct raw_libpq : pqxx::largeobject {
    static PGconn* of(pqxx::dbtransaction& tx) { return raw_connection(tx); }
};

/// Throws what libpqxx would for a failed statement, so that callers tell a unique violation
/// (the staged path), a lost connection and other failures apart as for any other statement.
[[noreturn]] void throw_copy_failure(PGconn* conn, const PGresult* res, const std::string& statement) {
    const std::string message = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    if (PQstatus(conn) != CONNECTION_OK) throw pqxx::broken_connection(message);
    if (state && std::string_view(state) == "23505") throw pqxx::unique_violation(message, statement, state);
    throw pqxx::sql_error(message, statement, state);
}

// libpqxx 6.4 sends COPY data as text only (its tablewriter and stream_to format and end every
// line themselves): the COPY statement goes through the transaction, and its data straight to
// libpq. `meanwhile` runs once the rows are on their way (libpq has sent all but its last
// 8 KiB) and before the COPY's result is awaited.
void copy_into(
    pqxx::work& tx, const char* table, const std::string& data, const std::function<void()>& meanwhile = {}
) {
    const std::string statement = std::string("COPY ") + table + " (sensor_key, ts, value) FROM STDIN (FORMAT binary)";
    tx.exec(statement);
    PGconn* conn = raw_libpq::of(tx);
    constexpr std::size_t kPiece = 1 << 20;  // libpq takes an int's worth at most
    for (std::size_t at = 0; at < data.size(); at += kPiece)
        if (PQputCopyData(conn, data.data() + at, static_cast<int>(std::min(kPiece, data.size() - at))) != 1)
            throw_copy_failure(conn, nullptr, statement);
    if (meanwhile) meanwhile();
    if (PQputCopyEnd(conn, nullptr) != 1) throw_copy_failure(conn, nullptr, statement);
    // Every result is read, so that the connection is ready for the next statement (or the
    // transaction's ROLLBACK) whatever happened.
    std::unique_ptr<PGresult, decltype(&PQclear)> failed(nullptr, PQclear);
    while (PGresult* res = PQgetResult(conn)) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && !failed)
            failed.reset(res);
        else
            PQclear(res);
    }
    if (failed || PQstatus(conn) != CONNECTION_OK) throw_copy_failure(conn, failed.get(), statement);
}

}  // namespace

struct writer_connection::impl {
    std::string url;
    int statement_timeout_ms;
    std::unique_ptr<pqxx::connection> conn;
    std::set<std::int64_t> partition_days;  // days known to have a partition on this connection's database
    bool holds_lock = false;                // this session holds the leadership lock

    /// Runs `work` on the connection; a lost connection, or a COMMIT whose outcome is unknown,
    /// drops it (re-opened on next use) and rethrows. Retrying the readings is safe: (sensor, ts)
    /// makes the write idempotent.
    template <class Work>
    void guarded(Work&& work) {
        try {
            work(connection());
        } catch (const pqxx::broken_connection&) {
            drop();
            throw;
        } catch (const pqxx::in_doubt_error&) {
            drop();
            throw;
        }
    }

    void drop() {
        conn.reset();
        holds_lock = false;
    }

    /// The connection for writes: only while it holds the leadership lock. A connection that was
    /// lost is never silently re-opened here, because the lock went with it and another instance
    /// may lead now; try_lead() opens a new one and asks for the lock again.
    pqxx::connection& connection() {
        if (conn && conn->is_open() && holds_lock) return *conn;
        if (conn && !conn->is_open()) drop();
        throw error(failure::unavailable, "this instance is not the leader (it holds no writer lock)");
    }

    pqxx::connection& open() {
        if (conn && conn->is_open()) return *conn;
        drop();
        partition_days.clear();
        auto c = open_connection(url, statement_timeout_ms);
        {
            pqxx::nontransaction setup(*c);
            setup.exec(queries::create_readings_staging);
        }
        c->prepare(queries::staged_insert.name, queries::staged_insert.sql);
        conn = std::move(c);
        return *conn;
    }

    void ensure_partitions(pqxx::connection& c, const std::vector<rules::reading>& rows) {
        std::set<std::int64_t> missing;
        for (const auto& r : rows) {
            const auto day = util::day_number(r.ts);
            if (!partition_days.count(day)) missing.insert(day);
        }
        if (missing.empty()) return;
        pqxx::work tx(c);
        for (auto day : missing) tx.exec_prepared(queries::ensure_partitions.name, pg_day(day), pg_day(day));
        tx.commit();
        partition_days.insert(missing.begin(), missing.end());
    }

    void fast_path(
        pqxx::connection& c,
        const std::vector<rules::reading>& rows,
        const std::string& data,
        std::vector<bool>& inserted,
        const before_commit& hook,
        const place_of_sensor& place_of,
        const while_copying& overlap
    ) {
        pqxx::work tx(c);
        copy_into(tx, "readings", data, overlap ? std::function<void()>([&] { overlap(rows); }) : nullptr);
        inserted.assign(rows.size(), true);
        finish(tx, rows, inserted, hook, place_of);
    }

    // Some rows exist already (a gateway's retry): stage the batch and let ON CONFLICT sort
    // out which rows are new. Slower, so only taken after the plain COPY was refused.
    void staged_path(
        pqxx::connection& c,
        const std::vector<rules::reading>& rows,
        const std::string& data,
        std::vector<bool>& inserted,
        const before_commit& hook,
        const place_of_sensor& place_of
    ) {
        pqxx::work tx(c);
        copy_into(tx, "readings_staging", data);
        inserted.assign(rows.size(), false);
        for (const auto& row : tx.exec_prepared(queries::staged_insert.name)) {
            const rules::reading key{row[0].as<std::int32_t>(), row[1].as<util::micros>(), 0};
            auto it =
                std::lower_bound(rows.begin(), rows.end(), key, [](const rules::reading& a, const rules::reading& b) {
                    return a.sensor_key != b.sensor_key ? a.sensor_key < b.sensor_key : a.ts < b.ts;
                });
            if (it != rows.end() && it->sensor_key == key.sensor_key && it->ts == key.ts)
                inserted[static_cast<std::size_t>(it - rows.begin())] = true;
        }
        finish(tx, rows, inserted, hook, place_of);
    }

    /// Adds the batch's new rows to the daily reading counts (statistics: data completeness),
    /// counted here by hour, domain and district, so that PostgreSQL gets a handful of counts
    /// and turns each hour into its day in the statistics' time zone. Rows come sorted by
    /// sensor: each sensor's place is looked up once.
    static void count_new_rows(
        pqxx::work& tx,
        const std::vector<rules::reading>& rows,
        const std::vector<bool>& inserted,
        const place_of_sensor& place_of
    ) {
        // "domain\0district" -> the place's index in the statement's arrays
        std::map<std::string, std::size_t, std::less<>> place_index;
        std::map<std::pair<std::int64_t, std::size_t>, std::int64_t> counts;  // (hour, place) -> new rows
        std::string domain, district, joined;
        std::optional<std::int32_t> looked_up;  // the sensor whose place `place` is
        std::optional<std::size_t> place;       // none: that sensor is no longer known
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (!inserted[i]) continue;
            if (looked_up != rows[i].sensor_key) {
                looked_up = rows[i].sensor_key;
                place.reset();
                if (place_of(*looked_up, domain, district)) {
                    joined.assign(domain).append(1, '\0').append(district);
                    auto it = place_index.find(joined);
                    if (it == place_index.end()) it = place_index.emplace(joined, place_index.size()).first;
                    place = it->second;
                }
            }
            if (place) ++counts[{util::floor_div(rows[i].ts, 3600 * util::kMicrosPerSecond), *place}];
        }
        if (counts.empty()) return;
        std::vector<std::string> names(place_index.size());
        for (const auto& [name, index] : place_index) names[index] = name;
        std::vector<std::string> domains, districts;
        for (const auto& [key, n] : counts) {
            const std::string& name = names[key.second];
            const auto split = name.find('\0');
            domains.push_back(name.substr(0, split));
            districts.push_back(name.substr(split + 1));
        }
        tx.exec_prepared(
            queries::count_readings.name,
            pg_int_array(counts, [](const auto& entry) { return entry.first.first; }),
            text_array(domains),
            text_array(districts),
            pg_int_array(counts, [](const auto& entry) { return entry.second; })
        );
    }

    /// Past UTC days that got new rows (a late or back-filled reading) are rolled up again by the
    /// maintenance (sql/0015_readings_rollups.sql). Live batches have none: one comparison per row.
    static void mark_late_days(
        pqxx::work& tx, const std::vector<rules::reading>& rows, const std::vector<bool>& inserted
    ) {
        const std::int64_t today = util::day_number(util::now_micros());
        std::set<std::int64_t> late;
        for (std::size_t i = 0; i < rows.size(); ++i)
            if (inserted[i] && rows[i].ts < today * 86'400 * util::kMicrosPerSecond)
                late.insert(util::day_number(rows[i].ts));
        if (late.empty()) return;
        std::string days = "{";
        for (auto d : late) {
            if (days.size() > 1) days += ',';
            days += pg_day(d);
        }
        tx.exec_prepared(queries::mark_late_days.name, days + "}");
    }

    /// Lets the hook add its writes to the batch's transaction, then commits both together.
    static void finish(
        pqxx::work& tx,
        const std::vector<rules::reading>& rows,
        const std::vector<bool>& inserted,
        const before_commit& hook,
        const place_of_sensor& place_of
    ) {
        count_new_rows(tx, rows, inserted, place_of);
        mark_late_days(tx, rows, inserted);
        if (hook) {
            pqxx_scope scope(tx);
            hook(scope, rows, inserted);
        }
        tx.commit();
    }
};

writer_connection::writer_connection(std::string db_url, int statement_timeout_ms)
    : impl_(std::make_unique<impl>(impl{std::move(db_url), statement_timeout_ms, nullptr, {}, false})) {}

writer_connection::~writer_connection() = default;

// A plain COPY first (the common case: new readings only); a unique violation means a retry or
// an overlap, and the batch is written again through the staging table, which says row by row
// what was new. Either way the hook (the rule engine) runs once, inside the transaction.
void writer_connection::commit_readings(
    const std::vector<rules::reading>& rows,
    std::vector<bool>& inserted,
    const before_commit& hook,
    const place_of_sensor& place_of,
    const while_copying& overlap
) {
    inserted.clear();
    if (rows.empty()) return;
    impl_->guarded([&](pqxx::connection& c) {
        impl_->ensure_partitions(c, rows);
        const std::string data = copy_binary(rows);
        try {
            impl_->fast_path(c, rows, data, inserted, hook, place_of, overlap);
        } catch (const pqxx::unique_violation&) {
            impl_->staged_path(c, rows, data, inserted, hook, place_of);
        }
    });
}

// The lock is the session's, so it is held exactly as long as this connection lives: a dead or
// cut-off leader stops leading without anyone having to notice it first.
bool writer_connection::try_lead(const std::string& member_id) {
    if (impl_->holds_lock && impl_->conn && impl_->conn->is_open()) return true;
    try {
        auto& c = impl_->open();
        pqxx::work tx(c);
        const bool got = tx.exec_prepared1(queries::try_leader_lock.name)[0].as<bool>();
        if (got) tx.exec_prepared(queries::mark_leader.name, member_id, CITYGUARD_VERSION);
        tx.commit();
        impl_->holds_lock = got;
        return got;
    } catch (const pqxx::broken_connection&) {
        impl_->drop();
        throw;
    } catch (const pqxx::in_doubt_error&) {
        impl_->drop();
        throw;
    }
}

bool writer_connection::leading() const noexcept { return impl_->holds_lock && impl_->conn && impl_->conn->is_open(); }

// Asked by an idle leader each poll: a broken connection is found here, not at the next write.
bool writer_connection::still_leading() {
    if (!leading()) return false;
    try {
        pqxx::nontransaction tx(*impl_->conn);
        tx.exec(queries::ping);
        return true;
    } catch (const std::exception& e) {
        spdlog::warn("writer connection lost: {}", e.what());
        impl_->drop();
        return false;
    }
}

void writer_connection::resign() { impl_->drop(); }

// A change of the writer's own (timer step, operator action): the same connection and lock as
// the readings, so it cannot interleave with a batch.
void writer_connection::transact(const std::function<void(transaction_scope&)>& fn) {
    impl_->guarded([&](pqxx::connection& c) {
        pqxx::work tx(c);
        pqxx_scope scope(tx);
        fn(scope);
        tx.commit();
    });
}

}  // namespace cityguard::store
