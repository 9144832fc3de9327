#include "cityguard/cluster/leader_link.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>
#include <mutex>

#include "cityguard/outbound/url.hpp"

namespace cityguard::cluster {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

/// Headers that describe one hop, not the answer: the server that relays it sets its own.
bool hop_header(std::string_view name) {
    for (std::string_view h :
         {"connection",
          "keep-alive",
          "transfer-encoding",
          "content-length",
          "content-type",
          "date",
          "server",
          "upgrade"})
        if (beast::iequals(name, h)) return true;
    return false;
}

}  // namespace

struct leader_link::impl {
    net::io_context& ioc;
    limits lim;
    mutable std::mutex mutex;
    std::string url;
    std::uint64_t generation = 0;  // bumped when the leader moves: older connections are dropped
    struct pooled {
        std::unique_ptr<beast::tcp_stream> stream;
        std::uint64_t generation;
    };
    std::vector<pooled> idle;
    std::size_t busy = 0;  // slots taken (a slot may still have to connect)
    std::size_t open = 0;  // connections open, idle or in use
    struct waiter {
        std::shared_ptr<net::steady_timer> timer;
        bool granted = false;
    };
    std::deque<std::shared_ptr<waiter>> waiting;

    impl(net::io_context& c, limits l) : ioc(c), lim(l) {}

    /// Takes one of lim.connections slots, waiting up to `deadline` behind at most lim.max_waiting others.
    net::awaitable<void> acquire(std::chrono::steady_clock::time_point deadline) {
        const auto ex = co_await net::this_coro::executor;
        std::shared_ptr<waiter> w;
        {
            std::lock_guard lock(mutex);
            if (busy < lim.connections) {
                ++busy;
                co_return;
            }
            if (waiting.size() >= lim.max_waiting)
                throw link_error(
                    link_error::kind::busy, "every connection to the leader is busy (cluster.max_queued_forwards)"
                );
            w = std::make_shared<waiter>();
            w->timer = std::make_shared<net::steady_timer>(ex, deadline);
            waiting.push_back(w);
        }
        co_await w->timer->async_wait(net::as_tuple(net::use_awaitable));
        std::lock_guard lock(mutex);
        if (w->granted) co_return;  // the slot was handed over
        std::erase(waiting, w);
        throw link_error(link_error::kind::busy, "timed out waiting for a connection to the leader");
    }

    void release() {
        std::lock_guard lock(mutex);
        if (waiting.empty()) {
            --busy;
            return;
        }
        auto w = waiting.front();
        waiting.pop_front();
        w->granted = true;
        net::post(w->timer->get_executor(), [w] { w->timer->cancel(); });
    }

    /// An idle connection to the current leader, if any (with the leader's address).
    std::pair<std::unique_ptr<beast::tcp_stream>, std::uint64_t> take_idle(std::string& to) {
        std::lock_guard lock(mutex);
        to = url;
        while (!idle.empty()) {
            auto p = std::move(idle.back());
            idle.pop_back();
            if (p.generation == generation) return {std::move(p.stream), p.generation};
            --open;
        }
        return {nullptr, generation};
    }

    void give_back(std::unique_ptr<beast::tcp_stream> s, std::uint64_t gen) {
        std::lock_guard lock(mutex);
        if (gen == generation && s->socket().is_open()) {
            idle.push_back({std::move(s), gen});
            return;
        }
        --open;
    }

    void closed() {
        std::lock_guard lock(mutex);
        --open;
    }

    net::awaitable<forwarded_response> send(const forwarded_request& req) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(lim.timeout_ms);
        co_await acquire(deadline);
        struct slot {
            impl& owner;
            ~slot() { owner.release(); }
        } held{*this};
        for (int attempt = 0;; ++attempt) {
            std::string to;
            auto [stream, gen] = take_idle(to);
            const bool reused = stream != nullptr;
            if (to.empty()) throw link_error(link_error::kind::unreachable, "no instance leads at the moment");
            const auto u = outbound::parse_url(to);
            if (!stream) {
                stream = std::make_unique<beast::tcp_stream>(ioc);
                stream->expires_at(deadline);
                tcp::resolver resolver(ioc);
                auto [rec, endpoints] =
                    co_await resolver.async_resolve(u.host, u.port, net::as_tuple(net::use_awaitable));
                if (rec)
                    throw link_error(
                        link_error::kind::unreachable, "cannot resolve the leader " + to + ": " + rec.message()
                    );
                auto [cec, ep] = co_await stream->async_connect(endpoints, net::as_tuple(net::use_awaitable));
                if (cec)
                    throw link_error(
                        link_error::kind::unreachable, "cannot connect to the leader " + to + ": " + cec.message()
                    );
                std::lock_guard lock(mutex);
                ++open;
            }
            stream->expires_at(deadline);
            http::request<http::string_body> msg{http::string_to_verb(req.method), req.target, 11};
            msg.set(http::field::host, u.host + ":" + u.port);
            for (const auto& [name, value] : req.headers) msg.set(name, value);
            msg.body() = req.body;
            msg.keep_alive(true);
            msg.prepare_payload();
            auto [wec, written] = co_await http::async_write(*stream, msg, net::as_tuple(net::use_awaitable));
            beast::flat_buffer buffer;
            http::response_parser<http::string_body> parser;
            parser.body_limit(lim.max_response_bytes);
            parser.header_limit(64 * 1024);
            boost::system::error_code rec;
            if (!wec) {
                auto [ec, n] = co_await http::async_read(*stream, buffer, parser, net::as_tuple(net::use_awaitable));
                rec = ec;
            }
            if (wec || rec) {
                closed();
                // A kept-alive connection the leader closed meanwhile fails before any answer:
                // once, on a new connection. Anything later is the leader's silence: no retry.
                const bool stale = reused && attempt == 0 && !parser.got_some() &&
                                   (wec || rec == http::error::end_of_stream || rec == net::error::connection_reset ||
                                    rec == net::error::broken_pipe || rec == net::error::eof);
                if (stale) continue;
                const auto& ec = wec ? wec : rec;
                throw link_error(link_error::kind::no_answer, "no answer from the leader " + to + ": " + ec.message());
            }
            auto& res = parser.get();
            forwarded_response out;
            out.status = static_cast<int>(res.result_int());
            out.content_type = std::string(res[http::field::content_type]);
            for (const auto& f : res)
                if (!hop_header(f.name_string())) out.headers.emplace_back(f.name_string(), f.value());
            out.body = std::move(res.body());
            if (res.keep_alive())
                give_back(std::move(stream), gen);
            else
                closed();
            co_return out;
        }
    }
};

leader_link::leader_link(net::io_context& ioc, limits lim) : impl_(std::make_shared<impl>(ioc, lim)) {}

leader_link::~leader_link() = default;

void leader_link::set_leader(const std::string& url) {
    std::lock_guard lock(impl_->mutex);
    if (url == impl_->url) return;
    impl_->url = url;
    ++impl_->generation;
    impl_->open -= impl_->idle.size();
    impl_->idle.clear();
}

std::string leader_link::leader() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->url;
}

std::size_t leader_link::connections() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->open;
}

net::awaitable<forwarded_response> leader_link::send(const forwarded_request& req) { return impl_->send(req); }

}  // namespace cityguard::cluster
