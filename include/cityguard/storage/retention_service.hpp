#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "cityguard/config/config.hpp"
#include "cityguard/store/readings_repo.hpp"

/// Readings for years (docs/operations.md, "Data for years"): every past UTC day of readings is
/// rolled up into per-sensor minute and hour aggregates; raw daily partitions older than
/// storage.retention_days, and rollup partitions past their own periods, are detached and
/// dropped. Never a DELETE of readings; alarms and their events are never touched.
namespace cityguard::storage {

class retention_service {
  public:
    retention_service(store::readings_repo& repo, const config::storage_config& cfg) : repo_(repo), cfg_(cfg) {}

    /// One pass: rolls up what needs it, then drops what retention allows, and says what it did
    /// ({"rolled_days", "rolled_readings", "dropped", "seconds"}). One pass at a time: another
    /// caller meanwhile gets api_error(conflict).
    boost::asio::awaitable<nlohmann::json> run_once();

    /// GET /api/v1/storage: the settings, each table's partitions and bytes, the days rolled up.
    boost::asio::awaitable<nlohmann::json> overview();

  private:
    store::readings_repo& repo_;
    const config::storage_config& cfg_;
    std::atomic<bool> running_{false};
};

}  // namespace cityguard::storage
