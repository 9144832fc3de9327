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
    const http::static_files& files,
    metrics::http_metrics& metrics
)
    : ioc_(ioc),
      cfg_(cfg),
      dispatcher_(dispatcher),
      feed_(feed),
      files_(files),
      metrics_(metrics),
      acceptor_(net::make_strand(ioc)) {}

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
        boost::system::error_code peer_ec;
        const auto peer = socket.remote_endpoint(peer_ec);
        if (peer_ec) continue;  // already gone
        adopt(std::move(socket), peer.address().to_string());
    }
}

void server::adopt(tcp::socket socket, std::string client) {
    std::shared_ptr<http_session> session;
    {
        std::lock_guard lock(mutex_);
        if (admit_connection(client)) {
            const auto id = next_id_++;
            boost::system::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            session = std::make_shared<http_session>(std::move(socket), *this, id, client);
            sessions_.emplace(id, tracked_session{session, client});
            unauthenticated_.insert(id);
            auto& mine = per_client_[client];
            ++mine.open;
            mine.unauthenticated.insert(id);
            ++open_;
        }
    }
    if (session) {
        session->start();
    } else {
        boost::system::error_code ignored;
        socket.close(ignored);
    }
}

bool server::admit_connection(const std::string& client) {
    const auto& cfg = cfg_.http;
    // Per address first: behind NAT or a proxy one address is many people, so its idle sockets
    // make room rather than lock the address out.
    if (auto it = per_client_.find(client);
        it != per_client_.end() && it->second.open >= cfg.max_connections_per_client) {
        const auto victim = eviction_candidate(it->second.unauthenticated, it->second.devices);
        if (!victim) {
            metrics_.connections_refused().add();
            log_refusal("connection refused", "http.max_connections_per_client reached by " + client + ", none idle");
            return false;
        }
        evict(*victim);
        log_refusal("connection evicted", "closed an idle connection of " + client + " for its new one");
        // The address's count is back under its cap; the server-wide limits below still hold.
    }
    const std::size_t others_room = cfg.max_connections - cfg.reserved_connections;
    if (open_.load() < cfg.max_connections && unauthenticated_.size() + devices_.size() < others_room) return true;
    const auto victim = eviction_candidate(unauthenticated_, devices_);
    if (!victim) {
        metrics_.connections_refused().add();
        log_refusal("connection refused", "http.max_connections reached, none idle but people's");
        return false;
    }
    // A flood of idle sockets then churns among itself, while people who authenticate stay.
    evict(*victim);
    log_refusal("connection evicted", "closed the oldest idle connection to make room for " + client);
    return true;
}

std::optional<std::uint64_t> server::eviction_candidate(
    const std::set<std::uint64_t>& unauthenticated, const std::set<std::uint64_t>& devices
) const {
    const auto idle = [this](std::uint64_t id) {
        auto it = sessions_.find(id);
        if (it == sessions_.end()) return false;
        auto s = it->second.session.lock();
        return s && s->idle();
    };
    // Bounded scans: a candidate found among the first few is as good as the very oldest.
    constexpr std::size_t kScan = 64;
    std::size_t scanned = 0;
    for (auto id : unauthenticated) {
        if (idle(id)) return id;
        if (++scanned == kScan) break;
    }
    if (!unauthenticated.empty()) return *unauthenticated.begin();  // no key: may be closed busy or not
    scanned = 0;
    for (auto id : devices) {
        if (idle(id)) return id;
        if (++scanned == kScan) break;
    }
    return std::nullopt;
}

void server::evict(std::uint64_t id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    unauthenticated_.erase(id);
    devices_.erase(id);
    if (auto c = per_client_.find(it->second.client); c != per_client_.end()) {
        c->second.unauthenticated.erase(id);
        c->second.devices.erase(id);
    }
    if (auto s = it->second.session.lock()) s->evict();
    metrics_.connections_evicted().add();
}

void server::on_eviction_declined(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second.kind != connection_class::device) return;
    devices_.insert(id);
    per_client_[it->second.client].devices.insert(id);
}

void server::on_session_authenticated(std::uint64_t id, connection_class c) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end() || c <= it->second.kind) return;
    it->second.kind = c;
    auto& mine = per_client_[it->second.client];
    unauthenticated_.erase(id);
    mine.unauthenticated.erase(id);
    if (c == connection_class::device) {
        devices_.insert(id);
        mine.devices.insert(id);
    } else {
        devices_.erase(id);
        mine.devices.erase(id);
    }
}

void server::on_session_closed(std::uint64_t id) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = sessions_.find(id); it != sessions_.end()) {
            if (auto c = per_client_.find(it->second.client); c != per_client_.end()) {
                c->second.unauthenticated.erase(id);
                c->second.devices.erase(id);
                if (--c->second.open == 0) per_client_.erase(c);
            }
            sessions_.erase(it);
        }
        unauthenticated_.erase(id);
        devices_.erase(id);
    }
    --open_;
}

bool server::reserve_body_bytes(std::size_t bytes) noexcept {
    auto current = body_bytes_.load();
    do {
        if (bytes > cfg_.http.max_body_bytes_in_flight - std::min(current, cfg_.http.max_body_bytes_in_flight))
            return false;
    } while (!body_bytes_.compare_exchange_weak(current, current + bytes));
    return true;
}

void server::release_body_bytes(std::size_t bytes) noexcept { body_bytes_.fetch_sub(bytes); }

void server::log_refusal(std::string_view kind, std::string_view detail) {
    const auto now = std::chrono::steady_clock::now();
    std::size_t unlogged = 0;
    {
        std::lock_guard lock(log_mutex_);
        auto it = refusal_logs_.find(kind);
        if (it == refusal_logs_.end()) it = refusal_logs_.emplace(std::string(kind), refusal_log{}).first;
        auto& entry = it->second;
        if (entry.last != std::chrono::steady_clock::time_point{} &&
            now - entry.last < std::chrono::milliseconds(cfg_.http.refusal_log_interval_ms)) {
            ++entry.unlogged;
            return;
        }
        entry.last = now;
        unlogged = std::exchange(entry.unlogged, 0);
    }
    if (unlogged)
        spdlog::warn("{}: {} ({} more since the last line)", kind, detail, unlogged);
    else
        spdlog::warn("{}: {}", kind, detail);
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
        for (auto& [id, tracked] : sessions_)
            if (auto s = tracked.session.lock()) live.push_back(std::move(s));
    }
    // Called outside the lock: a session may finish and deregister meanwhile.
    for (auto& s : live) s->shutdown();
}

}  // namespace cityguard::http
