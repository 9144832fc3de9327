#include "cityguard/api/routes.hpp"

namespace cityguard::api {

namespace net = boost::asio;

void add_cluster_routes(router& r, services& s) {
    r.add({"GET", "/api/v1/cluster", access::admin, false, [&s](request&) -> net::awaitable<response> {
               auto described = co_await s.cluster.describe();
               co_return json_response(200, described);
           }});
}

write_forwarding make_forwarding(services& s) {
    write_forwarding how;
    how.leading = [&c = s.cluster] { return c.leading(); };
    how.token = s.cluster_config.token;
    how.forward = [&c = s.cluster,
                   token = s.cluster_config.token](const request& req) -> net::awaitable<std::optional<response>> {
        cluster::forwarded_request out;
        out.method = req.method;
        out.target = req.target;
        out.body = req.body;
        out.headers.emplace_back("X-CityGuard-Forwarded", "1");
        if (!req.authorization.empty()) out.headers.emplace_back("Authorization", req.authorization);
        if (!req.content_type.empty()) out.headers.emplace_back("Content-Type", req.content_type);
        if (!req.cookie.empty()) out.headers.emplace_back("Cookie", req.cookie);
        if (!req.csrf_token.empty()) out.headers.emplace_back("X-CSRF-Token", req.csrf_token);
        if (!req.forwarded_proto.empty()) out.headers.emplace_back("X-Forwarded-Proto", req.forwarded_proto);
        if (!token.empty()) {
            out.headers.emplace_back("X-CityGuard-Cluster-Token", token);
            out.headers.emplace_back("X-CityGuard-Forwarded-For", req.client);
        }
        std::optional<cluster::forwarded_response> answer;
        try {
            answer = co_await c.forward(out);
        } catch (const cluster::link_error& e) {
            throw api_error(
                e.busy() ? errc::overloaded : errc::unavailable,
                std::string("cannot forward to the leader: ") + e.what()
            );
        }
        if (!answer) co_return std::nullopt;  // this instance leads now
        co_return response{
            answer->status, std::move(answer->content_type), std::move(answer->body), std::move(answer->headers)};
    };
    return how;
}

}  // namespace cityguard::api
