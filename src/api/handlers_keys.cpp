#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

auth::principal key_from(const json& body, const auth::principal& caller) {
    const char* shape =
        "body must be {\"name\":\"...\",\"role\":\"gateway|monitor|viewer|operator|enterprise|admin\","
        "\"scope\":{...},\"binding\":{\"sites\":[...],\"sensors\":[...]}} (scope and binding optional)";
    if (!body.is_object() || !body.contains("name") || !body["name"].is_string() || !body.contains("role") ||
        !body["role"].is_string())
        throw api_error(errc::validation_failed, shape);
    auth::principal who;
    for (auto it = body.begin(); it != body.end(); ++it)
        if (it.key() != "name" && it.key() != "role" && it.key() != "scope" && it.key() != "binding")
            throw api_error(errc::validation_failed, std::string(shape) + "; no member '" + it.key() + "'");
    who.name = body["name"].get<std::string>();
    const auto role = auth::parse_role(body["role"].get<std::string>());
    if (!role)
        throw api_error(
            errc::validation_failed, "role must be gateway, monitor, viewer, operator, enterprise or admin"
        );
    who.role = *role;
    if (body.contains("scope")) who.scope = auth::parse_scope(body["scope"]);
    if (body.contains("binding")) who.binding = auth::parse_binding(body["binding"]);
    if (who.role == auth::role::enterprise && who.scope.units.empty())
        throw api_error(errc::validation_failed, "an enterprise key needs a scope with units");
    // Nobody hands out more of the city than they cover themselves.
    if (!caller.scope.contains(who.scope)) throw api_error(errc::forbidden, "the key's scope must lie within your own");
    return who;
}

}  // namespace

void add_key_routes(router& r, services& s) {
    r.add({"POST", "/api/v1/keys", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               const json body = co_await parse_body(s, req);
               auto who = key_from(body, *req.caller);
               auto created = co_await s.keys.create(std::move(who));
               co_return json_response(
                   201,
                   {{"name", created.who.name},
                    {"role", auth::to_string(created.who.role)},
                    {"scope", auth::to_json(created.who.scope)},
                    {"binding", auth::to_json(created.who.binding)},
                    {"key", created.key},
                    {"note", "store this key now: it is not shown again"}}
               );
           }});
    r.add({"GET", "/api/v1/keys", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               json keys = json::array();
               auto rows = co_await s.keys.list();
               for (const auto& k : rows) {
                   const json scope = json::parse(k.scope, nullptr, false);
                   // An admin of part of the city sees the keys inside its part only.
                   if (!scope.is_discarded() && !req.caller->scope.whole_city()) {
                       try {
                           if (!req.caller->scope.contains(auth::parse_scope(scope))) continue;
                       } catch (const api_error&) {
                           continue;
                       }
                   }
                   keys.push_back(
                       {{"name", k.name},
                        {"role", k.role},
                        {"scope", scope.is_discarded() ? json::object() : scope},
                        {"binding",
                         json::parse(k.binding, nullptr, false).is_discarded() ? json::object()
                                                                               : json::parse(k.binding)},
                        {"created_at", util::format_rfc3339(k.created_at)}}
                   );
               }
               co_return json_response(200, {{"keys", std::move(keys)}});
           }});
    r.add({"DELETE", "/api/v1/keys/{name}", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               if (req.caller && !req.caller->is_person() && req.caller->name == req.params[0])
                   throw api_error(errc::conflict, "a key cannot revoke itself");
               if (!req.caller->scope.whole_city())
                   throw api_error(errc::forbidden, "only an admin of the whole city revokes keys");
               if (!co_await s.keys.revoke(req.params[0]))
                   throw api_error(errc::not_found, "no key named '" + req.params[0] + "'");
               co_return response{204, "application/json", "", {}};
           }});
}

}  // namespace cityguard::api
