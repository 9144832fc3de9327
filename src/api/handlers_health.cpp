#include "cityguard/api/routes.hpp"

namespace cityguard::api {

namespace net = boost::asio;

void add_health_routes(router& r, services& s) {
    r.add({"GET", "/healthz", access::anyone, false, [](request&) -> net::awaitable<response> {
               co_return json_response(200, {{"status", "ok"}, {"version", CITYGUARD_VERSION}});
           }});
    r.add({"GET", "/readyz", access::anyone, false, [&s](request&) -> net::awaitable<response> {
               if (co_await s.database_ready()) co_return json_response(200, {{"status", "ready"}});
               co_return error_response(errc::unavailable, "database unreachable");
           }});
}

}  // namespace cityguard::api
