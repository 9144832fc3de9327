#include "cityguard/readings/ingest_service.hpp"

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>

namespace cityguard::readings {

namespace net = boost::asio;

parsed_readings ingest_service::parse(std::string_view body) const {
    return parse_readings(body, cfg_.max_readings_per_request, json_max_depth_, cfg_.max_evidence_url_bytes);
}

parsed_readings ingest_service::parse_events(std::string_view body) const {
    return readings::parse_events(body, cfg_.max_events_per_request, json_max_depth_, cfg_.max_evidence_url_bytes);
}

void ingest_service::count_rejected(const std::vector<rejected_reading>& rejected) {
    // Few distinct codes: one lock per code, not per item.
    std::vector<std::pair<std::string_view, std::uint64_t>> by_code;
    for (const auto& r : rejected) {
        auto it = std::find_if(by_code.begin(), by_code.end(), [&](const auto& c) { return c.first == r.error; });
        if (it == by_code.end())
            by_code.emplace_back(r.error, 1);
        else
            ++it->second;
    }
    for (const auto& [code, n] : by_code) rejected_.add({std::string(code)}, n);
}

net::awaitable<ingest_result> ingest_service::ingest(
    parsed_readings parsed, std::function<bool(const registry::sensor_entry&)> may_send
) {
    ingest_result result;
    result.rejected = std::move(parsed.rejected);

    const auto sensors = directory_.snapshot();
    const util::micros now = util::now_micros();
    const util::micros latest_allowed = now + static_cast<util::micros>(cfg_.max_future_skew_s) * 1'000'000;
    const util::micros earliest_allowed = now - static_cast<util::micros>(cfg_.max_age_days) * 86'400'000'000LL;

    std::vector<rules::reading> rows;
    std::vector<rules::reading_evidence> evidence;
    rows.reserve(parsed.readings.size());
    for (auto& r : parsed.readings) {
        const auto* sensor = sensors->find(std::string_view(r.sensor));
        if (!sensor) {
            result.rejected.push_back({r.index, "unknown_sensor", "sensor '" + r.sensor + "' is not registered"});
        } else if (may_send && !may_send(*sensor)) {
            result.rejected.push_back(
                {r.index, "forbidden", "this key may not send readings for sensor '" + r.sensor + "'"}
            );
        } else if (r.ts > latest_allowed) {
            result.rejected.push_back({r.index, "future_timestamp", "ts is too far in the future"});
        } else if (r.ts < earliest_allowed) {
            result.rejected.push_back({r.index, "stale_timestamp", "ts is older than the accepted window"});
        } else {
            rows.push_back({sensor->key, r.ts, r.value});
            if (!r.evidence.empty()) evidence.push_back({sensor->key, r.ts, std::move(r.evidence)});
        }
    }
    std::sort(result.rejected.begin(), result.rejected.end(), [](const auto& a, const auto& b) {
        return a.index < b.index;
    });
    count_rejected(result.rejected);
    if (rows.empty()) co_return result;

    const std::size_t submitted = rows.size();
    writer::commit_outcome outcome =
        co_await writer_.async_commit(std::move(rows), std::move(evidence), net::use_awaitable);
    if (!outcome.committed) {
        refused_.add(submitted);
        throw api_error(outcome.error, outcome.message);
    }
    for (bool fresh : outcome.inserted) (fresh ? result.accepted : result.duplicates)++;
    co_return result;
}

}  // namespace cityguard::readings
