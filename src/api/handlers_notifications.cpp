#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

/// The outbox (who was told what, and how it went), the notification policy, and silences.
void add_notification_routes(router& r, services& s) {
    r.add({"GET", "/api/v1/notifications", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.outbox.list(
                   req.query_param("status"), req.query_param("limit"), req.query_param("cursor")
               );
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/notifications/policy", access::read, false, [&s](request&) -> net::awaitable<response> {
               co_return json_response(200, s.outbox.policy());
           }});
    r.add({"GET", "/api/v1/silences", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.silences.list(req.query_param("state"), req.query_param("limit"));
               co_return json_response(200, body);
           }});
    r.add({"POST", "/api/v1/silences", access::read, true, [&s](request& req) -> net::awaitable<response> {
               auto doc = co_await parse_body(s, req);
               const std::string owner = req.caller ? req.caller->name : std::string();
               auto body = co_await s.silences.create(doc, owner);
               co_return json_response(201, body);
           }});
    r.add({"GET", "/api/v1/silences/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.silences.get(notifications::silence_id(req.params[0]));
               co_return json_response(200, body);
           }});
    r.add({"DELETE", "/api/v1/silences/{id}", access::read, false, [&s](request& req) -> net::awaitable<response> {
               const auto id = notifications::silence_id(req.params[0]);
               const std::string actor = req.caller ? req.caller->name : std::string();
               auto body = co_await s.silences.end(id, actor);
               co_return json_response(200, body);
           }});
}

}  // namespace cityguard::api
