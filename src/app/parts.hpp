#pragma once
// Private to app/: what the composition root owns, shared by app.cpp (start, stop) and
// metrics_page.cpp (GET /metrics).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/app/app.hpp"
#include "cityguard/app/components.hpp"
#include "cityguard/cluster/handover.hpp"
#include "cityguard/cluster/readings_relay.hpp"
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/notifications/dispatcher.hpp"
#include "cityguard/store/event_log.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::app {

/// The I/O context first (everything posts to it), the components, then what runs on its own.
/// Destroyed in reverse, so nothing outlives what it uses.
struct app::parts {
    parts(const config::config& cfg, rules::pack_set packs, notification_model::policy policy);

    const config::config& cfg;
    boost::asio::io_context ioc;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
    components c;
    notifications::dispatcher notifier;  // delivers the outbox the writer fills
    cluster::handover handover;          // what this instance does when the lead changes hands
    store::event_follower follower;      // hands every committed alarm event to the feed, in seq order
    cluster::readings_relay relay;       // a follower's live readings for its feed clients
    boost::asio::signal_set signals;
    boost::asio::signal_set reload_signal;
    metrics::registry measurements;
    const std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
    const double started_at_unix = static_cast<double>(util::now_micros()) / 1e6;

    /// How other instances reach this one: cluster.advertise_url, else the bound address (this
    /// machine's name when listening on every address).
    std::string advertise_url() const;

    /// Runs a start-up coroutine on the I/O threads and waits for it here.
    template <class T>
    T run_now(boost::asio::awaitable<T> task) {
        return boost::asio::co_spawn(ioc, std::move(task), boost::asio::use_future).get();
    }

    // Start-up steps of app::start, in order (app.cpp).
    void load_registry_file();
    void wire();
    void lead_or_follow();

    // metrics_page.cpp
    /// What every component counts, read at each scrape. Called once, before serving.
    void register_metrics();
    /// GET /metrics: what the components count, and the open alarms from the database (left
    /// out, with cityguard_scrape_database_ok 0, when it does not answer).
    boost::asio::awaitable<std::string> scrape();

  private:
    void write_ingest_metrics(metrics::exposition& out) const;
    void write_mqtt_metrics(metrics::exposition& out) const;
    void write_queue_metrics(metrics::exposition& out) const;
    void write_alarm_and_feed_metrics(metrics::exposition& out);
};

}  // namespace cityguard::app
