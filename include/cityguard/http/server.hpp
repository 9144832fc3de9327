#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "cityguard/api/router.hpp"
#include "cityguard/config/config.hpp"
#include "cityguard/feed/feed_service.hpp"
#include "cityguard/web/static_files.hpp"

namespace cityguard::http {

class http_session;

/// Accepts HTTP/1.1 connections and runs one session per connection, each on its own strand.
/// Tracks its sessions so that stop() can drain them: stop accepting, let each finish the
/// request it is serving, close idle keep-alive connections.
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
        const web::static_files& files
    );
    ~server();

    /// Binds cfg.listen_host:listen_port and starts accepting. Throws boost::system::system_error.
    void start();
    /// The bound port (useful with port 0).
    std::uint16_t port() const noexcept { return port_; }
    /// Stops accepting and asks every connection to close after its current response.
    void stop();
    /// Connections still open.
    std::size_t connections() const noexcept { return open_.load(); }

    // For sessions:
    const config::http_config& http_config() const noexcept { return cfg_.http; }
    api::dispatcher& dispatcher() noexcept { return dispatcher_; }
    feed::feed_service& feed() noexcept { return feed_; }
    const web::static_files& files() const noexcept { return files_; }
    void on_session_closed(std::uint64_t id);

  private:
    boost::asio::awaitable<void> accept_loop();

    boost::asio::io_context& ioc_;
    const config::config& cfg_;
    api::dispatcher& dispatcher_;
    feed::feed_service& feed_;
    const web::static_files& files_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::atomic<std::size_t> open_{0};
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::uint64_t next_id_ = 0;
    std::unordered_map<std::uint64_t, std::weak_ptr<http_session>> sessions_;
};

}  // namespace cityguard::http
