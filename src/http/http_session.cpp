#include "http_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>

#include "cityguard/http/server.hpp"
#include "cityguard/util/error.hpp"
#include "feed_session.hpp"

namespace cityguard::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using namespace std::chrono_literals;

namespace {

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

bhttp::response<bhttp::string_body> to_beast(api::response res, unsigned version, bool keep_alive) {
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
    out.set(bhttp::field::server, "cityguard/" CITYGUARD_VERSION);
    if (!res.body.empty() || res.status != 204) out.set(bhttp::field::content_type, res.content_type);
    out.set(bhttp::field::cache_control, "no-store");
    for (auto& [name, value] : res.headers) out.set(name, value);
    out.keep_alive(keep_alive);
    out.body() = std::move(res.body);
    out.prepare_payload();
    return out;
}

/// An error answered before the request reached the dispatcher; the connection closes after it.
bhttp::response<bhttp::string_body> early_error(errc code, std::string_view message, unsigned version) {
    return to_beast(api::error_response(code, message), version, false);
}

/// A dashboard file, with revalidation: the page's files carry no version in their names, so
/// browsers ask each time (If-None-Match) and get a 304 when nothing changed.
bhttp::response<bhttp::string_body> static_response(
    const web::file& f, const bhttp::request<bhttp::string_body>& req, bool keep_alive
) {
    const bool unchanged = req[bhttp::field::if_none_match] == f.etag;
    bhttp::response<bhttp::string_body> out{unchanged ? bhttp::status::not_modified : bhttp::status::ok, req.version()};
    out.set(bhttp::field::server, "cityguard/" CITYGUARD_VERSION);
    out.set(bhttp::field::content_type, f.content_type);
    out.set(bhttp::field::etag, f.etag);
    out.set(bhttp::field::cache_control, "no-cache");
    out.set("X-Content-Type-Options", "nosniff");
    out.set(
        "Content-Security-Policy",
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: http: https:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    );
    out.keep_alive(keep_alive);
    if (!unchanged && req.method() != bhttp::verb::head) out.body() = f.body;
    out.prepare_payload();
    if (req.method() == bhttp::verb::head) out.content_length(f.body.size());
    return out;
}

/// A request the parser refused (as opposed to a closed, reset or timed-out connection).
bool malformed(const beast::error_code& ec) {
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
           ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

}  // namespace

http_session::http_session(net::ip::tcp::socket socket, server& owner, std::uint64_t id)
    : stream_(std::move(socket)), owner_(owner), id_(id) {}

void http_session::start() {
    net::co_spawn(
        stream_.get_executor(),
        [self = shared_from_this()] { return self->run(); },
        [self = shared_from_this()](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    spdlog::error("http session ended by exception: {}", ex.what());
                }
            }
            self->owner_.on_session_closed(self->id_);
        }
    );
}

void http_session::shutdown() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
        self->stopping_ = true;
        if (self->upgraded_)
            self->upgraded_->shutdown();
        else if (!self->busy_)
            self->stream_.cancel();
    });
}

net::awaitable<void> http_session::run() {
    const auto& cfg = owner_.http_config();
    beast::flat_buffer buffer;
    while (!stopping_) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(cfg.header_limit));
        parser.body_limit(cfg.body_limit);

        busy_ = false;
        stream_.expires_after(std::chrono::milliseconds(cfg.idle_timeout_ms));
        auto [hec, hn] = co_await bhttp::async_read_header(stream_, buffer, parser, kUseTuple);
        if (hec) {
            if (hec == bhttp::error::body_limit) {
                // Beast checks Content-Length against the limit while reading the header.
                co_await bhttp::async_write(
                    stream_, early_error(errc::payload_too_large, "body exceeds http.body_limit", 11), kUseTuple
                );
            } else if (hec == bhttp::error::header_limit) {
                co_await bhttp::async_write(
                    stream_, early_error(errc::bad_request, "request headers too large", 11), kUseTuple
                );
            } else if (malformed(hec)) {
                co_await bhttp::async_write(
                    stream_, early_error(errc::bad_request, "malformed HTTP request", 11), kUseTuple
                );
            }
            break;  // closed by the client, idle timeout, or shutdown
        }
        busy_ = true;
        const auto started = std::chrono::steady_clock::now();
        auto& header = parser.get();
        const unsigned version = header.version();

        if (auto len = parser.content_length(); len && *len > cfg.body_limit) {
            // Refuse before reading: the body may be far larger than we are willing to buffer.
            co_await bhttp::async_write(
                stream_, early_error(errc::payload_too_large, "body exceeds http.body_limit", version), kUseTuple
            );
            break;
        }
        if (bhttp::token_list{header[bhttp::field::expect]}.exists("100-continue")) {
            bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, version};
            auto [cec, cn] = co_await bhttp::async_write(stream_, cont, kUseTuple);
            if (cec) break;
        }
        stream_.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
        auto [bec, bn] = co_await bhttp::async_read(stream_, buffer, parser, kUseTuple);
        if (bec) {
            if (bec == bhttp::error::body_limit)
                co_await bhttp::async_write(
                    stream_, early_error(errc::payload_too_large, "body exceeds http.body_limit", version), kUseTuple
                );
            else if (malformed(bec))
                co_await bhttp::async_write(
                    stream_, early_error(errc::bad_request, "malformed HTTP request", version), kUseTuple
                );
            break;
        }

        auto req_msg = parser.release();
        api::request req;
        req.method = std::string(req_msg.method_string());
        const std::string target(req_msg.target());
        api::response res;
        const bool parsed = api::parse_target(target, req.path, req.query);
        if (parsed && req.path == "/api/v1/feed" && websocket::is_upgrade(req_msg)) {
            upgraded_ = std::make_shared<feed_session>(std::move(stream_), owner_.feed());
            co_await upgraded_->run(std::move(req_msg));
            co_return;  // the feed session closed the connection
        }
        const bool is_get = req_msg.method() == bhttp::verb::get || req_msg.method() == bhttp::verb::head;
        if (parsed && is_get && req.path.rfind("/api/", 0) != 0 && owner_.files().enabled()) {
            const bool keep_alive = req_msg.keep_alive() && !stopping_;
            if (const auto* f = owner_.files().find(req.path)) {
                auto out = static_response(*f, req_msg, keep_alive);
                stream_.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
                auto [wec, wn] = co_await bhttp::async_write(stream_, out, kUseTuple);
                if (wec || !keep_alive) break;
                continue;
            }
        }
        if (!parsed) {
            res = api::error_response(errc::bad_request, "malformed request target");
        } else if (req.path == "/api/v1/feed") {
            res = api::error_response(errc::bad_request, "GET /api/v1/feed is a WebSocket endpoint; send an upgrade");
            res.status = 426;
            res.headers.emplace_back("Upgrade", "websocket");
        } else {
            req.authorization = std::string(req_msg[bhttp::field::authorization]);
            req.content_type = std::string(req_msg[bhttp::field::content_type]);
            req.body = std::move(req_msg.body());
            res = co_await owner_.dispatcher().handle(std::move(req));
        }
        const int status = res.status;
        const bool keep_alive = req_msg.keep_alive() && !stopping_;
        auto out = to_beast(std::move(res), version, keep_alive);
        stream_.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
        auto [wec, wn] = co_await bhttp::async_write(stream_, out, kUseTuple);
        spdlog::debug(
            "{} {} -> {} in {} us",
            req_msg.method_string(),
            target,
            status,
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count()
        );
        if (wec || !keep_alive) break;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    stream_.close();
}

}  // namespace cityguard::http
