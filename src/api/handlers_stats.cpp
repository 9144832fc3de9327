#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"

namespace cityguard::api {

namespace net = boost::asio;

namespace {

stats::stats_request stats_request_of(const request& req) {
    return {
        req.query_param("from"),
        req.query_param("to"),
        req.query_param("group_by"),
        req.query_param("domain"),
        req.query_param("district"),
        req.query_param("site"),
        req.query_param("top"),
        req.query_param("lang")};
}

}  // namespace

void add_stats_routes(router& r, services& s) {
    r.add({"GET", "/api/v1/stats", access::read, false, [&s](request& req) -> net::awaitable<response> {
               auto body = co_await s.stats.table(stats_request_of(req));
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/stats/export", access::read, false, [&s](request& req) -> net::awaitable<response> {
               if (const auto format = req.query_param("format"); format && *format != "csv")
                   throw api_error(errc::bad_request, "format must be csv");
               std::string filename;
               auto csv = co_await s.stats.export_csv(stats_request_of(req), filename);
               co_return response{
                   200,
                   "text/csv; charset=utf-8",
                   std::move(csv),
                   {{"Content-Disposition", "attachment; filename=\"" + filename + "\""}}};
           }});
}

}  // namespace cityguard::api
