#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cityguard/registry/records.hpp"
#include "cityguard/rules/rule.hpp"

/// The nearest emergency resources to a place and the 5-minute disposal circle (5分钟处置圈).
/// Pure: the store finds candidates by distance; this orders them by what the incident needs.
namespace cityguard::registry {

/// Great-circle distance in metres on a sphere of the Earth's mean radius (haversine).
double distance_m(double lat1, double lon1, double lat2, double lon2) noexcept;

/// Straight-line travel at a configured speed per resource kind: an estimate, not road routing.
struct travel_model {
    std::map<std::string, double, std::less<>> speed_kmh;  ///< per resource kind; absent: never in the circle
    double circle_s = 300;                                 ///< the disposal circle, in seconds of travel
};

/// Who and what an incident wants, most relevant first (a rule's `responders`).
using wanted_responders = rules::responders;

struct nearby_resource {
    resource_record resource;
    double distance_m = 0;
    double travel_s = 0;  ///< distance over the kind's speed; infinite without a speed
    bool in_circle = false;
    int relevance = 0;                            ///< 0 is what the incident wants most; ties are broken by travel time
    std::vector<std::string> matching_materials;  ///< warehouse: the wanted kinds it holds
};

/// Ranks candidates around (lat, lon): relevance first, then travel time, then id. A team whose
/// kind is wanted ranks by that kind's place in the list, other teams after them, off-duty teams
/// after every on-duty one; a warehouse holding a wanted material (quantity above 0) before
/// one that holds none.
std::vector<nearby_resource> rank_nearby(
    std::vector<resource_record> candidates,
    double lat,
    double lon,
    const wanted_responders& wanted,
    const travel_model& travel
);

/// {"resource": {...}, "distance_m", "travel_s", "in_circle", "relevant", "matching_materials"}.
nlohmann::json to_json(const nearby_resource& n);

}  // namespace cityguard::registry
