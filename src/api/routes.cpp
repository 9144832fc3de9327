#include "cityguard/api/routes.hpp"

#include "cityguard/util/error.hpp"

namespace cityguard::api {

nlohmann::json parse_body(const request& req) {
    auto doc = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) throw api_error(errc::invalid_json, "request body is not valid JSON");
    return doc;
}

router make_router(services& s) {
    router r;
    add_health_routes(r, s);
    add_key_routes(r, s);
    add_registry_routes(r, s);
    add_readings_routes(r, s);
    add_alarm_routes(r, s);
    return r;
}

}  // namespace cityguard::api
