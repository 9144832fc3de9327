#include "cityguard/readings/history_service.hpp"

#include <charconv>

#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::readings {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {}  // namespace

net::awaitable<json> history_service::readings(readings_query q) {
    const auto sensors = directory_.snapshot();
    const auto* sensor = sensors->find(std::string_view(q.sensor));
    if (!sensor) throw api_error(errc::not_found, "no sensor '" + q.sensor + "'");
    const std::int32_t key = sensor->key;

    const util::micros to = q.to ? util::parse_time_param(*q.to, "to") : util::now_micros();
    const util::micros from = q.from ? util::parse_time_param(*q.from, "from")
                                     : std::max<util::micros>(util::kEarliestTime, to - 3'600'000'000LL);
    if (from >= to) throw api_error(errc::bad_request, "from must be before to");

    json out{{"sensor", q.sensor}, {"from", util::format_rfc3339(from)}, {"to", util::format_rfc3339(to)}};
    if (q.bucket) {
        const auto seconds = util::parse_duration_seconds(*q.bucket);
        if (!seconds) throw api_error(errc::bad_request, "bucket must look like 60s, 5m, 1h or 1d (at most 100 years)");
        const auto span_s = (to - from) / 1'000'000;
        if (span_s / *seconds > static_cast<long long>(cfg_.max_buckets))
            throw api_error(
                errc::bad_request,
                "too many buckets: at most " + std::to_string(cfg_.max_buckets) +
                    "; use a larger bucket or a shorter range"
            );
        json buckets = json::array();
        auto answer = co_await repo_.buckets(key, from, to, *seconds);
        for (const auto& b : answer.rows)
            buckets.push_back(
                {{"ts", util::format_rfc3339(b.start)},
                 {"min", b.min},
                 {"avg", b.avg},
                 {"max", b.max},
                 {"count", b.count}}
            );
        out["bucket"] = *q.bucket;
        out["buckets"] = std::move(buckets);
        // Which data answered: a rollup for the days already rolled up, raw readings after.
        out["source"] = {
            {"rollup", answer.rollup ? json(answer.rollup) : json(nullptr)},
            {"raw_from", util::format_rfc3339(answer.raw_from)}};
        co_return out;
    }

    std::size_t limit = cfg_.default_readings;
    if (q.limit) {
        long long n = 0;
        auto [p, ec] = std::from_chars(q.limit->data(), q.limit->data() + q.limit->size(), n);
        if (ec != std::errc{} || p != q.limit->data() + q.limit->size() || n < 1 ||
            static_cast<std::size_t>(n) > cfg_.max_readings)
            throw api_error(errc::bad_request, "limit must be between 1 and " + std::to_string(cfg_.max_readings));
        limit = static_cast<std::size_t>(n);
    }
    // One extra row tells whether the range holds more than the limit.
    auto rows = co_await repo_.range(key, from, to, limit + 1);
    const bool truncated = rows.size() > limit;
    if (truncated) rows.pop_back();
    json points = json::array();
    for (const auto& r : rows) points.push_back({{"ts", util::format_rfc3339(r.ts)}, {"value", r.value}});
    out["readings"] = std::move(points);
    out["truncated"] = truncated;
    if (truncated) out["next_from"] = util::format_rfc3339(rows.back().ts + 1);
    co_return out;
}

}  // namespace cityguard::readings
