#include "cityguard/http/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http_session.hpp"

namespace cityguard::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

server::server(
    net::io_context& ioc,
    const config::config& cfg,
    api::dispatcher& dispatcher,
    feed::feed_service& feed,
    const web::static_files& files
)
    : ioc_(ioc), cfg_(cfg), dispatcher_(dispatcher), feed_(feed), files_(files), acceptor_(net::make_strand(ioc)) {}

server::~server() = default;

void server::start() {
    const auto address = net::ip::make_address(cfg_.listen_host);
    const tcp::endpoint endpoint(address, cfg_.listen_port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    net::co_spawn(acceptor_.get_executor(), accept_loop(), net::detached);
}

net::awaitable<void> server::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(net::make_strand(ioc_), net::as_tuple(net::use_awaitable));
        if (ec) {
            if (stopping_ || ec == net::error::operation_aborted) co_return;
            spdlog::warn("accept failed: {}", ec.message());
            continue;
        }
        if (open_.load() >= cfg_.http.max_connections) {
            spdlog::warn("connection refused: http.max_connections ({}) reached", cfg_.http.max_connections);
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
        }
        socket.set_option(tcp::no_delay(true));
        std::shared_ptr<http_session> session;
        {
            std::lock_guard lock(mutex_);
            const auto id = next_id_++;
            session = std::make_shared<http_session>(std::move(socket), *this, id);
            sessions_.emplace(id, session);
        }
        ++open_;
        session->start();
    }
}

void server::on_session_closed(std::uint64_t id) {
    {
        std::lock_guard lock(mutex_);
        sessions_.erase(id);
    }
    --open_;
}

void server::stop() {
    if (stopping_.exchange(true)) return;
    net::post(acceptor_.get_executor(), [this] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
    });
    std::vector<std::shared_ptr<http_session>> live;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, weak] : sessions_)
            if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    // Called outside the lock: a session may finish and deregister meanwhile.
    for (auto& s : live) s->shutdown();
}

}  // namespace cityguard::http
