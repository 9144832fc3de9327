#include "cityguard/readings/retention_service.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>

#include "cityguard/util/error.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::readings {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

/// The first day that is kept when `days` days are: days before it may go. None for 0 (forever).
std::optional<std::int64_t> keep_from(std::int64_t today, int days) {
    if (days <= 0) return std::nullopt;
    return today - days;
}

}  // namespace

net::awaitable<json> retention_service::run_once() {
    if (running_.exchange(true))
        throw api_error(errc::conflict, "storage maintenance is running already; try again when it has finished");
    struct release {
        std::atomic<bool>& flag;
        ~release() { flag = false; }
    } guard{running_};
    const auto started = std::chrono::steady_clock::now();
    const std::int64_t today = util::day_number(util::now_micros());
    // A day is rolled up once it has ended; a reading that comes later marks it for another pass.
    const auto days = co_await repo_.days_to_roll(today);
    std::int64_t readings = 0;
    for (const auto day : days) {
        const auto n = co_await repo_.roll_up_day(day);
        readings += n;
        spdlog::info("storage: rolled up {} ({} readings)", util::format_date(day), n);
    }
    const auto dropped = co_await repo_.drop_expired(
        keep_from(today, cfg_.retention_days),
        keep_from(today, cfg_.minute_rollup_days),
        keep_from(today, cfg_.hour_rollup_days)
    );
    for (const auto& name : dropped) spdlog::info("storage: dropped {} (past its retention)", name);
    co_return json{
        {"rolled_days", days.size()},
        {"rolled_readings", readings},
        {"dropped", dropped},
        {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}};
}

net::awaitable<json> retention_service::overview() {
    const auto o = co_await repo_.overview();
    json tables = json::object();
    for (const auto& t : o.tables)
        tables[t.name] = {
            {"partitions", t.partitions},
            {"bytes", t.bytes},
            {"oldest_partition", t.first.empty() ? json(nullptr) : json(t.first)},
            {"newest_partition", t.last.empty() ? json(nullptr) : json(t.last)}};
    const auto days_or_null = [](int days) { return days > 0 ? json(days) : json(nullptr); };
    co_return json{
        {"retention_days",
         {{"raw", days_or_null(cfg_.retention_days)},
          {"minute_rollup", days_or_null(cfg_.minute_rollup_days)},
          {"hour_rollup", days_or_null(cfg_.hour_rollup_days)}}},
        {"tables", tables},
        {"rolled_up",
         {{"days", o.rolled_days},
          {"readings", o.rolled_readings},
          {"first_day", o.first_rolled.empty() ? json(nullptr) : json(o.first_rolled)},
          {"last_day", o.last_rolled.empty() ? json(nullptr) : json(o.last_rolled)},
          {"late_days", o.late_days}}}};
}

void retention_service::start() {
    net::co_spawn(pass_timer_.get_executor(), run_passes(), net::detached);
    net::co_spawn(partition_timer_.get_executor(), keep_partitions_ahead(), net::detached);
}

void retention_service::stop() {
    pass_timer_.cancel();
    partition_timer_.cancel();
}

net::awaitable<void> retention_service::run_passes() {
    auto wait = std::chrono::seconds(std::min(30, cfg_.maintenance_interval_s));
    for (;;) {
        pass_timer_.expires_after(wait);
        auto [ec] = co_await pass_timer_.async_wait(net::as_tuple(net::use_awaitable));
        if (ec) co_return;
        wait = std::chrono::seconds(cfg_.maintenance_interval_s);
        if (!leading_()) continue;  // the leader maintains storage
        try {
            const auto report = co_await run_once();
            if (report["rolled_days"] != 0 || !report["dropped"].empty())
                spdlog::info("storage maintenance: {}", report.dump());
        } catch (const api_error& e) {
            spdlog::info("storage maintenance skipped: {}", e.what());  // a pass asked for by the API is running
        } catch (const std::exception& e) {
            spdlog::warn("storage maintenance failed, will retry: {}", e.what());
        }
        for (const auto& [what, task] : upkeep_) {
            try {
                const long removed = co_await task();
                if (removed != 0) spdlog::info("upkeep: {} {}", removed, what);
            } catch (const std::exception& e) {
                spdlog::warn("upkeep ({}) failed, will retry: {}", what, e.what());
            }
        }
    }
}

net::awaitable<void> retention_service::keep_partitions_ahead() {
    for (;;) {
        partition_timer_.expires_after(std::chrono::hours(1));
        auto [ec] = co_await partition_timer_.async_wait(net::as_tuple(net::use_awaitable));
        if (ec) co_return;
        try {
            if (int n = co_await repo_.ensure_partitions(cfg_.partition_days_ahead))
                spdlog::info("created {} readings partition(s)", n);
        } catch (const std::exception& e) {
            spdlog::warn("partition maintenance failed, will retry: {}", e.what());
        }
    }
}

}  // namespace cityguard::readings
