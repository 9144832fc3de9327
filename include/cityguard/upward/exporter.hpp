#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "cityguard/config/config.hpp"
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/outbound/http_client.hpp"
#include "cityguard/registry/sensor_directory.hpp"
#include "cityguard/store/event_log.hpp"
#include "cityguard/store/upward_repo.hpp"

/// Upward reporting (docs/upward.md): follows the alarm event log from its stored position and
/// sends each raise, level change and close to the superior platform, one event at a time and in
/// order: the report SM4-CBC encrypted, the envelope signed with the app secret, the event id the
/// idempotency key. The position advances only after the platform acknowledged the event, so a
/// SIGKILL at any moment sends at most that one event again, with the same id.
namespace cityguard::upward {

class exporter {
  public:
    /// Throws std::invalid_argument for a bad SM4 key or a bad fields file.
    exporter(
        boost::asio::io_context& ioc,
        store::event_log& events,
        store::upward_repo& repo,
        const registry::sensor_directory& directory,
        const config::upward_config& cfg
    );

    /// Runs while `may_run` says so (the leader's job).
    void start(std::function<bool()> may_run);
    void stop();

    /// For GET /api/v1/upward: position, backlog, last success and error.
    boost::asio::awaitable<nlohmann::json> status();
    /// Events of the types sent upward that are not acknowledged yet (-1: the database did not answer).
    boost::asio::awaitable<std::int64_t> backlog();

    const metrics::counter& sent() const noexcept { return sent_; }
    const metrics::counter& failed_attempts() const noexcept { return failed_; }

  private:
    boost::asio::awaitable<void> run();
    /// One event until the platform acknowledges it; false: stopped or lost the lead first.
    boost::asio::awaitable<bool> deliver(const store::logged_event& e);
    void note(bool ok, std::string error);

    const config::upward_config& cfg_;
    store::event_log& events_;
    store::upward_repo& repo_;
    const registry::sensor_directory& directory_;
    outbound::http_client client_;
    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    boost::asio::steady_timer timer_;
    std::string key_;  // the 16 bytes of the SM4 key
    nlohmann::json fields_ = nlohmann::json::object();
    std::function<bool()> may_run_;
    std::atomic<bool> stopping_{false};
    metrics::counter sent_, failed_;
    mutable std::mutex state_mutex_;
    std::string last_error_;
    std::optional<util::micros> last_success_;
};

}  // namespace cityguard::upward
