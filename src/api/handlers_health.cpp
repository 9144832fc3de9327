#include "cityguard/api/routes.hpp"

namespace cityguard::api {

namespace net = boost::asio;

void add_health_routes(router& r, services& s) {
    r.add({"GET", "/healthz", access::anyone, false, [](request&) -> net::awaitable<response> {
               co_return json_response(200, {{"status", "ok"}, {"version", CITYGUARD_VERSION}});
           }});
    r.add({"GET", "/readyz", access::anyone, false, [&s](request&) -> net::awaitable<response> {
               if (co_await s.database_ready()) {
                   // Reads are served here either way; writes when this instance leads or knows who does.
                   auto body = s.cluster.role();
                   body["status"] = "ready";
                   body["writes"] = s.cluster.leading() || !s.cluster.leader_url().empty();
                   if (s.ways_in) {
                       const nlohmann::json ways = s.ways_in();
                       for (const auto& [way, state] : ways.items()) body[way] = state;
                   }
                   co_return json_response(200, body);
               }
               co_return error_response(errc::unavailable, "database unreachable");
           }});
    r.add({"GET", "/api/v1/openapi.json", access::anyone, false, [](request&) -> net::awaitable<response> {
               co_return response{200, "application/json", std::string(openapi_document()), {}};
           }});
    route metrics{"GET", "/metrics", access::monitor, false, [&s](request&) -> net::awaitable<response> {
                      response res;
                      res.content_type = "text/plain; version=0.0.4; charset=utf-8";
                      res.body = co_await s.metrics_text();
                      co_return res;
                  }};
    if (s.metrics.access == "open") metrics.who = access::anyone;
    metrics.open_on_loopback = s.metrics.access == "loopback";
    r.add(std::move(metrics));
}

}  // namespace cityguard::api
