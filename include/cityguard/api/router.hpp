#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cityguard/api/request.hpp"
#include "cityguard/auth/audit_trail.hpp"
#include "cityguard/auth/key_service.hpp"
#include "cityguard/auth/people_service.hpp"
#include "cityguard/util/error.hpp"

namespace cityguard::api {

/// Who may call a route (roles: auth::role). Which part of the city a caller sees is its
/// scope's business, checked by each service.
enum class access {
    anyone,     ///< nobody needs to be known (health probes, sign-in)
    ingest,     ///< gateway or admin
    read,       ///< any person: viewer, operator, enterprise or admin
    act,        ///< acts on alarms: operator, enterprise or admin
    operate,    ///< the command centre's work beyond alarms (silences): operator or admin
    admin,      ///< admin only
    monitor,    ///< monitor or any person but enterprise (GET /metrics)
    signed_in,  ///< any known caller, person or key (the caller's own session)
};

/// True when `r` satisfies `a` (anyone is always satisfied).
bool allows(access a, auth::role r) noexcept;

using handler = std::function<boost::asio::awaitable<response>(request&)>;

struct route {
    std::string method;
    std::string pattern;  ///< "/api/v1/sites/{id}": a {name} matches one non-empty segment
    access who = access::read;
    bool json_body = false;  ///< the request must carry Content-Type: application/json
    handler handle;
    bool open_on_loopback = false;  ///< no key needed from a loopback address (metrics.access "loopback")
    /// State-changing requests go on the audit trail; readings are their own record (each row
    /// names its sensor and time), and a trail row per batch would double the cost of ingest.
    bool audited = true;
    /// Set for routes whose work goes to a queue that can be full (readings): when it says so,
    /// the request is answered 503 from its header, before its body is read and parsed.
    std::function<bool()> refusing{};
};

/// A table of routes. Matching tells "no such path" (404) from "path exists, wrong method"
/// (405 with the allowed methods). Immutable after set-up; find() is thread-safe.
class router {
  public:
    void add(route r);

    struct match {
        const route* found = nullptr;
        std::vector<std::string> params;
        std::vector<std::string> allowed;  ///< methods of the path when the method did not match
    };
    match find(std::string_view method, std::string_view path) const;

    const std::vector<route>& routes() const noexcept { return routes_; }

  private:
    std::vector<route> routes_;
    std::vector<std::vector<std::string>> pattern_segments_;  ///< routes_[i].pattern split at '/'
};

/// What admit() decided about a request from its header alone.
struct admission {
    const route* found = nullptr;     ///< the route to serve, when admitted
    const route* matched = nullptr;   ///< the route the request named, also when refused after matching
    std::optional<response> refusal;  ///< the answer instead, when not
};

/// Where writes go on an instance that does not lead (docs/scaling.md). The composition root
/// builds it over cluster::cluster_service.
struct write_forwarding {
    /// True while this instance takes writes itself.
    std::function<bool()> leading;
    /// The token instances share (cluster.token): a request that carries it was forwarded by an
    /// instance and names its client. Empty: no request may claim that.
    std::string token;
    /// The leader's answer to `req`, unchanged, or nullopt when this instance leads now (it
    /// serves `req` itself); throws api_error (unavailable, overloaded) when there is none.
    std::function<boost::asio::awaitable<std::optional<response>>(const request& req)> forward;
};

/// Runs one request through the router: text checks of path and query, route, authentication,
/// role, content type, handler, and the one place where exceptions become JSON error
/// responses. Split in two so that the HTTP layer decides everything it can from the header
/// before it reads (and holds) a body: admit(), then serve(). Never throws.
/// Thread safety: all members may run concurrently.
class dispatcher {
  public:
    dispatcher(router routes, auth::key_service& keys) : routes_(std::move(routes)), keys_(keys) {}

    /// Signed-in browsers (the session cookie) and the audit trail. Without them (harnesses),
    /// only keys authenticate and nothing is put on record.
    void use_people(auth::people_service* people, auth::audit_trail* audit) {
        people_ = people;
        audit_ = audit;
    }

    /// Forwards writes (every method but GET and HEAD) to the leader while this instance does
    /// not lead. Call before serving.
    void forward_writes(write_forwarding how) { forwarding_ = std::move(how); }

    /// Needs method, path, query, authorization (or cookie and csrf_token), content_type and
    /// client of `req`; sets its params and caller.
    boost::asio::awaitable<admission> admit(request& req);
    /// Runs the admitted route's handler with the complete request.
    boost::asio::awaitable<response> serve(const route& r, request req);
    /// admit() then serve(), for a request whose body is already there.
    boost::asio::awaitable<response> handle(request req);

    const std::vector<route>& routes() const noexcept { return routes_.routes(); }
    /// The position of `r` in routes(): its slot in metrics::http_metrics.
    std::size_t route_index(const route& r) const noexcept {
        return static_cast<std::size_t>(&r - routes_.routes().data());
    }

  private:
    boost::asio::awaitable<std::optional<response>> authenticate(const route& r, request& req);
    boost::asio::awaitable<void> record(const route& r, const request& req, int status);

    router routes_;
    auth::key_service& keys_;
    auth::people_service* people_ = nullptr;
    auth::audit_trail* audit_ = nullptr;
    std::optional<write_forwarding> forwarding_;
};

/// An error response with the standard body.
response error_response(errc code, std::string_view message, const nlohmann::json& details = nullptr);

}  // namespace cityguard::api
