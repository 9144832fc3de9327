#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <string>

#include "cityguard/alarms/alarm_service.hpp"
#include "cityguard/auth/key_service.hpp"
#include "cityguard/notifications/silence_service.hpp"
#include "cityguard/registry/registry_service.hpp"
#include "cityguard/store/cluster_repo.hpp"
#include "cityguard/writer/serial_writer.hpp"

/// What an instance does when the lead changes hands and when another instance changed shared
/// state (docs/scaling.md): the leader's memory comes from the database, as at a start, and a
/// follower keeps its caches (keys, sensor directory, rule catalog) current.
namespace cityguard::cluster {

class handover {
  public:
    /// `wake_outbox`: the dispatcher's wake (pending deliveries go out as soon as this instance leads).
    handover(
        boost::asio::io_context& ioc,
        writer::serial_writer& writer,
        registry::registry_service& registry,
        alarms::alarm_service& alarms,
        notifications::silence_service& silences,
        auth::key_service& keys,
        store::cluster_repo& cluster_repo,
        std::function<void()> wake_outbox
    )
        : ioc_(ioc),
          writer_(writer),
          registry_(registry),
          alarms_(alarms),
          silences_(silences),
          keys_(keys),
          cluster_repo_(cluster_repo),
          wake_outbox_(std::move(wake_outbox)) {}

    /// The writer thread has just won the lead: restores the sensor directory, the rule engine
    /// (the first time as a start does, later by taking over what another leader left) and the
    /// silences, then wakes the outbox. Blocks that thread until done; throwing gives the lock back.
    void on_lead();
    /// A change made on any instance (sql/0016_cluster.sql), heard on the event follower's thread:
    /// "keys", "key-…", "registry", "rules" or "reconnected" (everything). Work goes to the I/O threads.
    void on_change(const std::string& what);
    /// Tells the other instances that this one reloaded its rule packs. Never throws.
    boost::asio::awaitable<void> announce_rules();

  private:
    boost::asio::awaitable<void> reload_directory();
    void reload_catalog();
    template <class T>
    T run_now(boost::asio::awaitable<T> task);

    boost::asio::io_context& ioc_;
    writer::serial_writer& writer_;
    registry::registry_service& registry_;
    alarms::alarm_service& alarms_;
    notifications::silence_service& silences_;
    auth::key_service& keys_;
    store::cluster_repo& cluster_repo_;
    std::function<void()> wake_outbox_;
    bool restored_once_ = false;  // writer thread: the first lead restores, later ones take over
};

}  // namespace cityguard::cluster
