#include "cityguard/cluster/cluster_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <utility>

#include "cityguard/util/time.hpp"

namespace cityguard::cluster {

namespace net = boost::asio;
using json = nlohmann::json;

cluster_service::cluster_service(
    net::io_context& ioc,
    store::cluster_repo& repo,
    writer::serial_writer& writer,
    const config::cluster_config& cfg,
    std::string member_id
)
    : repo_(repo),
      writer_(writer),
      cfg_(cfg),
      member_id_(std::move(member_id)),
      link_(
          ioc,
          {cfg.forward_connections,
           cfg.max_queued_forwards,
           cfg.forward_timeout_ms,
           cluster::leader_link::limits{}.max_response_bytes}
      ),
      timer_(ioc) {}

void cluster_service::start(const std::string& advertise_url) {
    advertise_url_ = advertise_url;
    net::co_spawn(timer_.get_executor(), heartbeat_loop(), net::detached);
}

void cluster_service::stop() {
    stopping_ = true;
    net::post(timer_.get_executor(), [this] { timer_.cancel(); });
}

net::awaitable<void> cluster_service::register_now() {
    co_await repo_.heartbeat(member_id_, advertise_url_, CITYGUARD_VERSION, cfg_.forget_after_s);
}

net::awaitable<bool> cluster_service::learn_leader() {
    if (writer_.leading()) {
        link_.set_leader("");  // nothing to forward to: this instance serves writes
        co_return true;
    }
    auto leader = co_await repo_.leader();
    // This instance's own row while it does not lead: its old writer session, lost a moment ago,
    // has not ended yet. Never forward to oneself: wait for the bid instead.
    if (leader && leader->first == member_id_) leader.reset();
    link_.set_leader(leader ? leader->second : std::string());
    co_return leader.has_value();
}

net::awaitable<void> cluster_service::heartbeat_loop() {
    using clock = std::chrono::steady_clock;
    auto next_heartbeat = clock::now();
    bool failing = false;
    while (!stopping_) {
        try {
            if (clock::now() >= next_heartbeat) {
                co_await register_now();
                next_heartbeat = clock::now() + std::chrono::milliseconds(cfg_.heartbeat_ms);
            }
            co_await learn_leader();
            if (std::exchange(failing, false)) spdlog::info("cluster: database reachable again");
        } catch (const std::exception& e) {
            if (!std::exchange(failing, true)) spdlog::warn("cluster: heartbeat failed, will retry: {}", e.what());
            link_.set_leader("");  // who leads is unknown: writes get 503 until it is known again
        }
        // A follower looks for the leader as often as it bids for the lead itself, so a new
        // leader is found about as fast as one is made.
        timer_.expires_after(std::chrono::milliseconds(std::min(cfg_.poll_ms, cfg_.heartbeat_ms)));
        auto [ec] = co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
        if (ec) break;
    }
    if (stopping_) {
        try {
            co_await repo_.forget(member_id_);
        } catch (const std::exception& e) {
            spdlog::debug("cluster: could not remove this instance's row: {}", e.what());
        }
    }
}

net::awaitable<std::optional<cluster::forwarded_response>> cluster_service::forward(
    const cluster::forwarded_request& req
) {
    for (int attempt = 0;; ++attempt) {
        if (leading()) co_return std::nullopt;
        if (link_.leader().empty()) co_await learn_leader();  // the lead may have moved a moment ago
        if (leading()) co_return std::nullopt;
        if (!link_.leader().empty()) {
            try {
                auto answer = co_await link_.send(req);
                co_return answer;
            } catch (const cluster::link_error& e) {
                // Only when nothing was sent may it be sent again (a gateway's retry is safe; an
                // operator's action need not be).
                if (e.why() != cluster::link_error::kind::unreachable || attempt > 0) throw;
            }
        } else if (attempt > 0) {
            throw cluster::link_error(cluster::link_error::kind::unreachable, "no instance leads at the moment");
        }
        link_.set_leader("");
        writer_.bid_soon();
        co_await await_leader(2 * std::chrono::milliseconds(cfg_.poll_ms));
    }
}

net::awaitable<void> cluster_service::await_leader(std::chrono::milliseconds wait) {
    net::steady_timer pause(co_await net::this_coro::executor);
    const auto until = std::chrono::steady_clock::now() + wait;
    for (int turn = 0; std::chrono::steady_clock::now() < until && !stopping_; ++turn) {
        if (leading()) co_return;
        if (turn % 5 == 4 && co_await learn_leader()) co_return;  // another instance won the bid
        pause.expires_after(std::chrono::milliseconds(20));
        co_await pause.async_wait(net::use_awaitable);
    }
}

net::awaitable<json> cluster_service::describe() {
    const auto members = co_await repo_.members();
    json instances = json::array();
    json leader = nullptr;
    for (const auto& m : members) {
        json one{
            {"id", m.id},
            {"url", m.url},
            {"version", m.version},
            {"started_at", util::format_rfc3339(m.started_at)},
            {"seen_at", util::format_rfc3339(m.seen_at)},
            {"alive", m.silent_ms <= cfg_.member_timeout_ms},
            {"leader", m.leading},
            {"self", m.id == member_id_}};
        if (m.leading && m.leader_since) {
            one["leader_since"] = util::format_rfc3339(*m.leader_since);
            leader = {{"id", m.id}, {"url", m.url}, {"since", one["leader_since"]}};
        }
        instances.push_back(std::move(one));
    }
    co_return json{{"self", member_id_}, {"leader", leader}, {"instances", std::move(instances)}};
}

json cluster_service::role() const {
    json out{{"instance", member_id_}, {"role", leading() ? "leader" : "follower"}};
    if (!leading()) {
        const auto url = link_.leader();
        out["leader"] = url.empty() ? json(nullptr) : json(url);
    }
    return out;
}

}  // namespace cityguard::cluster
