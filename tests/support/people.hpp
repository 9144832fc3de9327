#pragma once
// Signing people in over real HTTP, for the integration tests of people, scopes and attacks on
// sessions: a session's cookie and CSRF token, and requests made with them.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "test_env.hpp"

namespace cityguard::test {

inline constexpr const char* kPassword = "Correct-Horse-9";

inline std::string cookie_of(const http_result& r) {
    const auto it = r.headers.find("Set-Cookie");
    if (it == r.headers.end()) return "";
    const auto& v = it->second;
    return v.substr(0, v.find(';'));  // "cg_session=..."
}

struct signed_in {
    std::string cookie, csrf;
};

inline signed_in sign_in(http_client& c, const std::string& login, const std::string& password = kPassword) {
    auto r = c.request(
        "POST",
        "/api/v1/session",
        nlohmann::json{{"login", login}, {"password", password}}.dump(),
        {{"Content-Type", "application/json"}}
    );
    if (r.status != 201) throw std::runtime_error("sign-in of " + login + " failed: " + r.body);
    return {cookie_of(r), r.json()["csrf_token"]};
}

inline http_result as(
    http_client& c,
    const signed_in& who,
    const std::string& method,
    const std::string& target,
    const std::string& body = ""
) {
    std::map<std::string, std::string> headers{{"Cookie", who.cookie}, {"X-CSRF-Token", who.csrf}};
    if (!body.empty()) headers["Content-Type"] = "application/json";
    return c.request(method, target, body, headers);
}

inline std::int64_t make_user(http_client& c, const nlohmann::json& user) {
    nlohmann::json body = user;
    if (!body.contains("password")) body["password"] = kPassword;
    if (!body.contains("display_name")) body["display_name"] = body["login"];
    auto r = c.call("POST", "/api/v1/users", kAdminKey, body.dump());
    if (r.status != 201) throw std::runtime_error("user not made: " + r.body);
    return r.json()["id"];
}

}  // namespace cityguard::test
