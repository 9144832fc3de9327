#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cityguard/api/router.hpp"
#include "cityguard/config/config.hpp"
#include "cityguard/feed/feed_service.hpp"
#include "cityguard/http/static_files.hpp"
#include "cityguard/metrics/http_metrics.hpp"

namespace cityguard::http {

class http_session;

/// What a connection has shown of itself, lowest first: the order in which connections are
/// closed to make room.
enum class connection_class {
    unauthenticated,  ///< no valid key yet (or only keys whose role was refused)
    device,           ///< a gateway or monitor key: machines, which reconnect on their own
    person,           ///< an operator or admin key, or a feed session: never closed for room
};

/// Accepts HTTP/1.1 connections and runs one session per connection, each on its own strand.
/// Tracks its sessions so that stop() can drain them: stop accepting, let each finish the
/// request it is serving, close idle keep-alive connections.
///
/// Connection limits (docs/security.md). Connections of people (operator and admin keys) have
/// http.reserved_connections slots that no other connection may take: the rest are held to
/// http.max_connections - http.reserved_connections. A new connection that would pass that, or
/// http.max_connections, or http.max_connections_per_client for its address, is admitted by
/// closing another: the oldest unauthenticated one (an idle one first), else the oldest idle one
/// of a gateway or monitor key (of that address, for the per-address limit). Only when every
/// candidate is a person's, or busy with a device's request, is the new one closed. Request
/// bodies being read, over all connections, are bounded by http.max_body_bytes_in_flight.
///
/// Thread safety: start() before the I/O threads serve it; stop(), port() and connections()
/// from any thread.
class server {
  public:
    /// `feed` serves GET /api/v1/feed upgrades; `files`, every other GET outside /api/.
    server(
        boost::asio::io_context& ioc,
        const config::config& cfg,
        api::dispatcher& dispatcher,
        feed::feed_service& feed,
        const http::static_files& files,
        metrics::http_metrics& metrics
    );
    ~server();

    /// Binds cfg.listen_host:listen_port and starts accepting. Throws boost::system::system_error.
    void start();
    /// The bound port (useful with port 0).
    std::uint16_t port() const noexcept { return port_; }
    /// Stops accepting and asks every connection to close after its current response.
    void stop();
    /// Serves a connected socket from `client` (an address) as if it had been accepted, within
    /// the connection limits. The accept loop uses it; so does the fuzzing harness (fuzz/).
    void adopt(boost::asio::ip::tcp::socket socket, std::string client);
    /// Connections still open.
    std::size_t connections() const noexcept { return open_.load(); }
    /// Bytes of request bodies being read now (bounded by http.max_body_bytes_in_flight).
    std::size_t body_bytes_in_flight() const noexcept { return body_bytes_.load(); }

    // For sessions:
    const config::http_config& http_config() const noexcept { return cfg_.http; }
    api::dispatcher& dispatcher() noexcept { return dispatcher_; }
    feed::feed_service& feed() noexcept { return feed_; }
    const http::static_files& files() const noexcept { return files_; }
    metrics::http_metrics& metrics() noexcept { return metrics_; }
    void on_session_closed(std::uint64_t id);
    /// The session was served with a valid key of this class (never lowers it): a person's is
    /// no longer a candidate for eviction, a device's only while it is idle.
    void on_session_authenticated(std::uint64_t id, connection_class c);
    /// A device connection chosen for eviction had started a request meanwhile and stays: it is
    /// a candidate again.
    void on_eviction_declined(std::uint64_t id);
    /// Reserves `bytes` of http.max_body_bytes_in_flight; false when that would pass it.
    bool reserve_body_bytes(std::size_t bytes) noexcept;
    void release_body_bytes(std::size_t bytes) noexcept;
    /// Logs a refusal of `kind` at most once per http.refusal_log_interval_ms (with how many
    /// went unlogged), so a flood cannot fill the disk or the CPU with log lines.
    void log_refusal(std::string_view kind, std::string_view detail);

  private:
    boost::asio::awaitable<void> accept_loop();
    /// Whether a connection from `client` may be served, closing another when that makes room.
    /// Called with mutex_ held.
    bool admit_connection(const std::string& client);
    /// The connection to close for room among `unauthenticated` and `devices` (ids, oldest
    /// first), as the class comment says; nullopt when none may be. Called with mutex_ held.
    std::optional<std::uint64_t> eviction_candidate(
        const std::set<std::uint64_t>& unauthenticated, const std::set<std::uint64_t>& devices
    ) const;
    /// Closes it, and takes it out of every candidate set at once. Called with mutex_ held.
    void evict(std::uint64_t id);

    struct tracked_session {
        std::weak_ptr<http_session> session;
        std::string client;
        connection_class kind = connection_class::unauthenticated;
    };
    /// One address's connections: its count and its candidates for eviction, oldest first.
    struct client_connections {
        std::size_t open = 0;
        std::set<std::uint64_t> unauthenticated, devices;
    };
    struct refusal_log {
        std::chrono::steady_clock::time_point last{};
        std::size_t unlogged = 0;
    };

    boost::asio::io_context& ioc_;
    const config::config& cfg_;
    api::dispatcher& dispatcher_;
    feed::feed_service& feed_;
    const http::static_files& files_;
    metrics::http_metrics& metrics_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::atomic<std::size_t> open_{0};
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::uint64_t next_id_ = 0;
    std::unordered_map<std::uint64_t, tracked_session> sessions_;
    std::set<std::uint64_t> unauthenticated_;  // session ids, oldest first
    std::set<std::uint64_t> devices_;          // connections of gateway and monitor keys, oldest first
    std::unordered_map<std::string, client_connections> per_client_;
    std::atomic<std::size_t> body_bytes_{0};
    std::mutex log_mutex_;
    std::map<std::string, refusal_log, std::less<>> refusal_logs_;
};

}  // namespace cityguard::http
