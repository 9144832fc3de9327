#include "cityguard/outbound/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <chrono>

#include "cityguard/outbound/url.hpp"

namespace cityguard::outbound {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct http_client::impl {
    net::io_context& ioc;
    std::size_t max_response_bytes;
    net::ssl::context tls{net::ssl::context::tls_client};

    impl(net::io_context& c, std::size_t limit) : ioc(c), max_response_bytes(limit) {
        tls.set_default_verify_paths();
        tls.set_verify_mode(net::ssl::verify_peer);
    }

    /// Resolves within the deadline: a resolver that does not answer is cancelled.
    net::awaitable<tcp::resolver::results_type> resolve(
        const parsed_url& u, std::chrono::steady_clock::time_point deadline
    ) {
        auto ex = co_await net::this_coro::executor;
        tcp::resolver resolver(ex);
        net::steady_timer guard(ex, deadline);
        guard.async_wait([&resolver](const boost::system::error_code& ec) {
            if (!ec) resolver.cancel();
        });
        auto [ec, results] = co_await resolver.async_resolve(u.host, u.port, net::as_tuple(net::use_awaitable));
        guard.cancel();
        if (ec) throw http_error("cannot resolve " + u.host + ": " + ec.message());
        co_return results;
    }

    template <class Stream>
    net::awaitable<http_result> exchange(Stream& stream, const parsed_url& u, const http_request& req) {
        http::request<http::string_body> msg{http::verb::post, u.target, 11};
        msg.set(http::field::host, u.host);
        msg.set(http::field::user_agent, "cityguard");
        msg.set(http::field::content_type, req.content_type);
        for (const auto& [name, value] : req.headers) msg.set(name, value);
        msg.body() = req.body;
        msg.prepare_payload();
        auto [wec, written] = co_await http::async_write(stream, msg, net::as_tuple(net::use_awaitable));
        if (wec) throw http_error("sending failed: " + wec.message());
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(max_response_bytes);
        parser.header_limit(16 * 1024);
        auto [rec, read] = co_await http::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
        if (rec && !(rec == http::error::body_limit && parser.is_header_done()))
            throw http_error("no answer: " + rec.message());
        http_result r;
        r.status = static_cast<int>(parser.get().result_int());
        if (parser.is_done()) r.body = parser.get().body();
        co_return r;
    }

    net::awaitable<http_result> post(http_request req) {
        const auto u = parse_url(req.url);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(req.timeout_ms);
        auto endpoints = co_await resolve(u, deadline);
        auto ex = co_await net::this_coro::executor;
        if (!u.tls) {
            beast::tcp_stream stream(ex);
            stream.expires_at(deadline);  // bounds every step below together
            auto [cec, ep] = co_await stream.async_connect(endpoints, net::as_tuple(net::use_awaitable));
            if (cec) throw http_error("cannot connect to " + u.host + ":" + u.port + ": " + cec.message());
            auto result = co_await exchange(stream, u, req);
            beast::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            co_return result;
        }
        beast::ssl_stream<beast::tcp_stream> stream(ex, tls);
        beast::get_lowest_layer(stream).expires_at(deadline);
        if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str()))
            throw http_error("cannot set TLS server name " + u.host);
        stream.set_verify_callback(net::ssl::host_name_verification(u.host));
        auto [cec, ep] =
            co_await beast::get_lowest_layer(stream).async_connect(endpoints, net::as_tuple(net::use_awaitable));
        if (cec) throw http_error("cannot connect to " + u.host + ":" + u.port + ": " + cec.message());
        auto [hec] = co_await stream.async_handshake(net::ssl::stream_base::client, net::as_tuple(net::use_awaitable));
        if (hec) throw http_error("TLS handshake with " + u.host + " failed: " + hec.message());
        auto result = co_await exchange(stream, u, req);
        // The answer is in; a peer that closes without TLS close_notify changes nothing.
        auto [shutdown_error] = co_await stream.async_shutdown(net::as_tuple(net::use_awaitable));
        (void)shutdown_error;
        co_return result;
    }
};

http_client::http_client(net::io_context& ioc, std::size_t max_response_bytes)
    : impl_(std::make_unique<impl>(ioc, max_response_bytes)) {}

http_client::~http_client() = default;

net::awaitable<http_result> http_client::post(http_request req) { return impl_->post(std::move(req)); }

}  // namespace cityguard::outbound
