#include <charconv>

#include "cityguard/api/errors.hpp"
#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"
#include "scope.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxBulkAlarms = 100;

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
    a.actor_user = req.caller->user_id;
    a.actor_name = req.caller->display_name;
    a.actor_is_admin = req.caller->role == auth::role::admin;
    for (auto it = body.begin(); it != body.end(); ++it) {
        if (it.key() == "note" && it->is_string() && it->get<std::string>().size() <= 4000)
            a.note = it->get<std::string>();
        else if (it.key() == "reason" && it->is_string())
            a.reason = it->get<std::string>();
        else if (it.key() == "force" && it->is_boolean())
            a.force = it->get<bool>();
        else if (what == alarm_model::action::assign && it.key() == "user" && (it->is_null() || it->is_string()))
            a.assignee = it->is_null() ? "" : it->get<std::string>();
        else
            throw api_error(
                errc::validation_failed,
                "'" + it.key() +
                    "' must be note (text), reason (text), force (true/false) or, to assign, user (a login or null)"
            );
    }
    return a;
}

/// An assignee must be an enabled person who may act on alarms and whose scope covers the alarm.
net::awaitable<void> check_assignee(services& s, const std::string& login, const json& alarm) {
    if (login.empty()) co_return;  // unassign
    auto who = co_await s.people.person(login);
    if (!who || !auth::allows_to_act(who->role))
        throw api_error(errc::validation_failed, "no enabled person '" + login + "' who acts on alarms");
    const auto places = s.registry.directory().snapshot();
    const auto* place = places->site(alarm.value("site", ""));
    if (!who->scope.whole_city() && !(place && who->scope.covers(place->district, place->domain, place->unit)))
        throw api_error(errc::validation_failed, "'" + login + "' cannot see this alarm: it lies outside their scope");
}

/// Events keep the person's id and display name since sql/0019; older events by a person
/// ("user:<login>") get the display name the account has now.
net::awaitable<void> name_actors(services& s, json& alarm) {
    if (!alarm.contains("events")) co_return;
    const auto unnamed = [](const json& e) {
        return !e.contains("actor_name") && e.value("actor", "").starts_with("user:");
    };
    bool any_unnamed = false;
    for (const auto& e : alarm["events"]) any_unnamed |= unnamed(e);
    if (!any_unnamed) co_return;
    const auto names = co_await s.people.display_names();
    for (auto& e : alarm["events"]) {
        if (!unnamed(e)) continue;
        const std::string actor = e.value("actor", "");
        if (const auto it = names.find(actor.substr(5)); it != names.end()) e["actor_name"] = it->second;
    }
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
               co_await name_actors(s, body);
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
          std::pair{"close", alarm_model::action::close},
          std::pair{"comment", alarm_model::action::comment},
          std::pair{"assign", alarm_model::action::assign}}) {
        const alarm_model::action act = what;
        r.add(
            {"POST",
             std::string("/api/v1/alarms/{id}/") + name,
             access::act,
             true,
             [&s, act](request& req) -> net::awaitable<response> {
                 const auto id = alarm_id(req.params[0]);
                 const json alarm = co_await scoped_alarm(s, req, id);
                 json fields = json::object();
                 if (!req.body.empty()) fields = co_await parse_body(s, req);
                 auto request = action_from(req, fields, act);  // named: GCC 12 mis-destroys temporaries in co_await
                 if (act == alarm_model::action::assign) co_await check_assignee(s, request.assignee, alarm);
                 auto body = co_await s.alarms.act(id, std::move(request));
                 co_return json_response(200, body);
             }}
        );
    }
    // Several alarms at once, each its own action and event; one refused does not stop the others.
    r.add({"POST", "/api/v1/alarms/bulk", access::act, true, [&s](request& req) -> net::awaitable<response> {
               json body = co_await parse_body(s, req);
               if (!body.is_object() || !body.contains("action") || !body["action"].is_string() ||
                   !body.contains("ids") || !body["ids"].is_array() || body["ids"].empty() ||
                   body["ids"].size() > kMaxBulkAlarms)
                   throw api_error(
                       errc::validation_failed,
                       "body must be {\"action\":\"acknowledge|close|comment\",\"ids\":[1..100 alarm ids],"
                       "\"note\"?,\"reason\"?}"
                   );
               const auto what = alarm_model::parse_action(body["action"].get<std::string>());
               if (!what || (*what != alarm_model::action::acknowledge && *what != alarm_model::action::close &&
                             *what != alarm_model::action::comment))
                   throw api_error(errc::validation_failed, "a bulk action is acknowledge, close or comment");
               const json ids = body["ids"];
               body.erase("action");
               body.erase("ids");
               const auto request = action_from(req, body, *what);
               json results = json::array();
               std::size_t done = 0;
               for (const auto& raw : ids) {
                   json item{{"id", raw}};
                   try {
                       if (!raw.is_number_integer() || raw.get<std::int64_t>() <= 0)
                           throw api_error(errc::not_found, "no alarm " + raw.dump());
                       const std::int64_t id = raw.get<std::int64_t>();
                       co_await scoped_alarm(s, req, id);
                       auto one = request;
                       auto after = co_await s.alarms.act(id, std::move(one));
                       item["status"] = after["status"];
                       ++done;
                   } catch (const api_error& e) {
                       item["error"] = {{"code", to_code(e.code())}, {"message", e.what()}};
                   } catch (const store::error& e) {
                       item["error"] = {{"code", to_code(to_errc(e.kind()))}, {"message", e.what()}};
                   }
                   results.push_back(std::move(item));
               }
               co_return json_response(200, {{"done", done}, {"results", std::move(results)}});
           }});
    r.add({"GET", "/api/v1/overview", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto scope = places_of(req);
               auto body = co_await s.alarms.overview(std::move(scope));
               co_return json_response(200, body);
           }});
}

}  // namespace cityguard::api
