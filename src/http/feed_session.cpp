#include "feed_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "cityguard/api/errors.hpp"
#include "cityguard/api/request.hpp"
#include "cityguard/util/error.hpp"
#include "use_tuple.hpp"

namespace cityguard::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using json = nlohmann::json;

namespace {

// A browser names the page's origin on every WebSocket upgrade; a cookie-authenticated feed
// opened by a page of another site ("cross-site WebSocket hijacking") names another host.
bool same_origin(const beast::http::request<beast::http::string_body>& upgrade) {
    const auto origin = upgrade[beast::http::field::origin];
    if (origin.empty()) return true;  // not a browser: it has no cookie of ours to ride on
    const auto scheme_end = origin.find("://");
    if (scheme_end == std::string_view::npos) return false;
    return origin.substr(scheme_end + 3) == upgrade[beast::http::field::host];
}

}  // namespace

feed_session::feed_session(
    beast::tcp_stream stream, feed::feed_service& service, std::string client, std::function<void()> on_authenticated
)
    : ws_(std::move(stream)),
      service_(service),
      wake_(ws_.get_executor()),
      auth_timer_(ws_.get_executor()),
      close_timer_(ws_.get_executor()),
      send_timer_(ws_.get_executor()),
      client_(std::move(client)),
      on_authenticated_(std::move(on_authenticated)),
      client_messages_(
          service.config().max_client_messages_per_s,
          2.0 * service.config().max_client_messages_per_s,
          std::chrono::steady_clock::now()
      ) {
    service_.measured().opened.add();
    service_.session_started();
}

feed_session::~feed_session() {
    service_.remove_output(charged_);  // normally nothing is left: every write has ended
    service_.session_ended();
    service_.measured().ended.add();
}

net::awaitable<void> feed_session::run(beast::http::request<beast::http::string_body> upgrade) {
    auto self = shared_from_this();
    const auto& cfg = service_.config();
    beast::get_lowest_layer(ws_).expires_never();  // the WebSocket timeouts below take over
    if (cfg.socket_send_buffer > 0) {
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().set_option(
            net::socket_base::send_buffer_size(static_cast<int>(cfg.socket_send_buffer)), ignored
        );
    }
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::milliseconds(cfg.close_timeout_ms);
    timeouts.idle_timeout = std::chrono::milliseconds(cfg.idle_timeout_ms);
    timeouts.keep_alive_pings = true;  // a ping at half the idle time; silence for the whole closes
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
        res.set(beast::http::field::server, "cityguard/" CITYGUARD_VERSION);
    }));
    ws_.read_message_max(cfg.max_message_bytes);
    ws_.text(true);

    auto [aec] = co_await ws_.async_accept(upgrade, kUseTuple);
    if (aec) co_return;
    net::co_spawn(ws_.get_executor(), write_loop(), net::detached);
    net::co_spawn(ws_.get_executor(), watch_writes(), net::detached);

    const auto header = upgrade[beast::http::field::authorization];
    const auto session = api::cookie_value(upgrade[beast::http::field::cookie], api::kSessionCookie);
    if (!header.empty() || session) {
        std::optional<auth::principal> who;
        bool checked = true;
        try {
            if (!header.empty())
                who = co_await service_.authenticate(std::string(header), client_);
            else if (same_origin(upgrade))  // a page of another site cannot ride on the cookie
                who = co_await service_.authenticate_session(std::move(*session));
        } catch (const std::exception&) {
            checked = false;
        }
        if (checked)
            accept_principal(who);
        else
            request_close(kCloseTryAgainLater, "could not check the key; try again");
    } else {
        net::co_spawn(
            ws_.get_executor(), close_after(std::chrono::milliseconds(cfg.auth_timeout_ms), true), net::detached
        );
    }

    beast::flat_buffer buffer;
    for (;;) {
        auto read_token = net::bind_cancellation_slot(read_cancel_.slot(), kUseTuple);
        auto [ec, n] = co_await ws_.async_read(buffer, std::move(read_token));
        if (ec) {
            spdlog::debug("feed client {}: read ended: {}", client_, ec.message());
            if (ec == websocket::error::message_too_big)
                request_close(websocket::close_code::too_big, "message too big");
            break;
        }
        std::string text = beast::buffers_to_string(buffer.data());
        buffer.consume(buffer.size());
        if (close_requested_) continue;  // draining until the close handshake completes
        if (!client_messages_.try_take(std::chrono::steady_clock::now())) {
            request_close(kCloseTooManyMessages, "too many messages (feed.max_client_messages_per_s)");
            continue;
        }
        co_await handle(std::move(text));
    }

    done_ = true;
    if (in_hub_) service_.events().remove(this);
    held_.clear();
    drop_queued();
    auth_timer_.cancel();
    close_timer_.cancel();
    send_timer_.cancel();
    wake_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
}

void feed_session::shutdown() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
        self->request_close(websocket::close_code::going_away, "server shutting down");
    });
}

void feed_session::deliver(feed::event_batch batch) {
    net::post(ws_.get_executor(), [self = shared_from_this(), batch = std::move(batch)]() mutable {
        if (self->done_ || self->close_requested_ || !self->subscribed_) return;
        if (self->loading_) {
            self->held_events_ += batch->size();
            if (self->held_events_ > self->service_.config().max_queued_messages) {
                self->request_close(kCloseSlowConsumer, "slow consumer");
                return;
            }
            self->held_.push_back(std::move(batch));
            return;
        }
        for (const auto& e : *batch) self->consider(e);
    });
}

void feed_session::deliver_reading(feed::message reading) {
    net::post(ws_.get_executor(), [self = shared_from_this(), reading = std::move(reading)]() mutable {
        if (!self->done_ && self->authenticated_) self->send_shared(std::move(reading));
    });
}

void feed_session::consider(const feed::event& e) {
    if (e.seq <= position_) return;  // already sent, or part of what was loaded
    position_ = e.seq;
    if (filter_.matches(e.level, e.peak_level, e.domain, e.site) && service_.covers(scope_, e.site))
        send_shared(e.text);
}

void feed_session::send(std::string text) { send(std::make_shared<const std::string>(std::move(text))); }

void feed_session::send(feed::message m) { queue(std::move(m), false); }

void feed_session::send_shared(feed::message m) { queue(std::move(m), false, true); }

// The per-connection bounds count the bytes this connection is behind by; the total counts
// memory, where an event sent to a thousand connections is one string and a thousand entries.
bool feed_session::queue(feed::message m, bool snapshot, bool shared) {
    if (done_ || close_requested_) return false;
    const auto& cfg = service_.config();
    const std::size_t size = m->size();
    const std::size_t charge = shared ? sizeof(queued) : size;
    const std::size_t waiting = out_bytes_ - writing_bytes_;
    if (out_.size() >= cfg.max_queued_messages || (waiting > 0 && waiting + size > cfg.max_queued_bytes)) {
        request_close(kCloseSlowConsumer, "slow consumer");
        return false;
    }
    if (service_.output_full(charge)) {
        if (snapshot) return false;
        // Largest first: a connection holding more than its share goes; one within its share
        // still gets its live events, so the total stays under twice the budget.
        if (charged_ + charge > service_.output_share()) {
            request_close(kCloseSlowConsumer, "slow consumer: the feed's output is full (feed.max_output_bytes_total)");
            return false;
        }
    }
    out_bytes_ += size;
    charged_ += charge;
    service_.add_output(charge);
    out_.push_back({std::move(m), charge});
    if (out_.size() == 1) wake_.cancel();
    return true;
}

void feed_session::drop_queued() {
    for (const auto& q : out_) {
        out_bytes_ -= q.text->size();
        charged_ -= q.charge;
        service_.remove_output(q.charge);
    }
    out_.clear();
}

void feed_session::request_close(std::uint16_t code, std::string reason) {
    if (done_ || close_requested_) return;
    spdlog::debug("feed client {}: closing with {} ({})", client_, code, reason);
    service_.measured().closes.add({std::to_string(code)});
    if (code == kCloseSlowConsumer) service_.measured().slow_consumer_closes.add();
    close_requested_ = true;
    close_reason_.emplace(code, std::move(reason));
    drop_queued();  // what was queued will not be sent; a resume with `since` fetches it again
    held_.clear();
    if (in_hub_) {
        service_.events().remove(this);
        in_hub_ = false;
    }
    wake_.cancel();
    net::co_spawn(
        ws_.get_executor(),
        close_after(std::chrono::milliseconds(service_.config().close_timeout_ms), false),
        net::detached
    );
}

net::awaitable<void> feed_session::close_after(std::chrono::milliseconds delay, bool only_if_unauthenticated) {
    auto self = shared_from_this();
    auto& timer = only_if_unauthenticated ? auth_timer_ : close_timer_;
    timer.expires_after(delay);
    auto [ec] = co_await timer.async_wait(kUseTuple);
    if (ec || done_) co_return;
    if (only_if_unauthenticated) {
        if (!authenticated_) request_close(kCloseUnauthorized, "authentication required");
        co_return;
    }
    // The close handshake did not finish (a peer that stopped reading, or Beast's read and
    // close waiting for each other): drop the connection and wake whatever is parked.
    spdlog::debug("feed client {}: close handshake timed out; dropping the connection", client_);
    beast::get_lowest_layer(ws_).close();
    read_cancel_.emit(net::cancellation_type::terminal);
    close_cancel_.emit(net::cancellation_type::terminal);
}

net::awaitable<void> feed_session::write_loop() {
    auto self = shared_from_this();
    while (!done_) {
        if (close_reason_) {
            websocket::close_reason why;
            why.code = close_reason_->first;
            why.reason = close_reason_->second;
            auto close_token = net::bind_cancellation_slot(close_cancel_.slot(), kUseTuple);
            co_await ws_.async_close(why, std::move(close_token));
            co_return;
        }
        if (out_.empty()) {
            wake_.expires_at(net::steady_timer::time_point::max());
            co_await wake_.async_wait(kUseTuple);
            continue;
        }
        queued next = std::move(out_.front());
        out_.pop_front();
        writing_ = true;
        writing_bytes_ = next.text->size();
        ++writes_started_;
        auto [ec, n] = co_await ws_.async_write(net::buffer(*next.text), kUseTuple);
        writing_ = false;
        writing_bytes_ = 0;
        out_bytes_ -= next.text->size();
        charged_ -= next.charge;
        service_.remove_output(next.charge);
        if (ec) co_return;
        service_.measured().messages_sent.add();
    }
}

net::awaitable<void> feed_session::watch_writes() {
    // One wake-up per feed.send_timeout_ms, not a timer per message (that cost fan-out 60 %): a
    // write still in flight that was already in flight at the previous wake-up has made no
    // progress for at least the timeout.
    auto self = shared_from_this();
    std::uint64_t in_flight_before = 0;
    while (!done_) {
        send_timer_.expires_after(std::chrono::milliseconds(service_.config().send_timeout_ms));
        auto [ec] = co_await send_timer_.async_wait(kUseTuple);
        if (ec || done_) co_return;
        if (writing_ && writes_started_ == in_flight_before) {
            // A peer that takes nothing holds memory for nothing: drop it. (A close frame would
            // queue behind the stuck write.)
            spdlog::info("feed client {} took no data for feed.send_timeout_ms: dropped", client_);
            beast::get_lowest_layer(ws_).close();
            co_return;
        }
        in_flight_before = writing_ ? writes_started_ : 0;
    }
}

void feed_session::accept_principal(const std::optional<auth::principal>& who) {
    if (!who) {
        request_close(kCloseUnauthorized, "invalid key");
        return;
    }
    if (!auth::is_person_role(who->role)) {
        request_close(
            kCloseForbidden, "the feed is for people: a viewer, operator, enterprise or admin key or session"
        );
        return;
    }
    if (who->must_enrol_second_factor) {
        request_close(kCloseForbidden, "enrol a second factor first");
        return;
    }
    scope_ = who->scope;
    authenticated_ = true;
    auth_timer_.cancel();
    if (on_authenticated_) on_authenticated_();
    send(json{{"type", "authenticated"}, {"name", who->name}, {"role", auth::to_string(who->role)}}.dump(
        -1, ' ', false, json::error_handler_t::replace
    ));
}

net::awaitable<void> feed_session::handle(std::string text) {
    feed::client_message m;
    try {
        m = feed::parse_client_message(text, service_.json_max_depth());
    } catch (const api_error& e) {
        if (!authenticated_) {
            request_close(kCloseUnauthorized, "the first message must be {\"type\":\"auth\",\"token\":...}");
            co_return;
        }
        send(feed::error_message(to_code(e.code()), e.what()));
        co_return;
    }
    if (!authenticated_) {
        if (m.type != feed::client_message::kind::auth) {
            request_close(kCloseUnauthorized, "the first message must be {\"type\":\"auth\",\"token\":...}");
            co_return;
        }
        std::optional<auth::principal> who;
        try {
            who = co_await service_.authenticate(m.token, client_);
        } catch (const std::exception&) {
            // Not the key's fault: the database could not be asked. 1013 tells the client to retry.
            request_close(kCloseTryAgainLater, "could not check the key; try again");
            co_return;
        }
        accept_principal(who);
        co_return;
    }
    switch (m.type) {
        case feed::client_message::kind::auth:
            send(feed::error_message("bad_request", "already authenticated"));
            break;
        case feed::client_message::kind::subscribe:
            co_await subscribe(std::move(m));
            break;
        case feed::client_message::kind::subscribe_readings: {
            auto& hub = service_.events();
            if (hub.followed_by(this) + m.sensors.size() > service_.config().max_reading_sensors) {
                send(feed::error_message(
                    "bad_request",
                    "at most feed.max_reading_sensors (" + std::to_string(service_.config().max_reading_sensors) +
                        ") sensors per connection"
                ));
                break;
            }
            if (!in_hub_) {
                hub.add(shared_from_this());
                in_hub_ = true;
            }
            // A sensor outside the caller's scope is as unknown as one that does not exist.
            std::vector<std::string> outside;
            std::erase_if(m.sensors, [&](const std::string& sensor) {
                const bool out = !service_.covers_sensor(scope_, sensor);
                if (out) outside.push_back(sensor);
                return out;
            });
            auto unknown = hub.follow_readings(this, m.sensors);
            unknown.insert(unknown.end(), outside.begin(), outside.end());
            if (!unknown.empty()) send(feed::error_message("not_found", "unknown sensor(s): " + json(unknown).dump()));
            send(json{{"type", "readings_subscribed"}, {"sensors", hub.followed_by(this)}}.dump());
            break;
        }
        case feed::client_message::kind::unsubscribe_readings:
            service_.events().unfollow_readings(this, m.sensors);
            send(json{{"type", "readings_subscribed"}, {"sensors", service_.events().followed_by(this)}}.dump());
            break;
    }
}

net::awaitable<void> feed_session::subscribe(feed::client_message m) {
    auto self = shared_from_this();
    filter_ = std::move(m.wanted);
    subscribed_ = true;
    loading_ = true;
    held_.clear();
    held_events_ = 0;
    if (!in_hub_) {
        service_.events().add(self);
        in_hub_ = true;
    }
    feed::catch_up start;
    const auto refuse_snapshot = [this] {
        loading_ = false;
        subscribed_ = false;
        held_.clear();
        held_events_ = 0;
        send(feed::error_message(
            "overloaded",
            "subscription not started: the feed is at its limit (feed.max_output_bytes_total, "
            "feed.max_concurrent_loads); retry in a moment"
        ));
    };
    if (service_.output_full(0) || !service_.try_start_load()) {  // before any database work
        refuse_snapshot();
        co_return;
    }
    struct end_load {
        feed::feed_service& service;
        ~end_load() { service.end_load(); }
    } loading{service_};
    try {
        start = co_await service_.load(m.since, filter_, scope_);
    } catch (const api_error& e) {
        loading_ = false;
        subscribed_ = false;
        send(feed::error_message(to_code(e.code()), std::string("subscription not started: ") + e.what()));
        co_return;
    } catch (const store::error& e) {
        loading_ = false;
        subscribed_ = false;
        send(feed::error_message(to_code(api::to_errc(e.kind())), std::string("subscription not started: ") + e.what())
        );
        co_return;
    } catch (const std::exception& e) {
        loading_ = false;
        subscribed_ = false;
        send(feed::error_message("unavailable", "subscription not started: database unavailable"));
        co_return;
    }
    if (done_ || close_requested_) co_return;
    position_ = m.since.value_or(0);
    if (!start.snapshot.empty()) {
        if (!queue(std::make_shared<const std::string>(std::move(start.snapshot)), true)) {
            if (!close_requested_) refuse_snapshot();
            co_return;
        }
        position_ = start.seq;
    } else {
        std::size_t sent = 0;
        for (const auto& e : start.replayed) {
            position_ = e.seq;
            if (filter_.matches(e.level, e.peak_level, e.domain, e.site) && service_.covers(scope_, e.site)) {
                send(e.text);
                ++sent;
            }
        }
        position_ = std::max(position_, start.seq);
        send(json{{"type", "resumed"}, {"since", *m.since}, {"seq", position_}, {"events", sent}}.dump());
    }
    loading_ = false;
    auto held = std::move(held_);
    held_.clear();
    held_events_ = 0;
    for (const auto& batch : held)
        for (const auto& e : *batch) consider(e);
}

}  // namespace cityguard::http
