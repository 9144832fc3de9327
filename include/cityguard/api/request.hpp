#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cityguard/auth/key_service.hpp"

/// The API's own view of HTTP: plain structs, so handlers stay free of Beast and can be
/// called directly in tests.
namespace cityguard::api {

/// The cookie that carries a signed-in browser's session.
inline constexpr std::string_view kSessionCookie = "cg_session";

struct request {
    std::string method;  ///< "GET", "POST", ...
    std::string path;    ///< percent-decoded, without the query
    std::unordered_map<std::string, std::string> query;
    std::string authorization;
    std::string cookie;           ///< the Cookie header: a signed-in browser's session (cg_session)
    std::string csrf_token;       ///< X-CSRF-Token: must match the session's on state-changing requests
    std::string forwarded_proto;  ///< X-Forwarded-Proto from a TLS proxy in front: "https" makes cookies Secure
    std::string content_type;
    std::string client;  ///< the peer's address: whose per-client limits the request uses
    std::string body;

    std::vector<std::string> params;        ///< the {placeholders} of the matched route, in order
    std::optional<auth::principal> caller;  ///< set by the dispatcher after authentication

    // Several instances (docs/scaling.md): what a follower needs to forward a write to the
    // leader, and what the leader reads from a forwarded one.
    std::string target;         ///< as received: path and query, undecoded
    std::string cluster_token;  ///< X-CityGuard-Cluster-Token: a forwarding instance's shared token
    std::string forwarded_for;  ///< X-CityGuard-Forwarded-For: the client a follower forwards for
    bool forwarded = false;     ///< X-CityGuard-Forwarded: an instance sent it on; never forwarded again

    std::optional<std::string> query_param(std::string_view name) const;
};

struct response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

response json_response(int status, const nlohmann::json& body);

/// The value of cookie `name` in a Cookie header, or nullopt.
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

/// Splits a request target into a decoded path and decoded query parameters. False when the
/// target is malformed (bad percent-escape, not absolute, or a ".." segment).
bool parse_target(std::string_view target, std::string& path, std::unordered_map<std::string, std::string>& query);

}  // namespace cityguard::api
