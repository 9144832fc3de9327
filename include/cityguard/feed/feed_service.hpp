#pragma once

#include <algorithm>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cityguard/auth/key_service.hpp"
#include "cityguard/auth/people_service.hpp"
#include "cityguard/config/config.hpp"
#include "cityguard/feed/hub.hpp"
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/store/event_log.hpp"
#include "cityguard/util/input.hpp"

namespace cityguard::feed {

/// One message from a feed client, parsed and checked.
struct client_message {
    enum class kind { auth, subscribe, subscribe_readings, unsubscribe_readings };
    kind type = kind::subscribe;
    std::string token;                  ///< auth
    filter wanted;                      ///< subscribe
    std::optional<std::int64_t> since;  ///< subscribe
    std::vector<std::string> sensors;   ///< (un)subscribe_readings
};

/// Throws api_error(bad_request, invalid_json or invalid_text) naming what is wrong.
client_message parse_client_message(std::string_view text, std::size_t max_depth = util::kDefaultJsonMaxDepth);

/// Where a subscription starts, loaded from the database.
struct catch_up {
    std::int64_t seq = 0;         ///< position reached; live events up to it are dropped
    std::string snapshot;         ///< a snapshot message to send, or empty
    std::vector<event> replayed;  ///< events after `since`, unfiltered, oldest first
};

/// What feed connections share: the hub, the event log and key checks.
///
/// Thread safety: every member may be called from any thread.
class feed_service {
  public:
    feed_service(
        store::event_log& log,
        auth::key_service& keys,
        const registry::sensor_directory& directory,
        const config::feed_config& cfg,
        std::size_t json_max_depth
    );

    hub& events() noexcept { return hub_; }

    /// What the feed's connections count for /metrics (any thread).
    struct measurements {
        metrics::counter opened, ended;         ///< WebSocket connections accepted and finished
        metrics::counter messages_sent;         ///< messages written whole (events, readings, replies)
        metrics::labeled_counter closes;        ///< closes the server asked for, by close code
        metrics::counter slow_consumer_closes;  ///< 4008: past feed.max_queued_messages/bytes
    };
    measurements& measured() noexcept { return measured_; }
    const config::feed_config& config() const noexcept { return cfg_; }
    std::size_t json_max_depth() const noexcept { return json_max_depth_; }

    /// feed.max_output_bytes_total: what every connection's queue holds together. Connections
    /// add what they queue and subtract what they send or drop: a message of their own in full,
    /// one built once for many (hub) by its queue entry alone, since the hub counts its bytes once.
    void add_output(std::size_t bytes) noexcept { output_bytes_.fetch_add(bytes, std::memory_order_relaxed); }
    void remove_output(std::size_t bytes) noexcept { output_bytes_.fetch_sub(bytes, std::memory_order_relaxed); }
    std::size_t output_bytes() const noexcept {
        return output_bytes_.load(std::memory_order_relaxed) + hub_.live_bytes()->load(std::memory_order_relaxed);
    }
    /// Whether `bytes` more would pass feed.max_output_bytes_total.
    bool output_full(std::size_t bytes) const noexcept { return output_bytes() + bytes > cfg_.max_output_bytes_total; }
    /// One connection's fair share of the total: a connection above it is closed first.
    std::size_t output_share() const noexcept {
        return cfg_.max_output_bytes_total / std::max<std::size_t>(1, sessions_.load(std::memory_order_relaxed));
    }
    /// feed.max_concurrent_loads: false when that many loads run already.
    bool try_start_load() noexcept {
        auto running = loads_.load();
        do {
            if (running >= cfg_.max_concurrent_loads) return false;
        } while (!loads_.compare_exchange_weak(running, running + 1));
        return true;
    }
    void end_load() noexcept { loads_.fetch_sub(1); }
    void session_started() noexcept { sessions_.fetch_add(1, std::memory_order_relaxed); }
    void session_ended() noexcept { sessions_.fetch_sub(1, std::memory_order_relaxed); }

    /// For an "Authorization" header value or a bare token, from the client at address `client`.
    boost::asio::awaitable<std::optional<auth::principal>> authenticate(std::string credentials, std::string client);
    /// For a signed-in browser's session cookie value (nullopt without people_service).
    boost::asio::awaitable<std::optional<auth::principal>> authenticate_session(std::string token);
    /// Signed-in browsers may open the feed with their session cookie.
    void use_people(auth::people_service* people) noexcept { people_ = people; }

    /// Whether a subscriber of `scope` may see the alarms of site `site` (known to the directory;
    /// an unknown site only to the whole city).
    bool covers(const auth::scope& scope, std::string_view site) const;
    /// Whether a subscriber of `scope` may follow the readings of sensor `sensor`.
    bool covers_sensor(const auth::scope& scope, std::string_view sensor) const;

    /// With `since`: the events after it, or a reset snapshot when `since` is ahead of the log or
    /// more than feed.max_replay events behind. Without: a snapshot. May throw api_error
    /// (overloaded, unavailable).
    /// Only alarms of sites `scope` covers are in the snapshot; replayed events are the caller's to filter.
    boost::asio::awaitable<catch_up> load(std::optional<std::int64_t> since, filter wanted, auth::scope scope = {});

  private:
    store::event_log& log_;
    auth::key_service& keys_;
    auth::people_service* people_ = nullptr;
    const registry::sensor_directory& directory_;
    const config::feed_config& cfg_;
    std::size_t json_max_depth_;
    hub hub_;
    measurements measured_;
    std::atomic<std::size_t> output_bytes_{0};
    std::atomic<std::size_t> sessions_{0};
    std::atomic<std::size_t> loads_{0};
};

}  // namespace cityguard::feed
