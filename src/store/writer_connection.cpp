#include "cityguard/store/writer_connection.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include <set>

#include "cityguard/store/errors.hpp"
#include "pool.hpp"
#include "queries/cluster.hpp"
#include "queries/common.hpp"
#include "queries/readings.hpp"
#include "queries/stats.hpp"
#include "scope.hpp"

namespace cityguard::store {
namespace {

/// COPY text lines "key\tts\tvalue", one buffer for the whole batch: one write call instead of
/// one per row. None of the fields can contain a tab, newline or backslash.
std::string copy_text(const std::vector<rules::reading>& rows) {
    std::string out;
    out.reserve(rows.size() * 56);
    char num[32];
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        if (i) out += '\n';
        auto k = std::to_chars(num, num + sizeof num, r.sensor_key);
        out.append(num, k.ptr);
        out += '\t';
        util::append_pg_timestamp(out, r.ts);
        out += '\t';
        auto v = std::to_chars(num, num + sizeof num, r.value);  // shortest round-trip form
        out.append(num, v.ptr);
    }
    return out;
}

const std::vector<std::string> kColumns{"sensor_key", "ts", "value"};

// libpqxx 6.4's stream_to keeps write_raw_line private and formats every field through its
// escaper; the (deprecated) tablewriter still sends a pre-formatted buffer in one call. Its
// multibyte-encoding caveat does not apply: our lines are ASCII digits, dashes and colons.
// `meanwhile` runs once the rows are on their way (libpq has sent all but its last 8 KiB) and
// before the COPY's result is awaited.
void copy_into(
    pqxx::work& tx, const char* table, const std::string& text, const std::function<void()>& meanwhile = {}
) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    pqxx::tablewriter copy(tx, table, kColumns.begin(), kColumns.end());
#pragma GCC diagnostic pop
    copy.write_raw_line(text);
    if (meanwhile) meanwhile();
    copy.complete();
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
        const std::string& text,
        std::vector<bool>& inserted,
        const before_commit& hook,
        const while_copying& overlap
    ) {
        pqxx::work tx(c);
        copy_into(tx, "readings", text, overlap ? std::function<void()>([&] { overlap(rows); }) : nullptr);
        inserted.assign(rows.size(), true);
        finish(tx, rows, inserted, hook);
    }

    // Some rows exist already (a gateway's retry): stage the batch and let ON CONFLICT sort
    // out which rows are new. Slower, so only taken after the plain COPY was refused.
    void staged_path(
        pqxx::connection& c,
        const std::vector<rules::reading>& rows,
        const std::string& text,
        std::vector<bool>& inserted,
        const before_commit& hook
    ) {
        pqxx::work tx(c);
        copy_into(tx, "readings_staging", text);
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
        finish(tx, rows, inserted, hook);
    }

    /// Adds the batch's new rows to the daily reading counts (statistics: data completeness),
    /// counted here by sensor and hour: rows come sorted by sensor then time, so a batch of live
    /// readings is a handful of counts, one statement.
    static void count_new_rows(
        pqxx::work& tx, const std::vector<rules::reading>& rows, const std::vector<bool>& inserted
    ) {
        std::string keys = "{", hours = "{", counts = "{";
        std::int32_t key = 0;
        std::int64_t hour = 0, n = 0;
        const auto flush = [&] {
            if (n == 0) return;
            if (keys.size() > 1) keys += ',', hours += ',', counts += ',';
            keys += std::to_string(key);
            hours += std::to_string(hour);
            counts += std::to_string(n);
        };
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (!inserted[i]) continue;
            const std::int64_t h = util::floor_div(rows[i].ts, 3600 * util::kMicrosPerSecond);
            if (n > 0 && rows[i].sensor_key == key && h == hour) {
                ++n;
                continue;
            }
            flush();
            key = rows[i].sensor_key;
            hour = h;
            n = 1;
        }
        flush();
        if (keys.size() == 1) return;
        tx.exec_prepared(queries::count_readings.name, keys + "}", hours + "}", counts + "}");
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
        const before_commit& hook
    ) {
        count_new_rows(tx, rows, inserted);
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
    const while_copying& overlap
) {
    inserted.clear();
    if (rows.empty()) return;
    impl_->guarded([&](pqxx::connection& c) {
        impl_->ensure_partitions(c, rows);
        const std::string text = copy_text(rows);
        try {
            impl_->fast_path(c, rows, text, inserted, hook, overlap);
        } catch (const pqxx::unique_violation&) {
            impl_->staged_path(c, rows, text, inserted, hook);
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
