#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"
#include "scope.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

/// Stores parsed readings or events as the caller may send them (its key's scope and binding)
/// and answers with what was accepted, repeated and refused, item by item.
net::awaitable<response> ingest_parsed(services& s, request& req, readings::parsed_readings parsed) {
    std::function<bool(const registry::sensor_entry&)> may_send;
    if (req.caller && (!req.caller->scope.whole_city() || !req.caller->binding.any()))
        may_send = [who = *req.caller](const registry::sensor_entry& sensor) {
            return who.scope.covers(sensor.district, sensor.domain, sensor.site_unit) &&
                   who.binding.allows(sensor.site, sensor.id);
        };
    const auto result = co_await s.ingest.ingest(std::move(parsed), std::move(may_send));
    json rejected = json::array();
    for (const auto& x : result.rejected)
        rejected.push_back({{"index", x.index}, {"error", x.error}, {"message", x.message}});
    co_return json_response(
        200, {{"accepted", result.accepted}, {"duplicates", result.duplicates}, {"rejected", std::move(rejected)}}
    );
}

/// route::refusing for both ways readings come in: a full writer answers 503 from the header.
std::function<bool()> refused_unread(services& s) {
    return [&ingest = s.ingest] {
        if (!ingest.refusing()) return false;
        ingest.count_refused_unread();
        return true;
    };
}

}  // namespace

void add_readings_routes(router& r, services& s) {
    r.add(
        {"POST",
         "/api/v1/readings",
         access::ingest,
         true,
         [&s](request& req) -> net::awaitable<response> {
             auto parse = [&ingest = s.ingest, &body = req.body] { return ingest.parse(body); };
             auto parsed = co_await parse_sized(s, req.body.size(), parse);
             co_return co_await ingest_parsed(s, req, std::move(parsed));
         },
         false,
         false,
         refused_unread(s)}
    );  // not audited: see route::audited
    // A video-analysis platform's callback (docs/evidence.md): detections with their evidence,
    // stored as the sensors' readings, under the same keys, scopes and bounds.
    r.add(
        {"POST",
         "/api/v1/events",
         access::ingest,
         true,
         [&s](request& req) -> net::awaitable<response> {
             auto parse = [&ingest = s.ingest, &body = req.body] { return ingest.parse_events(body); };
             auto parsed = co_await parse_sized(s, req.body.size(), parse);
             co_return co_await ingest_parsed(s, req, std::move(parsed));
         },
         false,
         false,
         refused_unread(s)}
    );  // not audited, as readings
    r.add({"GET", "/api/v1/sensors/{id}/readings", access::read, false, [&s](request& req) -> net::awaitable<response> {
               if (const auto places = s.registry.directory().snapshot();
                   places->find(req.params[0]) && !covers_site(req, *places, places->find(req.params[0])->site))
                   throw api_error(errc::not_found, "no sensor '" + req.params[0] + "'");
               readings::readings_query q{
                   req.params[0],
                   req.query_param("from"),
                   req.query_param("to"),
                   req.query_param("limit"),
                   req.query_param("bucket")};
               auto body = co_await s.history.readings(std::move(q));
               co_return json_response(200, body);
           }});
}

}  // namespace cityguard::api
