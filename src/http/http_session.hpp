#pragma once
// Private to http/: one HTTP/1.1 connection.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "cityguard/api/request.hpp"
#include "cityguard/http/server.hpp"
#include "cityguard/util/error.hpp"

namespace cityguard::http {

class server;
class feed_session;

/// Reads requests, hands each to the dispatcher, writes the response; repeats while the
/// client keeps the connection alive. Everything runs on the connection's strand.
class http_session : public std::enable_shared_from_this<http_session> {
  public:
    /// `client` is the peer's address.
    http_session(boost::asio::ip::tcp::socket socket, server& owner, std::uint64_t id, std::string client);

    /// Spawns the session coroutine on the connection's strand.
    void start();
    /// Thread-safe: close now if idle, otherwise after the response in progress.
    void shutdown();
    /// Thread-safe: close now (room for others) unless it became a person's connection, or a
    /// device's got busy with a request, meanwhile.
    void evict();
    /// Thread-safe: waiting for the next request (or the first), with no request in hand.
    bool idle() const noexcept { return idle_.load(std::memory_order_relaxed); }

  private:
    struct exchange;
    enum class next { keep_reading, close, upgraded };

    /// The connection's loop: read a header, handle the request, until close.
    boost::asio::awaitable<void> run();
    /// Reads until `buffer` holds a whole header block (ending in an empty line); second: its
    /// size. no_buffer_space when http.header_limit passes first.
    boost::asio::awaitable<std::pair<boost::beast::error_code, std::size_t>> read_header_block(
        boost::beast::flat_buffer& buffer
    );
    /// One request whose header has been read: a feed upgrade, a dashboard file or an API call.
    boost::asio::awaitable<next> handle(boost::beast::flat_buffer& buffer, exchange& x);
    /// Admits an API request, reads its body within the budget, serves it. nullopt: the body
    /// could not be read and the connection is to close (any answer was written already).
    boost::asio::awaitable<std::optional<api::response>> answer_api(
        boost::beast::flat_buffer& buffer, exchange& x, api::request req, std::uint64_t content_length
    );
    /// Reads the rest of the request. First: whether it failed; second: the answer to give
    /// before closing, if any (413, 400).
    boost::asio::awaitable<std::pair<bool, std::optional<api::response>>> read_body(
        boost::beast::flat_buffer& buffer,
        boost::beast::http::request_parser<boost::beast::http::string_body>& parser,
        unsigned version
    );
    /// False when the write failed.
    boost::asio::awaitable<bool> write_response(api::response& res, unsigned version, bool keep_alive);
    boost::asio::awaitable<void> write_error(errc code, std::string_view message, unsigned version);
    void mark_authenticated(connection_class c);

    boost::beast::tcp_stream stream_;
    server& owner_;
    std::uint64_t id_;
    std::string client_;
    connection_class class_ = connection_class::unauthenticated;
    std::atomic<bool> idle_{true};
    std::shared_ptr<feed_session> upgraded_;  // set once the connection became a feed WebSocket
    bool busy_ = false;
    bool stopping_ = false;
};

}  // namespace cityguard::http
