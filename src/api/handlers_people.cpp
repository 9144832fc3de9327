#include <charconv>

#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"
#include "scope.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

std::int64_t user_id(const std::string& text) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || p != text.data() + text.size() || id <= 0)
        throw api_error(errc::not_found, "no user '" + text + "'");
    return id;
}

bool secure_cookie(const services& s, const request& req) {
    const auto& mode = s.auth.cookie_secure;
    return mode == "always" || (mode == "auto" && req.forwarded_proto == "https");
}

std::string session_cookie(const services& s, const request& req, const std::string& value, int max_age) {
    // HttpOnly: no script reads it (an injected one cannot steal the session); SameSite=Strict:
    // no other site's page sends it along.
    return std::string(kSessionCookie) + "=" + value + "; Path=/; Max-Age=" + std::to_string(max_age) +
           "; HttpOnly; SameSite=Strict" + (secure_cookie(s, req) ? "; Secure" : "");
}

json who_json(const auth::principal& p) {
    json out{
        {"name", p.name},
        {"kind", p.is_person() ? "user" : "key"},
        {"role", auth::to_string(p.role)},
        {"scope", auth::to_json(p.scope)}};
    if (p.is_person()) {
        out["user_id"] = p.user_id;
        out["display_name"] = p.display_name;
        out["must_enrol_second_factor"] = p.must_enrol_second_factor;
    }
    return out;
}

std::optional<std::string> text_or_none(const json& body, const char* name) {
    const auto it = body.find(name);
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) throw api_error(errc::validation_failed, std::string(name) + " must be text");
    return it->get<std::string>();
}

}  // namespace

void add_session_routes(router& r, services& s) {
    r.add({"POST", "/api/v1/session", access::anyone, true, [&s](request& req) -> net::awaitable<response> {
               const json body = co_await parse_body(s, req);
               if (!body.is_object())
                   throw api_error(errc::validation_failed, "body must be {\"login\",\"password\",\"code\"?}");
               for (auto it = body.begin(); it != body.end(); ++it)
                   if (it.key() != "login" && it.key() != "password" && it.key() != "code")
                       throw api_error(
                           errc::validation_failed, "sign-in takes login, password and code, not '" + it.key() + "'"
                       );
               auto login = text_or_none(body, "login");
               auto password = text_or_none(body, "password");
               if (!login || !password) throw api_error(errc::validation_failed, "login and password are needed");
               auto code = text_or_none(body, "code");
               auto planted = cookie_value(req.cookie, kSessionCookie);
               auto signed_in = co_await s.people.sign_in(
                   std::move(*login), std::move(*password), std::move(code), req.client, std::move(planted)
               );
               req.caller = signed_in.who;  // the trail names who signed in
               auto res = json_response(
                   201,
                   {{"who", who_json(signed_in.who)},
                    {"csrf_token", signed_in.csrf},
                    {"expires_in", signed_in.max_age_seconds}}
               );
               res.headers.emplace_back(
                   "Set-Cookie", session_cookie(s, req, signed_in.token, signed_in.max_age_seconds)
               );
               res.headers.emplace_back("Cache-Control", "no-store");
               co_return res;
           }});
    r.add({"GET", "/api/v1/session", access::signed_in, false, [&s](request& req) -> net::awaitable<response> {
               json body{{"who", who_json(*req.caller)}};
               if (req.caller->by_session) {
                   // The page learns its CSRF token again after a reload (the cookie is HttpOnly).
                   std::string token = cookie_value(req.cookie, kSessionCookie).value_or("");
                   auto found = co_await s.people.authenticate(std::move(token));
                   if (found) body["csrf_token"] = found->csrf;
               }
               auto res = json_response(200, body);
               res.headers.emplace_back("Cache-Control", "no-store");
               co_return res;
           }});
    r.add({"DELETE", "/api/v1/session", access::signed_in, false, [&s](request& req) -> net::awaitable<response> {
               if (auto token = cookie_value(req.cookie, kSessionCookie)) co_await s.people.sign_out(std::move(*token));
               response res{204, "application/json", "", {}};
               res.headers.emplace_back("Set-Cookie", session_cookie(s, req, "", 0));
               co_return res;
           }});
    r.add({"POST", "/api/v1/session/totp", access::signed_in, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.people.begin_totp(*req.caller);
               co_return json_response(201, body);
           }});
    r.add(
        {"POST",
         "/api/v1/session/totp/confirm",
         access::signed_in,
         true,
         [&s](request& req) -> net::awaitable<response> {
             const json body = co_await parse_body(s, req);
             auto code = body.is_object() ? text_or_none(body, "code") : std::nullopt;
             if (!code) throw api_error(errc::validation_failed, "body must be {\"code\":\"123456\"}");
             auto answer = co_await s.people.confirm_totp(*req.caller, std::move(*code));
             co_return json_response(200, answer);
         }}
    );
    r.add({"POST", "/api/v1/session/password", access::signed_in, true, [&s](request& req) -> net::awaitable<response> {
               const json body = co_await parse_body(s, req);
               auto current = body.is_object() ? text_or_none(body, "current_password") : std::nullopt;
               auto next = body.is_object() ? text_or_none(body, "new_password") : std::nullopt;
               if (!current || !next)
                   throw api_error(errc::validation_failed, "body must be {\"current_password\",\"new_password\"}");
               co_await s.people.change_password(*req.caller, std::move(*current), std::move(*next));
               response res{204, "application/json", "", {}};
               res.headers.emplace_back("Set-Cookie", session_cookie(s, req, "", 0));
               co_return res;
           }});
}

// A person linked to an escalation contact is that contact: the contact must exist and lie
// within the person's own scope (an enterprise's staff are its own unit's contacts).
auth::people_service::contact_check contact_within(services& s) {
    return [&s](std::string contact, auth::scope of_person) -> net::awaitable<void> {
        json found;
        try {
            found = co_await s.registry.get_contact(contact);
        } catch (const api_error& e) {
            if (e.code() != errc::not_found) throw;
            throw api_error(errc::validation_failed, "no contact '" + contact + "'");
        }
        if (!covers_contact(of_person, *s.registry.directory().snapshot(), found))
            throw api_error(errc::validation_failed, "contact '" + contact + "' lies outside the user's scope");
    };
}

void add_user_routes(router& r, services& s) {
    r.add({"POST", "/api/v1/users", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               json body = co_await parse_body(s, req);
               auto created = co_await s.people.create_user(std::move(body), *req.caller, contact_within(s));
               co_return json_response(201, created);
           }});
    r.add({"GET", "/api/v1/users", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               auto listed = co_await s.people.list_users(*req.caller);
               co_return json_response(200, listed);
           }});
    r.add({"GET", "/api/v1/users/{id}", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               auto found = co_await s.people.get_user(user_id(req.params[0]), *req.caller);
               co_return json_response(200, found);
           }});
    r.add({"PATCH", "/api/v1/users/{id}", access::admin, true, [&s](request& req) -> net::awaitable<response> {
               json body = co_await parse_body(s, req);
               auto changed = co_await s.people.update_user(
                   user_id(req.params[0]), std::move(body), *req.caller, contact_within(s)
               );
               co_return json_response(200, changed);
           }});
    r.add({"DELETE", "/api/v1/users/{id}", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               co_await s.people.delete_user(user_id(req.params[0]), *req.caller);
               co_return response{204, "application/json", "", {}};
           }});
}

void add_audit_routes(router& r, services& s) {
    const auto listed = [&s](const request& req) -> net::awaitable<json> {
        if (!req.caller->scope.whole_city())
            throw api_error(errc::forbidden, "the audit trail is for admins of the whole city");
        auto from = req.query_param("from"), to = req.query_param("to"), actor = req.query_param("actor"),
             action = req.query_param("action"), target = req.query_param("target"), limit = req.query_param("limit"),
             cursor = req.query_param("cursor");
        auto out = co_await s.audit.list(
            std::move(from),
            std::move(to),
            std::move(actor),
            std::move(action),
            std::move(target),
            std::move(limit),
            std::move(cursor)
        );
        co_return out;
    };
    r.add({"GET", "/api/v1/audit", access::admin, false, [listed](request& req) -> net::awaitable<response> {
               auto out = co_await listed(req);
               co_return json_response(200, out);
           }});
    r.add({"GET", "/api/v1/audit/export", access::admin, false, [listed](request& req) -> net::awaitable<response> {
               auto out = co_await listed(req);
               response res{200, "text/csv; charset=utf-8", auth::audit_trail::to_csv(out), {}};
               res.headers.emplace_back("Content-Disposition", "attachment; filename=\"cityguard-audit.csv\"");
               if (!out["next_cursor"].is_null())
                   res.headers.emplace_back("X-Next-Cursor", out["next_cursor"].get<std::string>());
               co_return res;
           }});
    r.add({"GET", "/api/v1/audit/verify", access::admin, false, [&s](request& req) -> net::awaitable<response> {
               if (!req.caller->scope.whole_city())
                   throw api_error(errc::forbidden, "the audit trail is for admins of the whole city");
               auto out = co_await s.audit.verify();
               co_return json_response(200, out);
           }});
}

}  // namespace cityguard::api
