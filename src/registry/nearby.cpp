#include "cityguard/registry/nearby.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "cityguard/registry/registry_model.hpp"

namespace cityguard::registry {
namespace {

constexpr double kEarthRadiusM = 6'371'008.8;  // IUGG mean radius
constexpr double kRadiansPerDegree = 3.14159265358979323846 / 180.0;

int position_in(const std::vector<std::string>& list, const std::string& item) {
    auto it = std::find(list.begin(), list.end(), item);
    return static_cast<int>(it - list.begin());  // list.size() when absent
}

int relevance_of(nearby_resource& n, const wanted_responders& wanted) {
    const auto& r = n.resource;
    if (r.kind == "team") {
        const int kinds = static_cast<int>(wanted.teams.size());
        const int rank = r.team_kind ? position_in(wanted.teams, *r.team_kind) : kinds;
        return r.on_duty.value_or(true) ? rank : kinds + 1 + rank;
    }
    if (r.kind == "warehouse") {
        for (const auto& m : r.materials)
            if (m.quantity > 0 && position_in(wanted.materials, m.kind) < static_cast<int>(wanted.materials.size()) &&
                std::find(n.matching_materials.begin(), n.matching_materials.end(), m.kind) ==
                    n.matching_materials.end())
                n.matching_materials.push_back(m.kind);
        return n.matching_materials.empty() ? 1 : 0;
    }
    return 0;
}

}  // namespace

double distance_m(double lat1, double lon1, double lat2, double lon2) noexcept {
    const double p1 = lat1 * kRadiansPerDegree, p2 = lat2 * kRadiansPerDegree;
    const double dp = p2 - p1, dl = (lon2 - lon1) * kRadiansPerDegree;
    const double a =
        std::sin(dp / 2) * std::sin(dp / 2) + std::cos(p1) * std::cos(p2) * std::sin(dl / 2) * std::sin(dl / 2);
    return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(a)));
}

std::vector<nearby_resource> rank_nearby(
    std::vector<resource_record> candidates,
    double lat,
    double lon,
    const wanted_responders& wanted,
    const travel_model& travel
) {
    std::vector<nearby_resource> out;
    out.reserve(candidates.size());
    for (auto& r : candidates) {
        nearby_resource n;
        n.distance_m = distance_m(lat, lon, r.lat, r.lon);
        auto speed = travel.speed_kmh.find(r.kind);
        n.travel_s = speed != travel.speed_kmh.end() && speed->second > 0 ? n.distance_m / (speed->second / 3.6)
                                                                          : std::numeric_limits<double>::infinity();
        n.in_circle = n.travel_s <= travel.circle_s;
        n.resource = std::move(r);
        n.relevance = relevance_of(n, wanted);
        out.push_back(std::move(n));
    }
    std::sort(out.begin(), out.end(), [](const nearby_resource& a, const nearby_resource& b) {
        return std::tie(a.relevance, a.travel_s, a.resource.id) < std::tie(b.relevance, b.travel_s, b.resource.id);
    });
    return out;
}

nlohmann::json to_json(const nearby_resource& n) {
    return {
        {"resource", to_json(n.resource)},
        {"distance_m", std::round(n.distance_m)},
        {"travel_s", std::isfinite(n.travel_s) ? nlohmann::json(std::round(n.travel_s)) : nlohmann::json(nullptr)},
        {"in_circle", n.in_circle},
        {"relevance", n.relevance},
        {"matching_materials", n.matching_materials},
    };
}

}  // namespace cityguard::registry
