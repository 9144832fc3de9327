#include "cityguard/api/routes.hpp"
#include "scope.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

/// Readings kept for years: the partitions and rollups, and a maintenance pass on demand.
void add_storage_routes(router& r, services& s) {
    r.add({"GET", "/api/v1/storage", access::read, false, [&s](request& req) -> net::awaitable<response> {
               require_whole_city(req, "storage is the whole city's");
               auto body = co_await s.retention.overview();
               co_return json_response(200, body);
           }});
    // Upward reporting (docs/upward.md): how far the superior platform has acknowledged the events.
    r.add({"GET", "/api/v1/upward", access::read, false, [&s](request& req) -> net::awaitable<response> {
               require_whole_city(req, "upward reporting is the whole city's");
               if (!s.upward_status) co_return json_response(200, {{"enabled", false}});
               auto body = co_await s.upward_status();
               co_return json_response(200, body);
           }});
    r.add({"POST", "/api/v1/storage/maintenance", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               require_whole_city(req, "storage is the whole city's");
               auto body = co_await s.retention.run_once();
               co_return json_response(200, body);
           }});
}

}  // namespace cityguard::api
