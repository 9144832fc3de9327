#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "cityguard/config/config.hpp"
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/readings/gateway_map.hpp"
#include "cityguard/readings/ingest_service.hpp"

/// MQTT ingest (docs/ingest.md): CityGuard subscribes to the gateways' topics on a broker with a
/// persistent session and QoS 1, turns each message into readings through the mapping file, and
/// acknowledges it (PUBACK, in the order received) only once the group commit that stored its
/// readings returned. A SIGKILL before that leaves the message unacknowledged in the session, and
/// the broker sends it again when CityGuard reconnects; storing it twice stores nothing twice
/// (readings are unique per sensor and time).
namespace cityguard::mqtt {

/// What the connector counts, for /metrics.
struct mqtt_counts {
    metrics::counter stored;           ///< messages whose readings were committed (or all refused one by one)
    metrics::counter readings;         ///< readings newly stored from MQTT
    metrics::counter duplicates;       ///< readings already stored (a message sent again)
    metrics::counter rejected;         ///< readings refused one by one (unmapped field, unknown sensor, ...)
    metrics::counter invalid_payload;  ///< messages whose payload is not a readings or telemetry document
    metrics::counter unmapped_topic;   ///< messages on a topic no gateway of the mapping owns
    metrics::counter too_large;        ///< messages over mqtt.max_payload_bytes, dropped unread
    metrics::counter retried;          ///< commits the writer refused (busy, no lead), tried again
    metrics::counter connects;         ///< sessions established
    metrics::counter disconnects;      ///< sessions lost or refused
};

class mqtt_ingest {
  public:
    mqtt_ingest(
        boost::asio::io_context& ioc,
        readings::ingest_service& ingest,
        readings::gateway_map map,
        const config::mqtt_config& cfg,
        const config::ingest_config& ingest_cfg,
        std::size_t json_max_depth
    );
    ~mqtt_ingest();
    mqtt_ingest(const mqtt_ingest&) = delete;
    mqtt_ingest& operator=(const mqtt_ingest&) = delete;

    /// Connects and keeps connecting (with backoff) while `may_run` says so: the leader's job,
    /// so that one instance of a cluster holds the session.
    void start(std::function<bool()> may_run);
    /// Closes the session without acknowledging what is not committed. Any thread.
    void stop();

    bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }
    /// For /readyz: {"broker","connected","since","last_error"}.
    nlohmann::json status() const;
    const mqtt_counts& counts() const noexcept { return counts_; }
    /// Messages received and not yet acknowledged (bounded by mqtt.max_inflight_messages).
    std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

  private:
    struct session;

    boost::asio::awaitable<void> run();
    boost::asio::awaitable<void> run_session();
    boost::asio::awaitable<void> handle(
        std::shared_ptr<session> s, std::uint64_t seq, std::string topic, std::string payload
    );
    /// Marks message `seq` stored and sends the PUBACKs now due, in order.
    void acknowledge(session& s, std::uint64_t seq);
    void note_state(bool up, std::string error);
    void log_refusal(const std::string& what);

    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    readings::ingest_service& ingest_;
    const readings::gateway_map map_;
    const config::mqtt_config& cfg_;
    readings::payload_limits limits_;
    std::function<bool()> may_run_;
    boost::asio::steady_timer pause_;   // backoff and waiting for the lead
    std::shared_ptr<session> current_;  // on the strand
    std::atomic<bool> stopping_{false};
    std::atomic<bool> connected_{false};
    std::atomic<std::size_t> in_flight_{0};
    mqtt_counts counts_;
    mutable std::mutex state_mutex_;
    std::string last_error_;
    double state_since_ = 0;
    std::chrono::steady_clock::time_point last_log_{};
};

/// Reads and checks a mapping file. Throws std::runtime_error naming the file and the item.
readings::gateway_map load_gateway_map(const std::string& path);

}  // namespace cityguard::mqtt
