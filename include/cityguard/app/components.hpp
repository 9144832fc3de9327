#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cityguard/alarms/alarm_service.hpp"
#include "cityguard/api/router.hpp"
#include "cityguard/api/routes.hpp"
#include "cityguard/auth/audit_trail.hpp"
#include "cityguard/auth/key_service.hpp"
#include "cityguard/auth/passwords.hpp"
#include "cityguard/auth/people_service.hpp"
#include "cityguard/cluster/cluster_service.hpp"
#include "cityguard/config/config.hpp"
#include "cityguard/feed/feed_service.hpp"
#include "cityguard/http/server.hpp"
#include "cityguard/http/static_files.hpp"
#include "cityguard/metrics/http_metrics.hpp"
#include "cityguard/modbus/modbus_poller.hpp"
#include "cityguard/mqtt/mqtt_ingest.hpp"
#include "cityguard/notification_model/policy.hpp"
#include "cityguard/notifications/outbox_service.hpp"
#include "cityguard/notifications/silence_service.hpp"
#include "cityguard/readings/history_service.hpp"
#include "cityguard/readings/ingest_service.hpp"
#include "cityguard/readings/retention_service.hpp"
#include "cityguard/registry/nearby_service.hpp"
#include "cityguard/registry/registry_service.hpp"
#include "cityguard/registry/sensor_directory.hpp"
#include "cityguard/rules/rule.hpp"
#include "cityguard/stats/stats_service.hpp"
#include "cityguard/store/alarms_repo.hpp"
#include "cityguard/store/cluster_repo.hpp"
#include "cityguard/store/database.hpp"
#include "cityguard/store/event_log.hpp"
#include "cityguard/store/keys_repo.hpp"
#include "cityguard/store/notifications_repo.hpp"
#include "cityguard/store/people_repo.hpp"
#include "cityguard/store/readings_repo.hpp"
#include "cityguard/store/registry_repo.hpp"
#include "cityguard/store/resources_repo.hpp"
#include "cityguard/store/silences_repo.hpp"
#include "cityguard/store/stats_repo.hpp"
#include "cityguard/store/upward_repo.hpp"
#include "cityguard/store/writer_connection.hpp"
#include "cityguard/upward/exporter.hpp"
#include "cityguard/util/worker_pool.hpp"
#include "cityguard/writer/serial_writer.hpp"

namespace cityguard::app {

/// What differs between the places that build the components.
struct wiring {
    std::vector<rules::rule> rules;     ///< the rule packs, loaded and checked
    rules::domain_catalog domains;      ///< the domains the packs declare
    notification_model::policy policy;  ///< the notification file, loaded and checked
    std::string member_id;              ///< this instance among others (cluster_members)
    /// GET /metrics: the Prometheus text (the composition root renders every component's counts).
    std::function<boost::asio::awaitable<std::string>()> metrics_text;
    /// GET /readyz's database check; unset: a query on the pool.
    std::function<boost::asio::awaitable<bool>()> database_ready;
};

/// The server's components and their wiring, in one place: every repository, service, the API's
/// router and the HTTP server, built in dependency order (members are built top to bottom and
/// destroyed in reverse, so nothing outlives what it uses). The composition root (app.cpp) adds
/// what runs on its own (the outbox dispatcher, the event follower, timers, signals) and starts
/// it all; the HTTP fuzz target (fuzz/fuzz_http.cpp) serves its inputs through the same wiring
/// without starting anything.
struct components {
    components(const config::config& cfg, boost::asio::io_context& ioc, wiring w);
    components(const components&) = delete;
    components& operator=(const components&) = delete;

    const config::config& cfg;
    const notification_model::policy policy;
    boost::asio::io_context& ioc;
    store::database db;
    std::unique_ptr<store::database> read_db;  // db.read_url: the replica for history and statistics
    store::keys_repo keys_repo;
    store::people_repo people_repo;
    store::audit_repo audit_repo;
    store::registry_repo registry_repo;
    store::resources_repo resources_repo;
    store::stats_repo stats_repo;
    store::stats_repo stats_tables;  // on the replica when db.read_url is set
    store::readings_repo readings_repo;
    store::readings_repo history_readings;  // on the replica when db.read_url is set
    store::alarms_repo alarms_repo;
    store::notifications_repo notifications_repo;
    store::silences_repo silences_repo;
    store::cluster_repo cluster_repo;
    store::event_log event_log;
    store::upward_repo upward_repo;
    store::writer_connection writer_connection;
    auth::key_service keys;
    auth::password_hasher passwords;
    auth::people_service people;
    auth::audit_trail audit;
    registry::sensor_directory directory;
    rules::domain_book domains;  // the packs' domains, replaced by a reload; every service reads it
    registry::registry_service registry;
    writer::serial_writer writer;
    cluster::cluster_service cluster;  // this instance among others on the database; forwards writes to the leader
    readings::ingest_service ingest;
    std::unique_ptr<mqtt::mqtt_ingest> mqtt;        // mqtt.host set: readings from the gateways' broker
    std::unique_ptr<modbus::modbus_poller> modbus;  // modbus.connector_file set: registers polled
    readings::history_service history;
    alarms::alarm_service alarms;
    registry::nearby_service nearby;
    stats::stats_service stats;
    readings::retention_service retention;
    util::worker_pool parsing;
    notifications::outbox_service outbox;
    notifications::silence_service silences;
    api::services services;
    api::dispatcher dispatcher;
    metrics::http_metrics http_metrics;
    feed::feed_service feed;
    http::static_files files;
    std::unique_ptr<upward::exporter> upward;  // upward.url set: alarm events to the superior platform
    http::server server;
};

}  // namespace cityguard::app
