#include "cityguard/api/router.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "cityguard/api/errors.hpp"
#include "cityguard/util/crypto.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cityguard::api {

namespace net = boost::asio;

namespace {

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash);
    }
    return out;
}

bool match_pattern(
    const std::vector<std::string>& p, const std::vector<std::string_view>& s, std::vector<std::string>& params
) {
    if (p.size() != s.size()) return false;
    params.clear();
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i].size() > 2 && p[i].front() == '{' && p[i].back() == '}') {
            if (s[i].empty()) return false;
            params.emplace_back(s[i]);
        } else if (p[i] != s[i]) {
            return false;
        }
    }
    return true;
}

bool changes_state(std::string_view method) { return method != "GET" && method != "HEAD"; }

bool is_json(std::string_view content_type) {
    auto semi = content_type.find(';');
    auto type = content_type.substr(0, semi);
    while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    std::string lower(type);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    return lower == "application/json";
}

/// An address of this machine: the client is a local process (a Prometheus beside the server).
bool is_loopback(std::string_view client) {
    return client.rfind("127.", 0) == 0 || client == "::1" || client.rfind("::ffff:127.", 0) == 0;
}

}  // namespace

bool allows(access a, auth::role r) noexcept {
    using auth::role;
    switch (a) {
        case access::anyone:
            return true;
        case access::ingest:
            return r == role::gateway || r == role::admin;
        case access::read:
            return auth::is_person_role(r);
        case access::act:
            return auth::allows_to_act(r);
        case access::operate:
            return r == role::operator_ || r == role::admin;
        case access::admin:
            return r == role::admin;
        case access::monitor:
            return r == role::monitor || r == role::viewer || r == role::operator_ || r == role::admin;
        case access::signed_in:
            return true;
    }
    return false;
}

void router::add(route r) {
    const auto split = segments(r.pattern);
    pattern_segments_.emplace_back(split.begin(), split.end());
    routes_.push_back(std::move(r));
}

// The path is split once and every pattern was split at add(): splitting both for each route
// cost two allocations per route and request (a flat profile of single-reading requests showed it).
router::match router::find(std::string_view method, std::string_view path) const {
    match m;
    // A trailing slash is a different resource; only the exact form matches.
    if (path.size() > 1 && path.back() == '/') return m;
    const auto s = segments(path);
    std::vector<std::string> params;
    for (std::size_t i = 0; i < routes_.size(); ++i) {
        const auto& r = routes_[i];
        if (!match_pattern(pattern_segments_[i], s, params)) continue;
        if (r.method == method) {
            m.found = &r;
            m.params = std::move(params);
            m.allowed.clear();
            return m;
        }
        m.allowed.push_back(r.method);
    }
    return m;
}

response error_response(errc code, std::string_view message, const nlohmann::json& details) {
    auto res = json_response(to_http_status(code), error_body(code, message, details));
    if (const int wait = retry_after_seconds(code)) res.headers.emplace_back("Retry-After", std::to_string(wait));
    return res;
}

namespace {

response refusal_for(const api_error& e) { return error_response(e.code(), e.what(), e.details()); }
response refusal_for(const store::error& e) { return error_response(to_errc(e.kind()), e.what()); }

}  // namespace

net::awaitable<admission> dispatcher::admit(request& req) {
    admission out;
    try {
        if (!util::storable_text(req.path))
            throw api_error(errc::invalid_text, "the path must be UTF-8 text without NUL");
        for (const auto& [name, value] : req.query)
            if (!util::storable_text(name) || !util::storable_text(value))
                throw api_error(errc::invalid_text, "query parameter '" + name + "' must be UTF-8 text without NUL");
        if (!req.cluster_token.empty()) {
            // Only an instance of this cluster may say whose request it forwards.
            if (!forwarding_ || forwarding_->token.empty() ||
                !util::equal_secrets(req.cluster_token, forwarding_->token)) {
                out.refusal = error_response(errc::forbidden, "X-CityGuard-Cluster-Token does not match cluster.token");
                co_return out;
            }
            if (!req.forwarded_for.empty()) req.client = req.forwarded_for;
        }
        auto m = routes_.find(req.method, req.path);
        if (!m.found) {
            if (m.allowed.empty()) {
                out.refusal = error_response(errc::not_found, "no such resource: " + req.path);
                co_return out;
            }
            std::string allow;
            for (const auto& a : m.allowed) allow += (allow.empty() ? "" : ", ") + a;
            out.refusal = error_response(errc::method_not_allowed, req.method + " is not allowed here; use " + allow);
            out.refusal->headers.emplace_back("Allow", allow);
            co_return out;
        }
        const route& r = *m.found;
        out.matched = &r;
        req.params = std::move(m.params);
        if (r.who != access::anyone && !(r.open_on_loopback && is_loopback(req.client))) {
            if (auto refused = co_await authenticate(r, req)) {
                // A known caller refused a change is worth a line in the trail; an unknown one is noise.
                if (req.caller && refused->status == 403 && changes_state(req.method)) co_await record(r, req, 403);
                out.refusal = std::move(refused);
                co_return out;
            }
        }
        if (r.json_body && !is_json(req.content_type)) {
            out.refusal = error_response(errc::unsupported_media_type, "Content-Type must be application/json");
            co_return out;
        }
        if (r.refusing && r.refusing()) {
            out.refusal = error_response(errc::overloaded, "ingest queue is full; retry later");
            co_return out;
        }
        out.found = &r;
    } catch (const api_error& e) {
        out.refusal = refusal_for(e);
    } catch (const store::error& e) {
        out.refusal = refusal_for(e);
    } catch (const std::exception& e) {
        spdlog::error("{} {} refused: {}", req.method, req.path, e.what());
        out.refusal = error_response(errc::internal, "internal error");
    }
    co_return out;
}

net::awaitable<std::optional<response>> dispatcher::authenticate(const route& r, request& req) {
    if (!req.authorization.empty()) {
        req.caller = co_await keys_.authenticate(req.authorization, req.client);
        if (!req.caller) co_return error_response(errc::unauthorized, "invalid API key");
    } else if (auto token = people_ ? cookie_value(req.cookie, kSessionCookie) : std::nullopt) {
        auto found = co_await people_->authenticate(std::move(*token));
        if (!found) co_return error_response(errc::unauthorized, "the session has ended; sign in again");
        req.caller = std::move(found->who);
        // The cookie rides along with any request the browser makes, also one another site
        // started; only our own pages know the token.
        if (changes_state(req.method) && !util::equal_secrets(req.csrf_token, found->csrf))
            co_return error_response(errc::forbidden, "missing or wrong X-CSRF-Token for this session");
    } else {
        co_return error_response(errc::unauthorized, "sign in, or send Authorization: Bearer <key>");
    }
    if (req.caller->must_enrol_second_factor && !r.pattern.starts_with("/api/v1/session"))
        co_return error_response(
            errc::forbidden, "your role signs in with a second factor: enrol one first (POST /api/v1/session/totp)"
        );
    if (!allows(r.who, req.caller->role))
        co_return error_response(
            errc::forbidden, "the role " + std::string(auth::to_string(req.caller->role)) + " may not do this"
        );
    co_return std::nullopt;
}

net::awaitable<void> dispatcher::record(const route& r, const request& req, int status) {
    if (!audit_ || !r.audited) co_return;
    std::string target;
    for (const auto& p : req.params) target += (target.empty() ? "" : "/") + p;
    const auth::audit_entry entry{
        req.caller ? &*req.caller : nullptr,
        req.client,
        r.method + " " + r.pattern,
        std::move(target),
        req.body,
        status};
    co_await audit_->record(entry);
}

net::awaitable<response> dispatcher::serve(const route& r, request req) {
    response out;
    try {
        if (forwarding_ && changes_state(r.method) && !forwarding_->leading()) {
            // One hop at most: a forwarded request that finds the lead moved on gets 503 and
            // its client retries through whichever instance it reaches.
            if (req.forwarded) throw api_error(errc::unavailable, "this instance does not lead at the moment; retry");
            auto answered = co_await forwarding_->forward(req);
            if (answered) co_return std::move(*answered);  // the leader put it on record
        }
        out = co_await r.handle(req);
    } catch (const api_error& e) {
        out = refusal_for(e);
    } catch (const store::error& e) {
        out = refusal_for(e);
    } catch (const std::exception& e) {
        spdlog::error("{} {} failed: {}", req.method, req.path, e.what());
        out = error_response(errc::internal, "internal error");
    }
    if (changes_state(r.method)) co_await record(r, req, out.status);
    co_return out;
}

net::awaitable<response> dispatcher::handle(request req) {
    auto admitted = co_await admit(req);
    if (!admitted.found) co_return std::move(*admitted.refusal);
    auto served = co_await serve(*admitted.found, std::move(req));
    co_return served;
}

}  // namespace cityguard::api
