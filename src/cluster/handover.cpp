#include "cityguard/cluster/handover.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <utility>

namespace cityguard::cluster {

namespace net = boost::asio;

// The writer thread waits here while the I/O threads run the task: restoring reads through the
// pool, which lives on those threads.
template <class T>
T handover::run_now(net::awaitable<T> task) {
    return net::co_spawn(ioc_, std::move(task), net::use_future).get();
}

void handover::on_lead() {
    run_now(registry_.load_directory());
    if (std::exchange(restored_once_, true))
        run_now(alarms_.take_over());
    else
        run_now(alarms_.restore());
    run_now(silences_.load());
    if (wake_outbox_) wake_outbox_();
}

void handover::on_change(const std::string& what) {
    const bool all = what == "reconnected";
    if (all || what == "keys" || what.starts_with("key-")) {
        keys_.changed(what);
        net::co_spawn(ioc_, keys_.refresh(), net::detached);
    }
    // The leader reloads after its own writes; a follower learns of them here.
    if ((all || what == "registry") && !writer_.leading()) net::co_spawn(ioc_, reload_directory(), net::detached);
    if ((all || what == "rules") && !writer_.leading()) net::post(ioc_, [this] { reload_catalog(); });
}

net::awaitable<void> handover::reload_directory() {
    try {
        co_await registry_.load_directory();
    } catch (const std::exception& e) {
        spdlog::warn("cluster: sensor directory not reloaded after a change: {}", e.what());
    }
}

void handover::reload_catalog() {
    try {
        alarms_.reload_catalog();
    } catch (const std::exception& e) {
        spdlog::warn("cluster: rule packs changed on the leader but not here: {}", e.what());
    }
}

net::awaitable<void> handover::announce_rules() {
    try {
        co_await cluster_repo_.announce("rules");
    } catch (const std::exception& e) {
        spdlog::warn("cluster: could not tell the other instances about the rule reload: {}", e.what());
    }
}

}  // namespace cityguard::cluster
