#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

void add_key_routes(router& r, services& s) {
    r.add({"POST", "/api/v1/keys", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               const json body = co_await parse_body(s, req);
               if (!body.is_object() || !body.contains("name") || !body["name"].is_string() || !body.contains("role") ||
                   !body["role"].is_string())
                   throw api_error(
                       errc::validation_failed, "body must be {\"name\":\"...\",\"role\":\"gateway|operator|admin\"}"
                   );
               auto role = auth::parse_role(body["role"].get<std::string>());
               if (!role) throw api_error(errc::validation_failed, "role must be gateway, operator, admin or monitor");
               auto created = co_await s.keys.create(body["name"].get<std::string>(), *role);
               co_return json_response(
                   201,
                   {{"name", created.name},
                    {"role", auth::to_string(created.role)},
                    {"key", created.key},
                    {"note", "store this key now: it is not shown again"}}
               );
           }});
    r.add({"GET", "/api/v1/keys", access::admin, false, [&s](request&) -> net::awaitable<response> {
               json keys = json::array();
               auto rows = co_await s.keys.list();
               for (const auto& k : rows)
                   keys.push_back(
                       {{"name", k.name}, {"role", k.role}, {"created_at", util::format_rfc3339(k.created_at)}}
                   );
               co_return json_response(200, {{"keys", std::move(keys)}});
           }});
    r.add({"DELETE", "/api/v1/keys/{name}", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               if (req.caller && req.caller->name == req.params[0])
                   throw api_error(errc::conflict, "a key cannot revoke itself");
               if (!co_await s.keys.revoke(req.params[0]))
                   throw api_error(errc::not_found, "no key named '" + req.params[0] + "'");
               co_return response{204, "application/json", "", {}};
           }});
}

}  // namespace cityguard::api
