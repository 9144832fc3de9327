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
#include <functional>

#include "cityguard/http/server.hpp"
#include "cityguard/util/error.hpp"
#include "feed_session.hpp"
#include "use_tuple.hpp"

namespace cityguard::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using namespace std::chrono_literals;

namespace {

double seconds_since(std::chrono::steady_clock::time_point started) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

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

http_session::http_session(net::ip::tcp::socket socket, server& owner, std::uint64_t id, std::string client)
    : stream_(std::move(socket)), owner_(owner), id_(id), client_(std::move(client)) {}

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
                } catch (...) {
                    spdlog::error("http session ended by an unknown exception");
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

void http_session::evict() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
        if (self->authenticated_) return;
        self->stopping_ = true;
        if (self->upgraded_) {
            self->upgraded_->shutdown();
            return;
        }
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
    });
}

void http_session::mark_authenticated() {
    if (authenticated_) return;
    authenticated_ = true;
    owner_.on_session_authenticated(id_);
}

namespace {

/// Bytes of http.max_body_bytes_in_flight held for one request's body, given back when done.
class body_reservation {
  public:
    explicit body_reservation(server& owner) : owner_(owner) {}
    ~body_reservation() { owner_.release_body_bytes(bytes_); }
    body_reservation(const body_reservation&) = delete;
    body_reservation& operator=(const body_reservation&) = delete;

    bool add(std::uint64_t bytes) {
        if (!owner_.reserve_body_bytes(static_cast<std::size_t>(bytes))) return false;
        bytes_ += static_cast<std::size_t>(bytes);
        return true;
    }

  private:
    server& owner_;
    std::size_t bytes_ = 0;
};

}  // namespace

/// One request on this connection: its parser and the share of the body budget it holds.
struct http_session::exchange {
    explicit exchange(server& owner) : owner(owner) {
        const auto& cfg = owner.http_config();
        parser.header_limit(static_cast<std::uint32_t>(cfg.header_limit));
        parser.body_limit(cfg.body_limit);
        // Chunked bodies reserve their budget chunk by chunk, as each chunk is announced.
        parser.on_chunk_header(on_chunk);
    }
    exchange(const exchange&) = delete;
    exchange& operator=(const exchange&) = delete;

    server& owner;
    std::size_t metrics_slot = owner.metrics().unrouted_slot();  // the route, once admission named one
    std::optional<body_reservation> reservation;                 // from admission on
    bool over_budget = false;                                    // a chunk did not fit the budget
    std::function<void(std::uint64_t, std::string_view, beast::error_code&)> on_chunk =
        [this](std::uint64_t size, std::string_view, beast::error_code& ec) {
            if (reservation && !reservation->add(size)) {
                over_budget = true;
                ec = net::error::no_buffer_space;
            }
        };
    bhttp::request_parser<bhttp::string_body> parser;
};

net::awaitable<void> http_session::run() {
    const auto& cfg = owner_.http_config();
    // The read buffer holds at most one header block: the parser copies body bytes out as they
    // arrive, so only a chunk-size line or the trailer must fit whole. Bounding it bounds both
    // (Beast applies no limit of its own to trailers).
    beast::flat_buffer buffer(cfg.header_limit);
    while (!stopping_) {
        exchange x(owner_);
        busy_ = false;
        stream_.expires_after(std::chrono::milliseconds(cfg.idle_timeout_ms));
        auto [hec, hn] = co_await bhttp::async_read_header(stream_, buffer, x.parser, kUseTuple);
        if (hec) {
            if (hec == bhttp::error::body_limit) {
                // Beast checks Content-Length against the limit while reading the header.
                co_await write_error(errc::payload_too_large, "body exceeds http.body_limit", 11);
            } else if (hec == bhttp::error::header_limit || hec == bhttp::error::buffer_overflow) {
                co_await write_error(errc::bad_request, "request headers exceed http.header_limit", 11);
            } else if (malformed(hec)) {
                co_await write_error(errc::bad_request, "malformed HTTP request", 11);
            }
            break;  // closed by the client, idle timeout, eviction or shutdown
        }
        busy_ = true;
        const auto outcome = co_await handle(buffer, x);
        if (outcome == next::upgraded) co_return;  // the feed session closed the connection
        if (outcome == next::close) break;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    stream_.close();
}

net::awaitable<http_session::next> http_session::handle(beast::flat_buffer& buffer, exchange& x) {
    const auto& cfg = owner_.http_config();
    const auto started = std::chrono::steady_clock::now();
    auto& header = x.parser.get();
    const unsigned version = header.version();
    const auto content_length = x.parser.content_length();
    const bool has_body = x.parser.chunked() || content_length.value_or(0) > 0;

    if (content_length && *content_length > cfg.body_limit) {
        // Refuse before reading: the body may be far larger than we are willing to buffer.
        co_await write_error(errc::payload_too_large, "body exceeds http.body_limit", version);
        co_return next::close;
    }

    api::request req;
    req.method = std::string(header.method_string());
    const std::string target(header.target());
    const bool parsed = api::parse_target(target, req.path, req.query);
    if (parsed && req.path == "/api/v1/feed" && websocket::is_upgrade(header)) {
        if (has_body) {
            co_await write_error(errc::bad_request, "a WebSocket upgrade has no body", version);
            co_return next::close;
        }
        auto on_authenticated = [weak = weak_from_this()] {
            if (auto self = weak.lock()) self->mark_authenticated();
        };
        owner_.metrics().observe(owner_.metrics().feed_slot(), 101, seconds_since(started));
        upgraded_ = std::make_shared<feed_session>(std::move(stream_), owner_.feed(), client_, on_authenticated);
        co_await upgraded_->run(x.parser.release());
        co_return next::upgraded;
    }
    bool keep_alive = header.keep_alive() && !stopping_;
    const bool is_get = header.method() == bhttp::verb::get || header.method() == bhttp::verb::head;
    // The dashboard's files: no key, no body, served from memory.
    if (parsed && is_get && !has_body && req.path.rfind("/api/", 0) != 0 && owner_.files().enabled()) {
        if (const auto* f = owner_.files().find(req.path)) {
            auto out = static_response(*f, header, keep_alive);
            stream_.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
            auto [wec, wn] = co_await bhttp::async_write(stream_, out, kUseTuple);
            owner_.metrics().observe(owner_.metrics().static_files_slot(), out.result_int(), seconds_since(started));
            co_return (wec || !keep_alive) ? next::close : next::keep_reading;
        }
    }

    std::optional<api::response> res;
    if (!parsed) {
        res = api::error_response(errc::bad_request, "malformed request target");
    } else if (req.path == "/api/v1/feed") {
        res = api::error_response(errc::bad_request, "GET /api/v1/feed is a WebSocket endpoint; send an upgrade");
        res->status = 426;
        res->headers.emplace_back("Upgrade", "websocket");
    } else {
        req.authorization = std::string(header[bhttp::field::authorization]);
        req.content_type = std::string(header[bhttp::field::content_type]);
        req.client = client_;
        req.target = target;
        req.cluster_token = std::string(header["X-CityGuard-Cluster-Token"]);
        req.forwarded_for = std::string(header["X-CityGuard-Forwarded-For"]);
        req.forwarded = header.count("X-CityGuard-Forwarded") > 0;
        res = co_await answer_api(buffer, x, std::move(req), content_length.value_or(0));
        if (!res) co_return next::close;  // the body could not be read; answered already
    }
    // A body we did not read would be taken for the next request: close after answering.
    if (has_body && !x.parser.is_done()) keep_alive = false;
    const int status = res->status;
    const bool ok = co_await write_response(*res, version, keep_alive);
    const double took = seconds_since(started);
    owner_.metrics().observe(x.metrics_slot, status, took);
    spdlog::debug("{} {} -> {} in {:.0f} us", header.method_string(), target, status, took * 1e6);
    co_return (!ok || !keep_alive) ? next::close : next::keep_reading;
}

net::awaitable<std::optional<api::response>> http_session::answer_api(
    beast::flat_buffer& buffer, exchange& x, api::request req, std::uint64_t content_length
) {
    // Key, role, route and content type are settled from the header alone: a request that will
    // be refused never gets to make us read (and hold) its body.
    auto admitted = co_await owner_.dispatcher().admit(req);
    if (admitted.matched) x.metrics_slot = owner_.dispatcher().route_index(*admitted.matched);
    if (req.caller) mark_authenticated();
    if (!admitted.found) co_return std::move(admitted.refusal);
    x.reservation.emplace(owner_);
    if (!x.reservation->add(content_length))
        co_return api::error_response(errc::overloaded, "too many request bodies in flight; retry later");
    const unsigned version = x.parser.get().version();
    auto [body_failed, body_answer] = co_await read_body(buffer, x.parser, version);
    if (body_failed && x.over_budget)
        co_return api::error_response(errc::overloaded, "too many request bodies in flight; retry later");
    if (body_failed) {
        if (body_answer) co_await write_response(*body_answer, version, false);
        co_return std::nullopt;
    }
    req.body = std::move(x.parser.get().body());
    auto served = co_await owner_.dispatcher().serve(*admitted.found, std::move(req));
    co_return served;
}

net::awaitable<std::pair<bool, std::optional<api::response>>> http_session::read_body(
    beast::flat_buffer& buffer, bhttp::request_parser<bhttp::string_body>& parser, unsigned version
) {
    const auto& cfg = owner_.http_config();
    if (bhttp::token_list{parser.get()[bhttp::field::expect]}.exists("100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, version};
        auto [cec, cn] = co_await bhttp::async_write(stream_, cont, kUseTuple);
        if (cec) co_return std::pair{true, std::optional<api::response>{}};
    }
    stream_.expires_after(std::chrono::milliseconds(cfg.read_timeout_ms));
    auto [ec, n] = co_await bhttp::async_read(stream_, buffer, parser, kUseTuple);
    std::optional<api::response> answer;
    if (ec == bhttp::error::body_limit)
        answer = api::error_response(errc::payload_too_large, "body exceeds http.body_limit");
    else if (ec == bhttp::error::buffer_overflow)
        answer = api::error_response(errc::bad_request, "a chunk header or the trailer exceeds http.header_limit");
    else if (ec && malformed(ec))
        answer = api::error_response(errc::bad_request, "malformed HTTP request");
    co_return std::pair{static_cast<bool>(ec), std::move(answer)};
}

net::awaitable<bool> http_session::write_response(api::response& res, unsigned version, bool keep_alive) {
    auto out = to_beast(std::move(res), version, keep_alive);
    stream_.expires_after(std::chrono::milliseconds(owner_.http_config().read_timeout_ms));
    auto [ec, n] = co_await bhttp::async_write(stream_, out, kUseTuple);
    co_return !ec;
}

net::awaitable<void> http_session::write_error(errc code, std::string_view message, unsigned version) {
    auto res = api::error_response(code, message);
    owner_.metrics().count(owner_.metrics().unrouted_slot(), res.status);
    co_await write_response(res, version, false);
}

}  // namespace cityguard::http
