#include "cityguard/store/migrations.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <stdexcept>

#include "cityguard/util/time.hpp"
#include "pool.hpp"

namespace cityguard::store {
namespace {
// Any constant unique to CityGuard: two servers starting at once must not both migrate.
constexpr long long kMigrationLock = 0x43475244'4d494752LL;  // "CGRDMIGR"

}  // namespace

std::vector<migration> load_migrations(const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<migration> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
        std::ifstream in(entry.path());
        std::ostringstream ss;
        ss << in.rdbuf();
        out.push_back({entry.path().filename().string(), ss.str()});
    }
    if (ec) throw std::runtime_error("cannot read migrations directory " + dir + ": " + ec.message());
    if (out.empty()) throw std::runtime_error("no .sql migrations in " + dir);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

// Each migration in its own transaction under an advisory lock: instances starting together
// apply each once, and a failure leaves the schema at the last migration that committed.
std::vector<std::string> migrate(const std::string& db_url, const std::vector<migration>& all) {
    pqxx::connection conn(db_url);
    {
        pqxx::work tx(conn);
        tx.exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        );
        tx.commit();
    }
    {
        // An instance older than the schema must not run against it (several instances, or a
        // rollback of the binary): it would write what the newer schema does not expect.
        pqxx::read_transaction tx(conn);
        std::set<std::string> known;
        for (const auto& m : all) known.insert(m.name);
        for (const auto& row : tx.exec("SELECT version FROM schema_migrations ORDER BY version")) {
            const auto version = row[0].as<std::string>();
            if (!known.count(version))
                throw std::runtime_error(
                    "schema: the database has migration " + version + ", which this binary (CityGuard " +
                    CITYGUARD_VERSION +
                    ") does not know: it was migrated by a newer CityGuard. Run that version (or newer) against it."
                );
        }
    }
    std::vector<std::string> applied;
    for (const auto& m : all) {
        pqxx::work tx(conn);
        tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLock);
        if (!tx.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", m.name).empty()) continue;
        spdlog::info("applying migration {}", m.name);
        tx.exec(m.sql);
        tx.exec_params("INSERT INTO schema_migrations (version) VALUES ($1)", m.name);
        tx.commit();
        applied.push_back(m.name);
    }
    return applied;
}

// Before the writer starts: a reading for yesterday or the next days needs no DDL on the hot path.
int ensure_partitions_around_today(const std::string& db_url, int days_back, int days_ahead) {
    pqxx::connection conn(db_url);
    pqxx::work tx(conn);
    const std::int64_t today = util::day_number(util::now_micros());
    const auto created = tx.exec_params1(
                               "SELECT cityguard_ensure_partitions($1::date, $2::date)",
                               pg_day(today - days_back),
                               pg_day(today + days_ahead)
    )[0]
                             .as<int>();
    tx.commit();
    return created;
}

}  // namespace cityguard::store
