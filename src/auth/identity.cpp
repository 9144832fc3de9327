#include "cityguard/auth/identity.hpp"

#include <algorithm>

#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cityguard::auth {

using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxScopeEntries = 256;
constexpr std::size_t kMaxEntryBytes = 100;  // a site's district is at most 100 bytes too

bool listed(const std::vector<std::string>& sorted, std::string_view value) {
    return std::binary_search(sorted.begin(), sorted.end(), value);
}

// Empty means "any"; a narrower list is inside a wider one only when each of its entries is.
bool narrower_or_equal(const std::vector<std::string>& outer, const std::vector<std::string>& inner) {
    if (outer.empty()) return true;
    if (inner.empty()) return false;
    return std::includes(outer.begin(), outer.end(), inner.begin(), inner.end());
}

void normalise(std::vector<std::string>& list) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
}

std::vector<std::string> id_list(const json& j, std::string_view what, std::string_view member) {
    if (!j.is_array() || j.empty() || j.size() > kMaxScopeEntries)
        throw api_error(
            errc::validation_failed,
            std::string(what) + "." + std::string(member) + " must be a non-empty array of at most 256 names"
        );
    std::vector<std::string> out;
    out.reserve(j.size());
    for (const auto& v : j) {
        if (!v.is_string() || v.get_ref<const std::string&>().empty() ||
            v.get_ref<const std::string&>().size() > kMaxEntryBytes ||
            !util::storable_text(v.get_ref<const std::string&>()))
            throw api_error(
                errc::validation_failed,
                std::string(what) + "." + std::string(member) + " entries must be text of 1-100 bytes"
            );
        out.push_back(v.get<std::string>());
    }
    normalise(out);
    return out;
}

}  // namespace

std::string_view to_string(role r) noexcept {
    switch (r) {
        case role::gateway:
            return "gateway";
        case role::operator_:
            return "operator";
        case role::admin:
            return "admin";
        case role::monitor:
            return "monitor";
        case role::viewer:
            return "viewer";
        case role::enterprise:
            return "enterprise";
    }
    return "gateway";
}

std::optional<role> parse_role(std::string_view text) noexcept {
    if (text == "gateway") return role::gateway;
    if (text == "operator") return role::operator_;
    if (text == "admin") return role::admin;
    if (text == "monitor") return role::monitor;
    if (text == "viewer") return role::viewer;
    if (text == "enterprise") return role::enterprise;
    return std::nullopt;
}

bool is_person_role(role r) noexcept {
    return r == role::viewer || r == role::operator_ || r == role::admin || r == role::enterprise;
}

bool scope::covers(std::string_view district, std::string_view domain, std::string_view unit) const {
    if (!districts.empty() && !listed(districts, district)) return false;
    if (!domains.empty() && !listed(domains, domain)) return false;
    if (!units.empty() && (unit.empty() || !listed(units, unit))) return false;
    return true;
}

bool scope::contains(const scope& inner) const {
    return narrower_or_equal(districts, inner.districts) && narrower_or_equal(domains, inner.domains) &&
           narrower_or_equal(units, inner.units);
}

json to_json(const scope& s) {
    json out = json::object();
    if (!s.districts.empty()) out["districts"] = s.districts;
    if (!s.domains.empty()) out["domains"] = s.domains;
    if (!s.units.empty()) out["units"] = s.units;
    return out;
}

scope parse_scope(const json& j) {
    if (j.is_string() && j.get_ref<const std::string&>() == "city") return {};
    if (!j.is_object())
        throw api_error(
            errc::validation_failed,
            "scope must be \"city\" or {\"districts\":[...],\"domains\":[...],\"units\":[...]} (each optional)"
        );
    scope s;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "districts")
            s.districts = id_list(*it, "scope", "districts");
        else if (it.key() == "domains")
            s.domains = id_list(*it, "scope", "domains");
        else if (it.key() == "units")
            s.units = id_list(*it, "scope", "units");
        else
            throw api_error(errc::validation_failed, "scope has no member '" + it.key() + "'");
    }
    return s;
}

scope make_scope(std::vector<std::string> districts, std::vector<std::string> domains, std::vector<std::string> units) {
    normalise(districts);
    normalise(domains);
    normalise(units);
    return scope{std::move(districts), std::move(domains), std::move(units)};
}

bool binding::allows(std::string_view site, std::string_view sensor) const {
    if (any()) return true;
    return std::find(sites.begin(), sites.end(), site) != sites.end() ||
           std::find(sensors.begin(), sensors.end(), sensor) != sensors.end();
}

json to_json(const binding& b) {
    json out = json::object();
    if (!b.sites.empty()) out["sites"] = b.sites;
    if (!b.sensors.empty()) out["sensors"] = b.sensors;
    return out;
}

binding parse_binding(const json& j) {
    if (!j.is_object())
        throw api_error(errc::validation_failed, "binding must be {\"sites\":[...],\"sensors\":[...]} (each optional)");
    binding b;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "sites")
            b.sites = id_list(*it, "binding", "sites");
        else if (it.key() == "sensors")
            b.sensors = id_list(*it, "binding", "sensors");
        else
            throw api_error(errc::validation_failed, "binding has no member '" + it.key() + "'");
    }
    return b;
}

}  // namespace cityguard::auth
