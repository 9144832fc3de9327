#include "cityguard/api/routes.hpp"

#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cityguard::api {

boost::asio::awaitable<nlohmann::json> parse_body(services& s, const request& req) {
    const std::size_t depth = s.http.json_max_depth;
    auto parse = [&body = req.body, depth] { return util::parse_untrusted_json(body, depth); };
    auto doc = co_await parse_sized(s, req.body.size(), parse);
    co_return doc;
}

router make_router(services& s) {
    router r;
    add_health_routes(r, s);
    add_key_routes(r, s);
    add_session_routes(r, s);
    add_user_routes(r, s);
    add_audit_routes(r, s);
    add_registry_routes(r, s);
    add_readings_routes(r, s);
    add_storage_routes(r, s);
    add_rule_routes(r, s);
    add_alarm_routes(r, s);
    add_notification_routes(r, s);
    add_stats_routes(r, s);
    add_cluster_routes(r, s);
    return r;
}

}  // namespace cityguard::api
