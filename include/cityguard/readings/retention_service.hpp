#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cityguard/config/config.hpp"
#include "cityguard/store/readings_repo.hpp"

/// Readings for years (docs/operations.md, "Data for years"): every past UTC day of readings is
/// rolled up into per-sensor minute and hour aggregates; raw daily partitions older than
/// storage.retention_days, and rollup partitions past their own periods, are detached and
/// dropped. Never a DELETE of readings; alarms and their events are never touched.
namespace cityguard::readings {

class retention_service {
  public:
    /// `leading`: whether this instance leads (the leader maintains storage; others skip).
    retention_service(
        boost::asio::io_context& ioc,
        store::readings_repo& repo,
        const config::storage_config& cfg,
        std::function<bool()> leading
    )
        : repo_(repo), cfg_(cfg), leading_(std::move(leading)), pass_timer_(ioc), partition_timer_(ioc) {}

    /// Starts the schedule: a pass 30 s after start, then every storage.maintenance_interval_s
    /// (while leading), and daily partitions kept storage.partition_days_ahead ahead, hourly, so
    /// ingest never waits on DDL at midnight. Failures are logged and retried at the next turn.
    void start();
    /// Other upkeep the leader runs after each scheduled pass (ending old sessions, dropping old
    /// months of the audit trail): `task` returns how much it removed, logged under `what` when
    /// not zero. Call before start().
    void also_run(std::string what, std::function<boost::asio::awaitable<long>()> task) {
        upkeep_.emplace_back(std::move(what), std::move(task));
    }
    /// Cancels the schedule's timers. Call from the controlling thread before the I/O threads stop.
    void stop();

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
    std::function<bool()> leading_;
    std::vector<std::pair<std::string, std::function<boost::asio::awaitable<long>()>>> upkeep_;
    boost::asio::steady_timer pass_timer_;
    boost::asio::steady_timer partition_timer_;

    boost::asio::awaitable<void> run_passes();
    boost::asio::awaitable<void> keep_partitions_ahead();
};

}  // namespace cityguard::readings
