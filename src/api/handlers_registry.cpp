#include "cityguard/api/routes.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

void add_registry_routes(router& r, services& s) {
    r.add({"PUT", "/api/v1/sites/{id}", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               auto doc = co_await parse_body(s, req);
               const bool created = co_await s.registry.put_site(req.params[0], doc);
               auto body = co_await s.registry.get_site(req.params[0]);
               co_return json_response(created ? 201 : 200, body);
           }});
    r.add({"GET", "/api/v1/sites", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.list_sites(req.query_param("domain"), req.query_param("district"));
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/sites/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.get_site(req.params[0]);
               co_return json_response(200, body);
           }});
    r.add({"PUT", "/api/v1/sensors/{id}", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               auto doc = co_await parse_body(s, req);
               const bool created = co_await s.registry.put_sensor(req.params[0], doc);
               auto body = co_await s.registry.get_sensor(req.params[0]);
               co_return json_response(created ? 201 : 200, body);
           }});
    r.add({"GET", "/api/v1/sensors", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.list_sensors(
                   req.query_param("site"), req.query_param("kind"), req.query_param("group")
               );
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/sensors/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.get_sensor(req.params[0]);
               co_return json_response(200, body);
           }});
    r.add({"PUT", "/api/v1/units/{id}", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               auto doc = co_await parse_body(s, req);
               const bool created = co_await s.registry.put_unit(req.params[0], doc);
               auto body = co_await s.registry.get_unit(req.params[0]);
               co_return json_response(created ? 201 : 200, body);
           }});
    r.add({"GET", "/api/v1/units", access::read, false, [&s](request&) -> net::awaitable<response> {
               auto body = co_await s.registry.list_units();
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/units/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.get_unit(req.params[0]);
               co_return json_response(200, body);
           }});
    r.add({"DELETE", "/api/v1/units/{id}", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               co_await s.registry.delete_unit(req.params[0]);
               co_return response{204, "application/json", "", {}};
           }});
    r.add({"PUT", "/api/v1/contacts/{id}", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               auto doc = co_await parse_body(s, req);
               const bool created = co_await s.registry.put_contact(req.params[0], doc);
               auto body = co_await s.registry.get_contact(req.params[0]);
               co_return json_response(created ? 201 : 200, body);
           }});
    r.add({"GET", "/api/v1/contacts", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.list_contacts(
                   req.query_param("unit"), req.query_param("district"), req.query_param("tier")
               );
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/contacts/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.get_contact(req.params[0]);
               co_return json_response(200, body);
           }});
    r.add({"DELETE", "/api/v1/contacts/{id}", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               co_await s.registry.delete_contact(req.params[0]);
               co_return response{204, "application/json", "", {}};
           }});
    r.add({"PUT", "/api/v1/resources/{id}", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               auto doc = co_await parse_body(s, req);
               const bool created = co_await s.registry.put_resource(req.params[0], doc);
               auto body = co_await s.registry.get_resource(req.params[0]);
               co_return json_response(created ? 201 : 200, body);
           }});
    r.add({"GET", "/api/v1/resources", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.list_resources(
                   req.query_param("kind"), req.query_param("district"), req.query_param("tag")
               );
               co_return json_response(200, body);
           }});
    // Before /resources/{id}: the router takes the first route that matches.
    r.add({"GET", "/api/v1/resources/nearby", access::read, false, [&s](request& req) -> net::awaitable<response> {
               const registry::nearby_request query{
                   req.query_param("lat"),
                   req.query_param("lon"),
                   req.query_param("kind"),
                   req.query_param("team_kind"),
                   req.query_param("material"),
                   req.query_param("limit")};
               auto body = co_await s.nearby.nearby(query);
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/resources/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.get_resource(req.params[0]);
               co_return json_response(200, body);
           }});
    r.add({"DELETE", "/api/v1/resources/{id}", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               co_await s.registry.delete_resource(req.params[0]);
               co_return response{204, "application/json", "", {}};
           }});
    r.add({"POST", "/api/v1/registry", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               auto doc = co_await parse_body(s, req);
               auto body = co_await s.registry.bulk_upsert(doc);
               co_return json_response(200, body);
           }});
}

}  // namespace cityguard::api
