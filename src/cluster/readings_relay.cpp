#include "cityguard/cluster/readings_relay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <unordered_set>
#include <utility>

namespace cityguard::cluster {

namespace net = boost::asio;

namespace {

// A live chart gets at most this many rows of one sensor per poll; more would be a backlog,
// which the history API serves better.
constexpr std::size_t kRowsPerSensorPerPoll = 1000;

}  // namespace

readings_relay::readings_relay(
    net::io_context& ioc,
    store::readings_repo& readings,
    feed::hub& hub,
    const writer::serial_writer& writer,
    int poll_ms
)
    : readings_(readings), hub_(hub), writer_(writer), poll_ms_(poll_ms), timer_(ioc) {}

void readings_relay::start() { net::co_spawn(timer_.get_executor(), loop(), net::detached); }

void readings_relay::stop() {
    stopping_ = true;
    net::post(timer_.get_executor(), [this] { timer_.cancel(); });
}

net::awaitable<void> readings_relay::loop() {
    bool failing = false;
    while (!stopping_) {
        timer_.expires_after(std::chrono::milliseconds(poll_ms_));
        auto [ec] = co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
        if (ec || stopping_) co_return;
        try {
            co_await relay_once();
            failing = false;
        } catch (const std::exception& e) {
            if (!std::exchange(failing, true)) spdlog::warn("live readings relay: {}; will retry", e.what());
        }
    }
}

net::awaitable<void> readings_relay::relay_once() {
    // The leader's own batches reach its hub directly.
    if (writer_.leading() || !hub_.wants_readings()) {
        after_.clear();
        co_return;
    }
    const auto keys = hub_.followed_keys();
    const std::unordered_set<std::int32_t> followed(keys.begin(), keys.end());
    std::erase_if(after_, [&](const auto& entry) { return !followed.count(entry.first); });
    // A sensor followed since the last poll starts after its newest stored reading: what came
    // before, the client's history query has.
    std::vector<std::int32_t> fresh;
    for (auto key : keys)
        if (!after_.count(key)) fresh.push_back(key);
    if (!fresh.empty()) {
        const auto newest = co_await readings_.newest_of(std::move(fresh));
        for (const auto& [key, ts] : newest) after_[key] = ts;
    }
    std::vector<std::pair<std::int32_t, util::micros>> ask;
    for (auto key : keys)
        if (auto it = after_.find(key); it != after_.end()) ask.emplace_back(key, it->second);
    auto rows = co_await readings_.newer_than(std::move(ask), kRowsPerSensorPerPoll);
    if (rows.empty()) co_return;
    for (const auto& r : rows) after_[r.sensor_key] = std::max(after_[r.sensor_key], r.ts);
    hub_.publish_readings(rows, {});
}

}  // namespace cityguard::cluster
