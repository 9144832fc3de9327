#include "cityguard/storage/retention_service.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

#include "cityguard/util/error.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::storage {

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

}  // namespace cityguard::storage
