#include "scope.hpp"

#include <algorithm>

#include "cityguard/util/error.hpp"

namespace cityguard::api {

store::place_filter places_of(const request& req) {
    if (!req.caller) return {};
    const auto& s = req.caller->scope;
    return store::place_filter{s.districts, s.domains, s.units};
}

bool covers(const request& req, std::string_view district, std::string_view domain, std::string_view unit) {
    return !req.caller || req.caller->scope.covers(district, domain, unit);
}

bool covers_site(const request& req, const registry::sensor_directory::snapshot_t& places, std::string_view site) {
    if (!req.caller || req.caller->scope.whole_city()) return true;
    const auto* place = places.site(site);
    return place && req.caller->scope.covers(place->district, place->domain, place->unit);
}

bool covers_site_json(const request& req, const nlohmann::json& site) {
    const auto text = [&site](const char* name) {
        const auto it = site.find(name);
        return it != site.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    return covers(req, text("district"), text("domain"), text("unit"));
}

bool covers_unit(
    const auth::scope& scope, const registry::sensor_directory::snapshot_t& places, std::string_view unit
) {
    if (scope.whole_city()) return true;
    if (!scope.units.empty()) return std::binary_search(scope.units.begin(), scope.units.end(), unit);
    for (const auto& [site, place] : places.by_site)
        if (place.unit == unit && scope.covers(place.district, place.domain, place.unit)) return true;
    return false;
}

bool covers_unit(const request& req, const registry::sensor_directory::snapshot_t& places, std::string_view unit) {
    return !req.caller || covers_unit(req.caller->scope, places, unit);
}

bool covers_contact(
    const auth::scope& scope, const registry::sensor_directory::snapshot_t& places, const nlohmann::json& contact
) {
    if (scope.whole_city()) return true;
    const auto text = [&contact](const char* name) {
        const auto it = contact.find(name);
        return it != contact.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string tier = text("tier");
    if (tier == "enterprise") return covers_unit(scope, places, text("unit"));
    if (!scope.units.empty()) return false;
    const std::string district = text("district");
    if (!district.empty() && !scope.districts.empty() &&
        !std::binary_search(scope.districts.begin(), scope.districts.end(), district))
        return false;
    // A contact limited to domains is outside a sector scope that shares none of them.
    if (const auto it = contact.find("domains");
        it != contact.end() && it->is_array() && !it->empty() && !scope.domains.empty())
        return std::any_of(it->begin(), it->end(), [&](const nlohmann::json& d) {
            return d.is_string() &&
                   std::binary_search(scope.domains.begin(), scope.domains.end(), d.get<std::string>());
        });
    return true;
}

bool covers_contact(
    const request& req, const registry::sensor_directory::snapshot_t& places, const nlohmann::json& contact
) {
    return !req.caller || covers_contact(req.caller->scope, places, contact);
}

bool silence_within(
    const request& req, const registry::sensor_directory::snapshot_t& places, const nlohmann::json& matchers
) {
    if (!req.caller || req.caller->scope.whole_city()) return true;
    const auto& scope = req.caller->scope;
    const auto text = [&matchers](const char* name) {
        const auto it = matchers.find(name);
        return it != matchers.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string site = text("site"), sensor = text("sensor");
    const auto* of_sensor = sensor.empty() ? nullptr : places.find(sensor);
    // A silence pinned to a site or a sensor the caller covers lies inside whatever else it names.
    if (!site.empty() && covers_site(req, places, site)) return true;
    if (of_sensor && covers_site(req, places, of_sensor->site)) return true;
    const auto listed = [](const std::vector<std::string>& list, const std::string& v) {
        return !v.empty() && std::binary_search(list.begin(), list.end(), v);
    };
    if (!scope.units.empty()) return false;
    if (!scope.districts.empty() && !listed(scope.districts, text("district"))) return false;
    if (!scope.domains.empty() && !listed(scope.domains, text("domain"))) return false;
    return true;
}

void require_whole_city(const request& req, const std::string& why) {
    if (req.caller && !req.caller->scope.whole_city()) throw api_error(errc::forbidden, why);
}

}  // namespace cityguard::api
