#pragma once
// Private to http/: one HTTP/1.1 connection.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>

namespace cityguard::http {

class server;
class feed_session;

/// Reads requests, hands each to the dispatcher, writes the response; repeats while the
/// client keeps the connection alive. Everything runs on the connection's strand.
class http_session : public std::enable_shared_from_this<http_session> {
  public:
    http_session(boost::asio::ip::tcp::socket socket, server& owner, std::uint64_t id);

    /// Spawns the session coroutine on the connection's strand.
    void start();
    /// Thread-safe: close now if idle, otherwise after the response in progress.
    void shutdown();

  private:
    boost::asio::awaitable<void> run();

    boost::beast::tcp_stream stream_;
    server& owner_;
    std::uint64_t id_;
    std::shared_ptr<feed_session> upgraded_;  // set once the connection became a feed WebSocket
    bool busy_ = false;
    bool stopping_ = false;
};

}  // namespace cityguard::http
