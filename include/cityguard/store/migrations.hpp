#pragma once

#include <string>
#include <vector>

namespace cityguard::store {

/// One numbered schema change: `name` is its file name (e.g. "0001_init.sql").
struct migration {
    std::string name;
    std::string sql;
};

/// The sql/NNNN_*.sql files compiled into the binary, in order.
const std::vector<migration>& embedded_migrations();

/// Reads NNNN_*.sql files from `dir`, sorted by name. Throws std::runtime_error if unreadable or empty.
std::vector<migration> load_migrations(const std::string& dir);

/// Applies the migrations not yet recorded in schema_migrations, each in its own transaction
/// and in order; returns the names applied (empty when the schema is current). Concurrent
/// starts are serialised by an advisory lock. Blocking: call at start-up, never on an I/O thread.
std::vector<std::string> migrate(const std::string& db_url, const std::vector<migration>& all);

/// Creates the daily readings partitions from `days_back` days ago to `days_ahead` days ahead.
/// Blocking. Returns how many were created.
int ensure_partitions_around_today(const std::string& db_url, int days_back, int days_ahead);

}  // namespace cityguard::store
