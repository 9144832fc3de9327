#include "cityguard/registry/nearby_service.hpp"

#include <algorithm>

#include "cityguard/registry/registry_model.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cityguard::registry {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

/// A comma-separated parameter whose every item passes `valid`; repeats dropped, order kept.
template <class Valid>
std::vector<std::string> list_param(
    const std::optional<std::string>& text, const char* name, Valid valid, const std::string& expected
) {
    std::vector<std::string> out;
    if (!text) return out;
    for (std::size_t start = 0;;) {
        const auto comma = text->find(',', start);
        std::string item = text->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (out.size() >= 16 || !valid(item))
            throw api_error(errc::bad_request, std::string(name) + " must list " + expected);
        if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(std::move(item));
        if (comma == std::string::npos) return out;
        start = comma + 1;
    }
}

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& names, const std::string& item) {
    return std::find(names.begin(), names.end(), item) != names.end();
}

json responders_json(const wanted_responders& w) { return {{"teams", w.teams}, {"materials", w.materials}}; }

int per_kind_of(const std::optional<std::string>& limit, const config::resources_config& cfg) {
    if (!limit) return static_cast<int>(cfg.nearby_per_kind);
    return static_cast<int>(
        util::parse_integer_param(*limit, "limit", 1, static_cast<long long>(cfg.max_nearby_per_kind))
    );
}

}  // namespace

nearby_search parse_nearby(const nearby_request& req, const config::resources_config& cfg) {
    if (!req.lat || !req.lon) throw api_error(errc::bad_request, "lat and lon are required (decimal degrees, WGS-84)");
    nearby_search s;
    s.lat = util::parse_number_param(*req.lat, "lat", -90, 90);
    s.lon = util::parse_number_param(*req.lon, "lon", -180, 180);
    s.kinds = list_param(
        req.kind,
        "kind",
        [](const std::string& k) { return one_of(kResourceKinds, k); },
        "resource kinds: warehouse, team, shelter, expert"
    );
    s.wanted.teams = list_param(
        req.team_kind,
        "team_kind",
        [](const std::string& k) { return one_of(kTeamKinds, k); },
        "team kinds: fire, hazmat, gas_repair, medical, rescue, electric, water, structural"
    );
    s.wanted.materials = list_param(
        req.material,
        "material",
        [](const std::string& k) { return valid_kind(k); },
        "material kinds such as gas_detector"
    );
    s.per_kind = per_kind_of(req.limit, cfg);
    return s;
}

nearby_service::nearby_service(
    store::resources_repo& repo, const config::resources_config& cfg, responders_lookup responders
)
    : repo_(repo), cfg_(cfg), responders_(std::move(responders)) {
    travel_.speed_kmh = {
        {"warehouse", cfg.warehouse_speed_kmh},
        {"team", cfg.team_speed_kmh},
        {"shelter", cfg.shelter_speed_kmh},
        {"expert", cfg.expert_speed_kmh}};
    travel_.circle_s = cfg.circle_s;
}

net::awaitable<json> nearby_service::nearby(const nearby_request& req) {
    const auto s = parse_nearby(req, cfg_);
    auto body = co_await answer(s);
    co_return body;
}

net::awaitable<json> nearby_service::for_alarm(std::int64_t alarm_id, const std::optional<std::string>& limit) {
    const int per_kind = per_kind_of(limit, cfg_);
    auto place = co_await repo_.place_of_alarm(alarm_id);
    if (!place) throw api_error(errc::not_found, "no alarm " + std::to_string(alarm_id));
    json head = {
        {"id", alarm_id},
        {"rule", place->rule},
        {"site", place->site},
        {"sensor", place->sensor},
        {"level", std::string(rules::to_string(static_cast<rules::level>(place->level)))}};
    const auto wanted = responders_(place->rule);
    if (!place->lat || !place->lon)
        co_return json{
            {"alarm", std::move(head)},
            {"at", nullptr},
            {"circle_s", cfg_.circle_s},
            {"wanted", responders_json(wanted)},
            {"resources", json::object()},
            {"in_circle", json::object()},
            {"note", "neither the alarm's sensor nor its site has a location"}};
    search s{*place->lat, *place->lon, {}, wanted, per_kind};
    auto body = co_await answer(s);
    body["alarm"] = std::move(head);
    co_return body;
}

net::awaitable<json> nearby_service::answer(const search& s) {
    const auto wants = [&](std::string_view kind) {
        return s.kinds.empty() || std::find(s.kinds.begin(), s.kinds.end(), kind) != s.kinds.end() ? s.per_kind : 0;
    };
    store::nearest_query q;
    q.lat = s.lat;
    q.lon = s.lon;
    q.warehouses = wants("warehouse");
    q.teams = wants("team");
    q.shelters = wants("shelter");
    q.experts = wants("expert");
    if (q.teams > 0) q.team_kinds = s.wanted.teams;
    if (q.warehouses > 0) q.material_kinds = s.wanted.materials;
    q.per_wanted = s.per_kind;
    auto candidates = co_await repo_.nearest(q);
    const auto ranked = rank_nearby(std::move(candidates), s.lat, s.lon, s.wanted, travel_);
    // Each kind in its own list, ranked: a shelter and a fire team answer different questions.
    json by_kind = json::object();
    json in_circle = json::object();
    for (const auto& kind : kResourceKinds)
        if (wants(kind) > 0) {
            by_kind[std::string(kind)] = json::array();
            in_circle[std::string(kind)] = 0;
        }
    for (const auto& n : ranked) {
        by_kind[n.resource.kind].push_back(to_json(n));
        if (n.in_circle) in_circle[n.resource.kind] = in_circle[n.resource.kind].get<int>() + 1;
    }
    co_return json{
        {"at", {{"lat", s.lat}, {"lon", s.lon}}},
        {"circle_s", cfg_.circle_s},
        {"wanted", responders_json(s.wanted)},
        {"resources", std::move(by_kind)},
        {"in_circle", std::move(in_circle)}};
}

}  // namespace cityguard::registry
