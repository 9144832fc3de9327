#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <unordered_map>

#include "cityguard/feed/hub.hpp"
#include "cityguard/store/readings_repo.hpp"
#include "cityguard/util/time.hpp"
#include "cityguard/writer/serial_writer.hpp"

namespace cityguard::cluster {

/// Live readings for a follower's feed clients (docs/scaling.md). The leader hands each batch it
/// commits to its own hub; a follower has no batches, so while this instance does not lead and
/// someone here follows sensors, their new rows are read from the database every `poll_ms`
/// (after the newest already relayed, per sensor) and handed to the hub the same way.
class readings_relay {
  public:
    readings_relay(
        boost::asio::io_context& ioc,
        store::readings_repo& readings,
        feed::hub& hub,
        const writer::serial_writer& writer,
        int poll_ms
    );

    void start();
    void stop();

  private:
    boost::asio::awaitable<void> loop();
    boost::asio::awaitable<void> relay_once();

    store::readings_repo& readings_;
    feed::hub& hub_;
    const writer::serial_writer& writer_;
    const int poll_ms_;
    boost::asio::steady_timer timer_;
    std::atomic<bool> stopping_{false};
    std::unordered_map<std::int32_t, util::micros> after_;  // followed sensor -> newest ts relayed
};

}  // namespace cityguard::cluster
