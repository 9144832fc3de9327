#pragma once
// Private to http/: one WebSocket connection of the live feed (GET /api/v1/feed).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "cityguard/auth/key_service.hpp"
#include "cityguard/feed/feed_service.hpp"
#include "cityguard/util/rate_limit.hpp"

namespace cityguard::http {

/// Close codes of the feed besides the standard ones.
inline constexpr std::uint16_t kCloseUnauthorized = 4401;
inline constexpr std::uint16_t kCloseForbidden = 4403;
inline constexpr std::uint16_t kCloseSlowConsumer = 4008;
inline constexpr std::uint16_t kCloseTryAgainLater = 1013;
inline constexpr std::uint16_t kCloseTooManyMessages = 4029;

/// Speaks the feed protocol (docs/api.md) on one connection. Everything runs on the
/// connection's strand: the hub's deliveries are posted onto it, so the session's state needs
/// no lock. Outgoing messages wait in a queue bounded by feed.max_queued_messages; a client
/// that lets it fill is closed with 4008 rather than allowed to hold memory or slow anyone.
///
/// While a subscription loads its starting point from the database, live events are held
/// back; those at or below the loaded position are dropped, the rest sent after it, so the
/// client sees every event once, in seq order.
class feed_session final : public feed::subscriber, public std::enable_shared_from_this<feed_session> {
  public:
    /// `client` is the peer's address; `on_authenticated` runs (on the strand) once a key was accepted.
    feed_session(
        boost::beast::tcp_stream stream,
        feed::feed_service& service,
        std::string client,
        std::function<void()> on_authenticated
    );
    ~feed_session() override;

    /// Accepts the upgrade and serves the connection until it closes.
    boost::asio::awaitable<void> run(boost::beast::http::request<boost::beast::http::string_body> upgrade);
    /// Thread-safe: closes with 1001 (going away).
    void shutdown();

    // feed::subscriber: any thread.
    void deliver(feed::event_batch batch) override;
    void deliver_reading(feed::message reading) override;

  private:
    boost::asio::awaitable<void> write_loop();
    boost::asio::awaitable<void> close_after(std::chrono::milliseconds delay, bool only_if_unauthenticated);
    boost::asio::awaitable<void> handle(std::string text);
    boost::asio::awaitable<void> subscribe(feed::client_message m);
    void accept_principal(const std::optional<auth::principal>& who);
    void consider(const feed::event& e);
    void send(feed::message m);
    void send(std::string text);
    /// A message the hub built once for many connections (its bytes are counted there).
    void send_shared(feed::message m);
    /// Queues `m` within feed.max_queued_bytes/messages and feed.max_output_bytes_total; false
    /// when it was not queued. A snapshot that would pass the total is refused (the caller tells
    /// the client); anything else that cannot be queued closes the connection with 4008.
    bool queue(feed::message m, bool snapshot, bool shared = false);
    /// Drops what waits in out_ (not the message being written), giving its bytes back.
    void drop_queued();
    void request_close(std::uint16_t code, std::string reason);
    boost::asio::awaitable<void> watch_writes();

    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    feed::feed_service& service_;
    boost::asio::steady_timer wake_;
    boost::asio::steady_timer auth_timer_;
    boost::asio::steady_timer close_timer_;
    boost::asio::steady_timer send_timer_;  // wakes watch_writes()
    // Beast 1.81 can park a read that fails the connection and our close in each other's
    // lock for good (each holds the lock the other waits for); closing the socket does not
    // wake either. A terminal cancellation does, so the session can always end.
    boost::asio::cancellation_signal read_cancel_;
    boost::asio::cancellation_signal close_cancel_;
    std::uint64_t writes_started_ = 0;
    bool writing_ = false;
    std::string client_;
    std::function<void()> on_authenticated_;
    util::token_bucket client_messages_;
    struct queued {
        feed::message text;
        std::size_t charge;  // what it adds to feed_service's total: its size, or this entry for a shared one
    };
    std::deque<queued> out_;
    std::size_t out_bytes_ = 0;      // queued + being written: this connection's backlog
    std::size_t charged_ = 0;        // the same, as counted in feed_service's total
    std::size_t writing_bytes_ = 0;  // the message being written
    bool authenticated_ = false;
    bool subscribed_ = false;
    bool loading_ = false;
    bool close_requested_ = false;
    std::optional<std::pair<std::uint16_t, std::string>> close_reason_;
    bool done_ = false;
    bool in_hub_ = false;
    feed::filter filter_;
    auth::scope scope_;  // the signed-in caller's part of the city: nothing outside it is sent
    std::int64_t position_ = 0;
    std::vector<feed::event_batch> held_;  // live batches that arrived while loading
    std::size_t held_events_ = 0;
};

}  // namespace cityguard::http
