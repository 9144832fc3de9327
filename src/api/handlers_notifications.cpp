#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"
#include "scope.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

/// The outbox (who was told what, and how it went), the notification policy, and silences.
void add_notification_routes(router& r, services& s) {
    r.add({"GET", "/api/v1/notifications", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto scope = places_of(req);
               auto body = co_await s.outbox.list(
                   req.query_param("status"), req.query_param("limit"), req.query_param("cursor"), std::move(scope)
               );
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/notifications/policy", access::read, false, [&s](request&) -> net::awaitable<response> {
               co_return json_response(200, s.outbox.policy());
           }});
    r.add({"GET", "/api/v1/silences", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.silences.list(req.query_param("state"), req.query_param("limit"));
               if (req.caller && !req.caller->scope.whole_city()) {
                   const auto places = s.registry.directory().snapshot();
                   json kept = json::array();
                   for (auto& silence : body["silences"])
                       if (silence_within(req, *places, silence["matchers"])) kept.push_back(std::move(silence));
                   body["silences"] = std::move(kept);
               }
               co_return json_response(200, body);
           }});
    r.add({"POST", "/api/v1/silences", access::operate, true, [&s](request& req) -> net::awaitable<response> {
               auto doc = co_await parse_body(s, req);
               if (!doc.is_object() || !silence_within(req, *s.registry.directory().snapshot(), doc))
                   throw api_error(
                       errc::forbidden,
                       "a silence must lie within your scope (name your district, domain, site or sensor)"
                   );
               const std::string owner = req.caller ? req.caller->actor() : std::string();
               auto body = co_await s.silences.create(doc, owner);
               co_return json_response(201, body);
           }});
    r.add({"GET", "/api/v1/silences/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.silences.get(notifications::silence_id(req.params[0]));
               if (!silence_within(req, *s.registry.directory().snapshot(), body["matchers"]))
                   throw api_error(errc::not_found, "no silence " + req.params[0]);
               co_return json_response(200, body);
           }});
    r.add({"DELETE", "/api/v1/silences/{id}", access::operate, false, [&s](request& req) -> net::awaitable<response> {
               const auto id = notifications::silence_id(req.params[0]);
               if (req.caller && !req.caller->scope.whole_city()) {
                   auto found = co_await s.silences.get(id);
                   if (!silence_within(req, *s.registry.directory().snapshot(), found["matchers"]))
                       throw api_error(errc::not_found, "no silence " + req.params[0]);
               }
               const std::string actor = req.caller ? req.caller->actor() : std::string();
               auto body = co_await s.silences.end(id, actor);
               co_return json_response(200, body);
           }});
}

}  // namespace cityguard::api
