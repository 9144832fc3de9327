#include <charconv>

#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"
#include "scope.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

std::int64_t alarm_id(const std::string& text) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || p != text.data() + text.size() || id <= 0)
        throw api_error(errc::not_found, "no alarm '" + text + "'");
    return id;
}

alarm_model::action_request action_from(const request& req, const json& body, alarm_model::action what) {
    if (!body.is_object())
        throw api_error(errc::validation_failed, "body must be {\"note\":...,\"reason\":...,\"force\":...}");
    alarm_model::action_request a;
    a.what = what;
    a.actor = req.caller->actor();
    a.actor_is_admin = req.caller->role == auth::role::admin;
    for (auto it = body.begin(); it != body.end(); ++it) {
        if (it.key() == "note" && it->is_string() && it->get<std::string>().size() <= 4000)
            a.note = it->get<std::string>();
        else if (it.key() == "reason" && it->is_string())
            a.reason = it->get<std::string>();
        else if (it.key() == "force" && it->is_boolean())
            a.force = it->get<bool>();
        else
            throw api_error(
                errc::validation_failed, "'" + it.key() + "' must be note (text), reason (text) or force (true/false)"
            );
    }
    return a;
}

/// The alarm, or not_found when there is none the caller covers.
net::awaitable<json> scoped_alarm(services& s, const request& req, std::int64_t id) {
    auto body = co_await s.alarms.get(id);
    if (!covers_site(req, *s.registry.directory().snapshot(), body.value("site", "")))
        throw api_error(errc::not_found, "no alarm " + std::to_string(id));
    co_return body;
}

}  // namespace

void add_alarm_routes(router& r, services& s) {
    r.add({"GET", "/api/v1/alarms", access::read, false, [&s](request& req) -> net::awaitable<response> {
               alarms::list_query q{
                   req.query_param("status"),
                   req.query_param("level"),
                   req.query_param("domain"),
                   req.query_param("site"),
                   req.query_param("sensor"),
                   req.query_param("rule"),
                   req.query_param("category"),
                   req.query_param("from"),
                   req.query_param("to"),
                   req.query_param("limit"),
                   req.query_param("cursor"),
                   req.query_param("inhibited"),
                   places_of(req)};
               auto body = co_await s.alarms.list(std::move(q));
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/alarms/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               const auto id = alarm_id(req.params[0]);
               auto body = co_await scoped_alarm(s, req, id);
               body["notifications"] = co_await s.outbox.of_alarm(id);
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/alarms/{id}/resources", access::read, false, [&s](request& req) -> net::awaitable<response> {
               const auto id = alarm_id(req.params[0]);
               co_await scoped_alarm(s, req, id);
               auto body = co_await s.nearby.for_alarm(id, req.query_param("limit"));
               co_return json_response(200, body);
           }});
    for (const auto& [name, what] :
         {std::pair{"acknowledge", alarm_model::action::acknowledge},
          std::pair{"handle", alarm_model::action::handle},
          std::pair{"resolve", alarm_model::action::resolve},
          std::pair{"close", alarm_model::action::close}}) {
        const alarm_model::action act = what;
        r.add(
            {"POST",
             std::string("/api/v1/alarms/{id}/") + name,
             access::act,
             true,
             [&s, act](request& req) -> net::awaitable<response> {
                 const auto id = alarm_id(req.params[0]);
                 co_await scoped_alarm(s, req, id);
                 json fields = json::object();
                 if (!req.body.empty()) fields = co_await parse_body(s, req);
                 auto request = action_from(req, fields, act);  // named: GCC 12 mis-destroys temporaries in co_await
                 auto body = co_await s.alarms.act(id, std::move(request));
                 co_return json_response(200, body);
             }}
        );
    }
    r.add({"GET", "/api/v1/overview", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto scope = places_of(req);
               auto body = co_await s.alarms.overview(std::move(scope));
               co_return json_response(200, body);
           }});
}

}  // namespace cityguard::api
