#include "cityguard/api/routes.hpp"

namespace cityguard::api {

namespace net = boost::asio;
using json = nlohmann::json;

void add_readings_routes(router& r, services& s) {
    r.add({"POST", "/api/v1/readings", access::ingest, true, [&s](request& req) -> net::awaitable<response> {
               auto parse = [&ingest = s.ingest, &body = req.body] { return ingest.parse(body); };
               auto parsed = co_await parse_sized(s, req.body.size(), parse);
               const auto result = co_await s.ingest.ingest(std::move(parsed));
               json rejected = json::array();
               for (const auto& x : result.rejected)
                   rejected.push_back({{"index", x.index}, {"error", x.error}, {"message", x.message}});
               co_return json_response(
                   200,
                   {{"accepted", result.accepted}, {"duplicates", result.duplicates}, {"rejected", std::move(rejected)}}
               );
           }});
    r.add({"GET", "/api/v1/sensors/{id}/readings", access::read, false, [&s](request& req) -> net::awaitable<response> {
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
