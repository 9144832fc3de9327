#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"
#include "scope.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

/// Rule packs and what they cover: GET /rules and /bundles, reload, replay, a site's coverage.
void add_rule_routes(router& r, services& s) {
    r.add({"GET", "/api/v1/rules", access::read, false, [&s](request&) -> net::awaitable<response> {
               co_return response{200, "application/json", s.alarms.rules_body(), {}};
           }});
    r.add({"POST", "/api/v1/rules/replay", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               require_whole_city(req, "replay is for admins of the whole city");
               auto doc = co_await parse_body(s, req);
               auto body = co_await s.alarms.replay(std::move(doc));
               co_return json_response(200, body);
           }});
    r.add({"POST", "/api/v1/rules/reload", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               require_whole_city(req, "reload is for admins of the whole city");
               auto body = co_await s.alarms.reload();
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/bundles", access::read, false, [&s](request&) -> net::awaitable<response> {
               co_return response{200, "application/json", s.alarms.bundles_body(), {}};
           }});
    // The domains the rule packs declare (names, colour, icon, sensor kinds): reference data
    // every dashboard needs, like the bundles, so not narrowed by scope.
    r.add({"GET", "/api/v1/domains", access::read, false, [&s](request&) -> net::awaitable<response> {
               co_return response{200, "application/json", s.alarms.domains_body(), {}};
           }});
    // The duty overview: each bundle site of the caller's part of the city and whether its
    // required items are watched (an enterprise user sees its own sites: "my duties").
    r.add({"GET", "/api/v1/coverage", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto domain = req.query_param("domain"), district = req.query_param("district");
               auto sites = co_await s.registry.list_sites(std::move(domain), std::move(district));
               const auto unit = req.query_param("unit");
               json kept = json::array();
               for (auto& site : sites["sites"])
                   if (covers_site_json(req, site) && (!unit || site.value("unit", "") == *unit))
                       kept.push_back(std::move(site));
               const auto unmet = req.query_param("unmet");
               if (unmet && *unmet != "true" && *unmet != "false")
                   throw api_error(errc::bad_request, "unmet must be true or false");
               alarms::coverage_query q{req.query_param("limit"), req.query_param("cursor"), unmet && *unmet == "true"};
               json listed = json::object();
               listed["sites"] = std::move(kept);
               auto body = co_await s.alarms.coverage_list(std::move(listed), std::move(q));
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/sites/{id}/coverage", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto site = co_await s.registry.get_site(req.params[0]);  // 404 for an unknown site
               if (!covers_site_json(req, site)) throw api_error(errc::not_found, "no site '" + req.params[0] + "'");
               auto sensors = co_await s.registry.list_sensors(req.params[0], std::nullopt, std::nullopt);
               auto body = co_await s.alarms.coverage(std::move(site), std::move(sensors));
               co_return json_response(200, body);
           }});
}

}  // namespace cityguard::api
