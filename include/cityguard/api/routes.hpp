#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string_view>

#include "cityguard/alarms/alarm_service.hpp"
#include "cityguard/api/router.hpp"
#include "cityguard/auth/audit_trail.hpp"
#include "cityguard/auth/key_service.hpp"
#include "cityguard/auth/people_service.hpp"
#include "cityguard/cluster/cluster_service.hpp"
#include "cityguard/notifications/outbox_service.hpp"
#include "cityguard/notifications/silence_service.hpp"
#include "cityguard/readings/history_service.hpp"
#include "cityguard/readings/ingest_service.hpp"
#include "cityguard/readings/retention_service.hpp"
#include "cityguard/registry/nearby_service.hpp"
#include "cityguard/registry/registry_service.hpp"
#include "cityguard/stats/stats_service.hpp"
#include "cityguard/util/worker_pool.hpp"

namespace cityguard::api {

/// The services the handlers call. Owned by the composition root.
struct services {
    auth::key_service& keys;
    auth::people_service& people;
    auth::audit_trail& audit;
    const config::auth_config& auth;
    registry::registry_service& registry;
    readings::ingest_service& ingest;
    readings::history_service& history;
    alarms::alarm_service& alarms;
    std::function<boost::asio::awaitable<bool>()> database_ready;
    util::worker_pool& parsing;  ///< bodies over http.inline_parse_bytes are parsed here
    const config::http_config& http;
    notifications::outbox_service& outbox;
    notifications::silence_service& silences;
    registry::nearby_service& nearby;
    stats::stats_service& stats;
    readings::retention_service& retention;
    /// GET /metrics: the Prometheus text, rendered at the scrape (the composition root's).
    std::function<boost::asio::awaitable<std::string>()> metrics_text;
    const config::metrics_config& metrics;
    cluster::cluster_service& cluster;
    const config::cluster_config& cluster_config;
    /// /readyz: the state of the ways in besides HTTP ({"mqtt":{...}}); they never make it fail,
    /// since HTTP ingest does not depend on them. Unset: none.
    std::function<nlohmann::json()> ways_in{};
    /// GET /api/v1/upward: upward reporting's position and backlog ({"enabled":false} when off).
    std::function<boost::asio::awaitable<nlohmann::json>()> upward_status{};
};

void add_health_routes(router& r, services& s);
void add_key_routes(router& r, services& s);
void add_session_routes(router& r, services& s);
void add_user_routes(router& r, services& s);
void add_audit_routes(router& r, services& s);
void add_registry_routes(router& r, services& s);
void add_readings_routes(router& r, services& s);
void add_storage_routes(router& r, services& s);
void add_rule_routes(router& r, services& s);
void add_alarm_routes(router& r, services& s);
void add_notification_routes(router& r, services& s);
void add_stats_routes(router& r, services& s);
void add_cluster_routes(router& r, services& s);

/// How this instance sends writes to the leader while it does not lead (dispatcher::forward_writes).
write_forwarding make_forwarding(services& s);

/// Every route of the API.
router make_router(services& s);

/// docs/openapi.json, compiled in (cmake/embed_text.cmake): the contract GET /api/v1/openapi.json serves.
std::string_view openapi_document();

/// Parses a JSON request body (http.json_max_depth; off the I/O thread when larger than
/// http.inline_parse_bytes) or throws api_error(invalid_json, invalid_text, overloaded).
boost::asio::awaitable<nlohmann::json> parse_body(services& s, const request& req);

/// Runs f() inline for a small body, on the parsing pool for a large one.
template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> parse_sized(services& s, std::size_t body_size, F f) {
    if (body_size <= s.http.inline_parse_bytes) co_return f();
    auto parsed = co_await s.parsing.run(std::move(f));
    co_return parsed;
}

}  // namespace cityguard::api
