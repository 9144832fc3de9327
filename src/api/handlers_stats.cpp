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

/// Statistics over the caller's part of the city. The daily count tables are kept by domain and
/// district (and per site), so a scope of one district and/or one domain narrows the request;
/// a scope of several districts or domains, or of units, is refused for now (docs/security.md).
stats::stats_request scoped(const request& req) {
    auto q = stats_request_of(req);
    if (!req.caller || req.caller->scope.whole_city()) return q;
    const auto& scope = req.caller->scope;
    if (!scope.units.empty() || scope.districts.size() > 1 || scope.domains.size() > 1)
        throw api_error(
            errc::forbidden,
            "statistics are computed for the whole city, one district and/or one domain; this scope is not one of them"
        );
    const auto narrow = [](std::optional<std::string>& asked, const std::vector<std::string>& allowed, const char* what
                        ) {
        if (allowed.empty()) return;
        if (asked && *asked != allowed.front())
            throw api_error(errc::not_found, std::string("no ") + what + " '" + *asked + "' in your scope");
        asked = allowed.front();
    };
    narrow(q.district, scope.districts, "district");
    narrow(q.domain, scope.domains, "domain");
    return q;
}

}  // namespace

void add_stats_routes(router& r, services& s) {
    r.add({"GET", "/api/v1/stats", access::read, false, [&s](request& req) -> net::awaitable<response> {
               const auto query = scoped(req);
               auto body = co_await s.stats.table(query);
               co_return json_response(200, body);
           }});
    r.add({"GET", "/api/v1/stats/export", access::read, false, [&s](request& req) -> net::awaitable<response> {
               if (const auto format = req.query_param("format"); format && *format != "csv")
                   throw api_error(errc::bad_request, "format must be csv");
               std::string filename;
               const auto query = scoped(req);
               auto csv = co_await s.stats.export_csv(query, filename);
               co_return response{
                   200,
                   "text/csv; charset=utf-8",
                   std::move(csv),
                   {{"Content-Disposition", "attachment; filename=\"" + filename + "\""}}};
           }});
}

}  // namespace cityguard::api
