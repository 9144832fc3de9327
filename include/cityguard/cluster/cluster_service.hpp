#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cityguard/cluster/leader_link.hpp"
#include "cityguard/config/config.hpp"
#include "cityguard/store/cluster_repo.hpp"
#include "cityguard/writer/serial_writer.hpp"

/// Several instances on one database (docs/scaling.md). Leadership itself is the writer's
/// (writer::serial_writer bids for its connection's advisory lock); this service keeps this
/// instance's row in cluster_members, learns where the leader listens and forwards writes there.
namespace cityguard::cluster {

class cluster_service {
  public:
    cluster_service(
        boost::asio::io_context& ioc,
        store::cluster_repo& repo,
        writer::serial_writer& writer,
        const config::cluster_config& cfg,
        std::string member_id
    );

    /// This instance's id in cluster_members: host, port and a random part.
    const std::string& member_id() const noexcept { return member_id_; }
    /// Sets the URL other instances reach this one at (after the listener is bound), registers
    /// this instance and starts the heartbeat. The I/O threads must be running.
    void start(const std::string& advertise_url);
    /// Stops the heartbeat and removes this instance's row (a graceful stop).
    void stop();
    /// Registers this instance now (start-up, before the writer bids: the leader marks its own row).
    boost::asio::awaitable<void> register_now();

    bool leading() const noexcept { return writer_.leading(); }
    /// Reads who leads now and points the forwarding there; true when this instance can take
    /// writes (it leads, or knows the leader).
    boost::asio::awaitable<bool> learn_leader();
    /// Where the leader listens, as last read ("" when none is known).
    std::string leader_url() const { return link_.leader(); }

    /// A write for the leader: its answer, or nullopt when this instance leads (now) and serves
    /// it itself. When no leader answers (a takeover, or the leader that was known is gone) this
    /// instance bids for the lead at once and waits up to two cluster.poll_ms for a leader,
    /// itself or another, before it gives up. Throws cluster::link_error.
    boost::asio::awaitable<std::optional<cluster::forwarded_response>> forward(const cluster::forwarded_request& req);

    /// GET /api/v1/cluster: the instances, which leads and since when.
    boost::asio::awaitable<nlohmann::json> describe();
    /// For /readyz: this instance's role and the leader it forwards to.
    nlohmann::json role() const;

    std::size_t forward_connections() const { return link_.connections(); }

  private:
    boost::asio::awaitable<void> heartbeat_loop();
    /// After a nudge to bid: waits until this instance leads or another is known to, up to `wait`.
    boost::asio::awaitable<void> await_leader(std::chrono::milliseconds wait);

    store::cluster_repo& repo_;
    writer::serial_writer& writer_;
    const config::cluster_config& cfg_;
    const std::string member_id_;
    std::string advertise_url_;
    cluster::leader_link link_;
    boost::asio::steady_timer timer_;
    std::atomic<bool> stopping_{false};
};

}  // namespace cityguard::cluster
