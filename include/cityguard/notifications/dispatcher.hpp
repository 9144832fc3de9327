#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "cityguard/config/config.hpp"
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/notification_model/message.hpp"
#include "cityguard/notification_model/policy.hpp"
#include "cityguard/outbound/http_client.hpp"
#include "cityguard/store/notifications_repo.hpp"

/// Delivers the outbox (docs/notifications.md): reads due rows, sends each through its channel
/// with at most max_in_flight at once per channel, records every attempt, retries with
/// exponential backoff, and marks a row delivered once. Runs on the I/O threads (its own strand)
/// and the database pool: a channel that is down costs a bounded timeout per attempt and never
/// blocks ingest, alarm evaluation or the feed.
namespace cityguard::notifications {

class dispatcher {
  public:
    dispatcher(
        boost::asio::io_context& ioc,
        store::notifications_repo& repo,
        const notification_model::policy& policy,
        const config::notifications_config& cfg
    );

    /// Delivers only while `allowed()` (the leader delivers: docs/scaling.md). Call before start().
    void only_while(std::function<bool()> allowed) { allowed_ = std::move(allowed); }
    void start();
    void stop();
    /// New rows were committed: look now rather than at the next poll. Any thread.
    void wake();

    /// Deliveries under way (for tests and the graceful stop).
    std::size_t in_flight() const noexcept { return in_flight_count_.load(); }
    /// Delivery attempts by channel and outcome (delivered, retrying, failed: gave up), for /metrics.
    const metrics::labeled_counter& attempts() const noexcept { return attempts_; }

  private:
    boost::asio::awaitable<void> loop();
    boost::asio::awaitable<void> deliver(store::delivery_job job);
    /// Sends one notification; returns the receiver's HTTP status (0 for the log channel).
    boost::asio::awaitable<int> send(const notification_model::channel& ch, const store::delivery_job& job);
    boost::asio::awaitable<int> send_sms(
        const notification_model::channel& ch,
        const notification_model::message_facts& facts,
        const notification_model::message& msg
    );
    util::micros backoff(int attempts_before) const;

    store::notifications_repo& repo_;
    const notification_model::policy& policy_;
    const config::notifications_config& cfg_;
    outbound::http_client client_;
    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    boost::asio::steady_timer timer_;
    // Strand only.
    std::set<std::int64_t> in_flight_;
    std::map<std::string, int> channel_load_;
    std::atomic<std::size_t> in_flight_count_{0};
    metrics::labeled_counter attempts_;
    std::atomic<bool> stopping_{false};
    std::function<bool()> allowed_;
    bool woken_ = false;
};

}  // namespace cityguard::notifications
