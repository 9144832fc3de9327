#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"
#include "scope.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

/// Each sensor's state from the site's open alarms: the worst process alarm's level, and
/// whether it is offline or in fault.
void add_sensor_states(json& sensors, const json& open_alarms) {
    static constexpr const char* kLevels[] = {"red", "orange", "yellow", "blue"};
    const auto rank = [](const std::string& level) {
        for (int i = 0; i < 4; ++i)
            if (level == kLevels[i]) return i;
        return 4;
    };
    for (auto& sensor : sensors) {
        json alarm = nullptr;
        bool offline = false, fault = false;
        for (const auto& a : open_alarms) {
            if (a.value("sensor", "") != sensor.value("id", "") || a.value("condition", "") == "cleared") continue;
            const auto category = a.value("category", "process");
            offline = offline || category == "offline";
            fault = fault || category == "fault";
            if (category == "process" &&
                (alarm.is_null() || rank(a.value("level", "")) < rank(alarm.get<std::string>())))
                alarm = a.value("level", "");
        }
        sensor["state"] = {{"alarm", alarm}, {"offline", offline}, {"fault", fault}};
    }
}

/// The site file (一企一档 for a site): the registry's record with its sensors, unit and
/// contacts, each sensor's state, open and recent alarms, the bundle coverage where its domain
/// has one, the last 30 days' statistics and the nearest emergency resources.
net::awaitable<json> site_file(services& s, const request& req, const std::string& id) {
    json site = co_await s.registry.get_site(id);  // 404 for an unknown site
    if (!covers_site_json(req, site)) throw api_error(errc::not_found, "no site '" + id + "'");
    alarms::list_query open_query;
    open_query.site = id;
    open_query.status = "active";
    open_query.limit = "200";
    json open = co_await s.alarms.list(std::move(open_query));
    alarms::list_query recent_query;
    recent_query.site = id;
    recent_query.limit = "10";
    json recent = co_await s.alarms.list(std::move(recent_query));
    add_sensor_states(site["sensors"], open["alarms"]);
    site["alarms"] = {{"open", std::move(open["alarms"])}, {"recent", std::move(recent["alarms"])}};
    site["coverage"] = nullptr;
    try {
        json sensors = co_await s.registry.list_sensors(id, std::nullopt, std::nullopt);
        json record = site;
        site["coverage"] = co_await s.alarms.coverage(std::move(record), std::move(sensors));
    } catch (const api_error& e) {
        if (e.code() != errc::not_found) throw;  // no bundle for its domain: no coverage
    }
    stats::stats_request last_30_days;
    last_30_days.site = id;
    last_30_days.top = "0";
    json figures = co_await s.stats.table(last_30_days);
    site["stats"] = {{"from", figures["from"]}, {"to", figures["to"]}, {"total", std::move(figures["total"])}};
    registry::nearby_request around;
    around.lat = site["lat"].dump();
    around.lon = site["lon"].dump();
    site["resources"] = co_await s.nearby.nearby(around);
    co_return site;
}

}  // namespace

void add_registry_routes(router& r, services& s) {
    r.add({"PUT", "/api/v1/sites/{id}", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               auto doc = co_await parse_body(s, req);
               if (!covers_site_json(req, doc) || !covers_site(req, *s.registry.directory().snapshot(), req.params[0]))
                   throw api_error(errc::forbidden, "the site must lie within your scope");
               const bool created = co_await s.registry.put_site(req.params[0], doc);
               auto body = co_await s.registry.get_site(req.params[0]);
               co_return json_response(created ? 201 : 200, body);
           }});
    r.add({"GET", "/api/v1/sites", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.list_sites(req.query_param("domain"), req.query_param("district"));
               if (req.caller && !req.caller->scope.whole_city()) {
                   auto& sites = body["sites"];
                   json kept = json::array();
                   for (auto& site : sites)
                       if (covers_site_json(req, site)) kept.push_back(std::move(site));
                   sites = std::move(kept);
               }
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/sites/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await site_file(s, req, req.params[0]);
               co_return json_response(200, body);
           }});
    r.add({"PUT", "/api/v1/sensors/{id}", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               auto doc = co_await parse_body(s, req);
               if (req.caller && !req.caller->scope.whole_city()) {
                   const auto places = s.registry.directory().snapshot();
                   const auto* old = places->find(req.params[0]);
                   const bool site_ok = doc.is_object() && doc.contains("site") && doc["site"].is_string() &&
                                        covers_site(req, *places, doc["site"].get<std::string>());
                   if (!site_ok || (old && !covers_site(req, *places, old->site)))
                       throw api_error(errc::forbidden, "the sensor's site must lie within your scope");
               }
               const bool created = co_await s.registry.put_sensor(req.params[0], doc);
               auto body = co_await s.registry.get_sensor(req.params[0]);
               co_return json_response(created ? 201 : 200, body);
           }});
    r.add({"GET", "/api/v1/sensors", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.list_sensors(
                   req.query_param("site"), req.query_param("kind"), req.query_param("group")
               );
               if (req.caller && !req.caller->scope.whole_city()) {
                   const auto places = s.registry.directory().snapshot();
                   json kept = json::array();
                   for (auto& sensor : body["sensors"])
                       if (covers_site(req, *places, sensor.value("site", ""))) kept.push_back(std::move(sensor));
                   body["sensors"] = std::move(kept);
               }
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/sensors/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.get_sensor(req.params[0]);
               if (!covers_site(req, *s.registry.directory().snapshot(), body.value("site", "")))
                   throw api_error(errc::not_found, "no sensor '" + req.params[0] + "'");
               co_return json_response(200, body);
           }});
    r.add({"PUT", "/api/v1/units/{id}", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               require_whole_city(
                   req, "units, contacts, resources and bulk documents are the whole city's admins' to change"
               );
               auto doc = co_await parse_body(s, req);
               const bool created = co_await s.registry.put_unit(req.params[0], doc);
               auto body = co_await s.registry.get_unit(req.params[0]);
               co_return json_response(created ? 201 : 200, body);
           }});
    r.add({"GET", "/api/v1/units", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.list_units();
               if (req.caller && !req.caller->scope.whole_city()) {
                   const auto places = s.registry.directory().snapshot();
                   json kept = json::array();
                   for (auto& unit : body["units"])
                       if (covers_unit(req, *places, unit.value("id", ""))) kept.push_back(std::move(unit));
                   body["units"] = std::move(kept);
               }
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/units/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               if (!covers_unit(req, *s.registry.directory().snapshot(), req.params[0]))
                   throw api_error(errc::not_found, "no unit '" + req.params[0] + "'");
               auto body = co_await s.registry.get_unit(req.params[0]);
               co_return json_response(200, body);
           }});
    r.add({"DELETE", "/api/v1/units/{id}", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               require_whole_city(
                   req, "units, contacts, resources and bulk documents are the whole city's admins' to change"
               );
               co_await s.registry.delete_unit(req.params[0]);
               co_return response{204, "application/json", "", {}};
           }});
    r.add({"PUT", "/api/v1/contacts/{id}", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               require_whole_city(
                   req, "units, contacts, resources and bulk documents are the whole city's admins' to change"
               );
               auto doc = co_await parse_body(s, req);
               const bool created = co_await s.registry.put_contact(req.params[0], doc);
               auto body = co_await s.registry.get_contact(req.params[0]);
               co_return json_response(created ? 201 : 200, body);
           }});
    r.add({"GET", "/api/v1/contacts", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.list_contacts(
                   req.query_param("unit"), req.query_param("district"), req.query_param("tier")
               );
               if (req.caller && !req.caller->scope.whole_city()) {
                   const auto places = s.registry.directory().snapshot();
                   json kept = json::array();
                   for (auto& contact : body["contacts"])
                       if (covers_contact(req, *places, contact)) kept.push_back(std::move(contact));
                   body["contacts"] = std::move(kept);
               }
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/contacts/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.registry.get_contact(req.params[0]);
               if (!covers_contact(req, *s.registry.directory().snapshot(), body))
                   throw api_error(errc::not_found, "no contact '" + req.params[0] + "'");
               co_return json_response(200, body);
           }});
    r.add({"DELETE", "/api/v1/contacts/{id}", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               require_whole_city(
                   req, "units, contacts, resources and bulk documents are the whole city's admins' to change"
               );
               co_await s.registry.delete_contact(req.params[0]);
               co_return response{204, "application/json", "", {}};
           }});
    r.add({"PUT", "/api/v1/resources/{id}", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               require_whole_city(
                   req, "units, contacts, resources and bulk documents are the whole city's admins' to change"
               );
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
               require_whole_city(
                   req, "units, contacts, resources and bulk documents are the whole city's admins' to change"
               );
               co_await s.registry.delete_resource(req.params[0]);
               co_return response{204, "application/json", "", {}};
           }});
    r.add({"POST", "/api/v1/registry", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               require_whole_city(
                   req, "units, contacts, resources and bulk documents are the whole city's admins' to change"
               );
               auto doc = co_await parse_body(s, req);
               auto body = co_await s.registry.bulk_upsert(doc);
               co_return json_response(200, body);
           }});
}

}  // namespace cityguard::api
