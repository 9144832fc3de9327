#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>

#include "cityguard/alarming/alarm_service.hpp"
#include "cityguard/api/router.hpp"
#include "cityguard/auth/key_service.hpp"
#include "cityguard/history/history_service.hpp"
#include "cityguard/ingest/ingest_service.hpp"
#include "cityguard/registry/registry_service.hpp"

namespace cityguard::api {

/// The services the handlers call. Owned by the composition root.
struct services {
    auth::key_service& keys;
    registry::registry_service& registry;
    ingest::ingest_service& ingest;
    history::history_service& history;
    alarming::alarm_service& alarms;
    std::function<boost::asio::awaitable<bool>()> database_ready;
};

void add_health_routes(router& r, services& s);
void add_key_routes(router& r, services& s);
void add_registry_routes(router& r, services& s);
void add_readings_routes(router& r, services& s);
void add_alarm_routes(router& r, services& s);

/// Every route of the API.
router make_router(services& s);

/// Parses a JSON request body or throws api_error(invalid_json).
nlohmann::json parse_body(const request& req);

}  // namespace cityguard::api
