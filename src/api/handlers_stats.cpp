#include "cityguard/api/routes.hpp"
#include "cityguard/util/error.hpp"
#include "scope.hpp"

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

/// Statistics over the caller's part of the city: the figures are computed only over its scope
/// (several districts, domains or units included); a district, domain or site outside it is
/// "not found".
stats::stats_request scoped(const request& req, services& s) {
    auto q = stats_request_of(req);
    q.scope = places_of(req);
    if (q.site && !covers_site(req, *s.registry.directory().snapshot(), *q.site))
        throw api_error(errc::not_found, "no site '" + *q.site + "'");
    return q;
}

}  // namespace

void add_stats_routes(router& r, services& s) {
    r.add({"GET", "/api/v1/stats", access::read, false, [&s](request& req) -> net::awaitable<response> {
               const auto query = scoped(req, s);
               auto body = co_await s.stats.table(query);
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/stats/export", access::read, false, [&s](request& req) -> net::awaitable<response> {
               if (const auto format = req.query_param("format"); format && *format != "csv")
                   throw api_error(errc::bad_request, "format must be csv");
               std::string filename;
               const auto query = scoped(req, s);
               auto csv = co_await s.stats.export_csv(query, filename);
               co_return response{
                   200,
                   "text/csv; charset=utf-8",
                   std::move(csv),
                   {{"Content-Disposition", "attachment; filename=\"" + filename + "\""}}};
           }});
}

}  // namespace cityguard::api
