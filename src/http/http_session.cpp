#include "http_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
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
    const static_file& f, const bhttp::request<bhttp::string_body>& req, bool keep_alive
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

/// Whether the header block (its first `size` bytes in `buffer`) continues a field on the next
/// line (obs-fold, RFC 9112 5.2): refused, since proxies in front may unfold it differently.
bool folded_header(const beast::flat_buffer& buffer, std::size_t size) {
    const auto data = buffer.data();
    const std::string_view block(static_cast<const char*>(data.data()), std::min(size, data.size()));
    for (auto at = block.find("\r\n"); at != std::string_view::npos && at + 2 < block.size();
         at = block.find("\r\n", at + 2))
        if (block[at + 2] == ' ' || block[at + 2] == '\t') return true;
    return false;
}

/// Beast takes any Transfer-Encoding that ends in "chunked" as chunked and ignores the codings
/// before it; decoding none of them, the server refuses every value but "chunked" itself.
bool unsupported_transfer_coding(const bhttp::request_parser<bhttp::string_body>& parser) {
    const auto& header = parser.get();
    if (header.count(bhttp::field::transfer_encoding) == 0) return false;
    std::string_view value = header[bhttp::field::transfer_encoding];
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    return !beast::iequals(value, "chunked");
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
        if (self->class_ == connection_class::person) return;
        if (self->class_ == connection_class::device && !self->idle()) {
            self->owner_.on_eviction_declined(self->id_);
            return;
        }
        self->stopping_ = true;
        if (self->upgraded_) {
            self->upgraded_->shutdown();
            return;
        }
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
    });
}

void http_session::mark_authenticated(connection_class c) {
    if (c <= class_) return;
    class_ = c;
    owner_.on_session_authenticated(id_, c);
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
    std::size_t bytes() const noexcept { return bytes_; }

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
        // Chunked bodies reserve their budget as each chunk is announced, for the memory the
        // body will take (see grow_for).
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
            if (reservation && !grow_for(size)) {
                over_budget = true;
                ec = net::error::no_buffer_space;
            }
        };

    /// Makes room in the body for a chunk of `size` bytes, counting the capacity (what the body
    /// takes in memory) against http.max_body_bytes_in_flight. std::string doubles its capacity
    /// when it grows (reserve() too), so counting bytes let RSS pass the budget twice over; here
    /// the body grows by a quarter at a time into an allocation of exactly the counted size.
    bool grow_for(std::uint64_t size) {
        auto& body = parser.get().body();
        const std::uint64_t need = body.size() + size;
        if (need <= body.capacity()) return true;
        const std::uint64_t limit = std::max<std::uint64_t>(need, owner.http_config().body_limit);
        const std::uint64_t next =
            std::min<std::uint64_t>(limit, std::max(need, body.capacity() + body.capacity() / 4));
        if (next > reservation->bytes() && !reservation->add(next - reservation->bytes())) return false;
        std::string grown;
        grown.reserve(static_cast<std::size_t>(next));  // from empty: exactly `next`, no doubling
        grown.append(body);
        body.swap(grown);
        return true;
    }
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
        idle_ = true;
        stream_.expires_after(std::chrono::milliseconds(cfg.idle_timeout_ms));
        // The whole header block first, to see what Beast's parser hides: it unfolds obs-fold
        // silently, so "Transfer-Encoding:\r\n chunked" would be read as chunked.
        auto [uec, header_end] = co_await read_header_block(buffer);
        if (uec) {
            if (uec == net::error::no_buffer_space)
                co_await write_error(errc::bad_request, "request headers exceed http.header_limit", 11);
            break;  // closed by the client, idle timeout, eviction or shutdown
        }
        if (folded_header(buffer, header_end)) {
            co_await write_error(errc::bad_request, "a header line continued on the next (obs-fold) is refused", 11);
            break;
        }
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
        idle_ = false;
        const auto outcome = co_await handle(buffer, x);
        if (outcome == next::upgraded) co_return;  // the feed session closed the connection
        if (outcome == next::close) break;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    stream_.close();
}

net::awaitable<std::pair<beast::error_code, std::size_t>> http_session::read_header_block(beast::flat_buffer& buffer) {
    std::size_t scanned = 0;  // bytes already searched, less the three a delimiter could span
    for (;;) {
        const auto data = buffer.data();
        const std::string_view held(static_cast<const char*>(data.data()), data.size());
        if (const auto at = held.find("\r\n\r\n", scanned); at != std::string_view::npos)
            co_return std::pair{beast::error_code{}, at + 4};
        scanned = held.size() < 3 ? 0 : held.size() - 3;
        if (buffer.size() >= buffer.max_size()) co_return std::pair{beast::error_code(net::error::no_buffer_space), 0};
        const std::size_t room = std::min<std::size_t>(4096, buffer.max_size() - buffer.size());
        auto [ec, n] = co_await stream_.async_read_some(buffer.prepare(room), kUseTuple);
        if (ec) co_return std::pair{ec, std::size_t{0}};
        buffer.commit(n);
    }
}

net::awaitable<http_session::next> http_session::handle(beast::flat_buffer& buffer, exchange& x) {
    const auto& cfg = owner_.http_config();
    const auto started = std::chrono::steady_clock::now();
    auto& header = x.parser.get();
    const unsigned version = header.version();
    const auto content_length = x.parser.content_length();
    const bool has_body = x.parser.chunked() || content_length.value_or(0) > 0;

    if (unsupported_transfer_coding(x.parser)) {
        co_await write_error(errc::not_implemented, "Transfer-Encoding other than chunked is not supported", version);
        co_return next::close;
    }
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
            if (auto self = weak.lock()) self->mark_authenticated(connection_class::person);
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
        req.cookie = std::string(header[bhttp::field::cookie]);
        req.csrf_token = std::string(header["X-CSRF-Token"]);
        req.forwarded_proto = std::string(header["X-Forwarded-Proto"]);
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
    if (!admitted.found) co_return std::move(admitted.refusal);  // a 403 makes no connection trusted
    if (req.caller) {
        const auto r = req.caller->role;
        mark_authenticated(auth::is_person_role(r) ? connection_class::person : connection_class::device);
    }
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
