#include "cityguard/registry/registry_model.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace cityguard::registry {
namespace {

using json = nlohmann::json;

bool id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

/// Checks that `body` has no keys outside `allowed`; returns the first offender.
std::optional<std::string> unknown_key(const json& body, const std::set<std::string>& allowed) {
    for (auto it = body.begin(); it != body.end(); ++it)
        if (!allowed.count(it.key())) return it.key();
    return std::nullopt;
}

std::optional<std::string> resolve_id(const json& body, std::optional<std::string_view> path_id, std::string& out) {
    if (auto it = body.find("id"); it != body.end()) {
        if (!it->is_string()) return "id must be a string";
        out = it->get<std::string>();
        if (path_id && out != *path_id) return "id in the body differs from the id in the URL";
    } else if (path_id) {
        out = std::string(*path_id);
    } else {
        return "id is required";
    }
    if (!valid_id(out)) return "id must be 1-64 characters of A-Z a-z 0-9 . _ -";
    return std::nullopt;
}

std::optional<std::string> required_string(const json& body, const char* key, std::string& out, std::size_t max = 200) {
    auto it = body.find(key);
    if (it == body.end() || !it->is_string() || it->get<std::string>().empty())
        return std::string(key) + " is required and must be a non-empty string";
    out = it->get<std::string>();
    if (out.size() > max) return std::string(key) + " is longer than " + std::to_string(max) + " characters";
    return std::nullopt;
}

std::optional<std::string> optional_string(
    const json& body, const char* key, std::optional<std::string>& out, std::size_t max
) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_string() || it->get<std::string>().empty())
        return std::string(key) + " must be a non-empty string or null";
    if (it->get<std::string>().size() > max)
        return std::string(key) + " is longer than " + std::to_string(max) + " characters";
    out = it->get<std::string>();
    return std::nullopt;
}

std::optional<std::string> optional_id(const json& body, const char* key, std::optional<std::string>& out) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_string() || !valid_id(it->get<std::string>()))
        return std::string(key) + " must be an id: 1-64 characters of A-Z a-z 0-9 . _ -";
    out = it->get<std::string>();
    return std::nullopt;
}

std::optional<std::string> coordinate(
    const json& body, const char* key, double limit, std::optional<double>& out, bool required
) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) {
        if (required) return std::string(key) + " is required";
        return std::nullopt;
    }
    if (!it->is_number() || !std::isfinite(it->get<double>()) || std::abs(it->get<double>()) > limit)
        return std::string(key) + " must be a number between -" + std::to_string(static_cast<int>(limit)) + " and " +
               std::to_string(static_cast<int>(limit));
    out = it->get<double>();
    return std::nullopt;
}

std::optional<std::string> optional_phone(const json& body, std::optional<std::string>& out) {
    if (auto e = optional_string(body, "phone", out, 32)) return e;
    if (out && !std::all_of(out->begin(), out->end(), [](char ch) {
            return (ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == ' ';
        }))
        return std::string("phone may hold digits, +, - and spaces only");
    return std::nullopt;
}

}  // namespace

bool valid_id(std::string_view id) noexcept {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), id_char);
}

bool valid_kind(std::string_view kind) noexcept {
    if (kind.empty() || kind.size() > 64 || !(kind[0] >= 'a' && kind[0] <= 'z')) return false;
    bool dotted = false;
    char prev = 0;
    for (char c : kind) {
        if (c == '.') {
            if (dotted || prev == '.') return false;
            dotted = true;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
        prev = c;
    }
    return prev != '.';
}

/// A site's line or area, or why it is refused. Rebuilt from the numbers, so nothing but
/// {"type", "coordinates"} is kept.
std::variant<json, std::string> parse_geometry(const json& g, std::size_t max_points) {
    const std::string usage = "geometry must be a GeoJSON LineString or Polygon of [lon, lat] points, at most " +
                              std::to_string(max_points) + " of them";
    if (!g.is_object() || !g.contains("type") || !g["type"].is_string() || !g.contains("coordinates") ||
        !g["coordinates"].is_array())
        return usage;
    const std::string type = g["type"];
    const auto points = [&](const json& list, json& out) -> std::optional<std::string> {
        if (!list.is_array() || list.size() > max_points) return usage;
        for (const auto& p : list) {
            if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) return usage;
            const double lon = p[0], lat = p[1];
            if (!std::isfinite(lon) || !std::isfinite(lat) || std::abs(lon) > 180 || std::abs(lat) > 90)
                return std::string("geometry points must be [lon, lat] within -180..180 and -90..90");
            out.push_back(json::array({lon, lat}));
        }
        return std::nullopt;
    };
    json coordinates = json::array();
    if (type == "LineString") {
        if (auto e = points(g["coordinates"], coordinates)) return *e;
        if (coordinates.size() < 2) return std::string("a LineString needs at least 2 points");
    } else if (type == "Polygon") {
        if (g["coordinates"].size() != 1) return std::string("a Polygon has exactly one ring (no holes)");
        json ring = json::array();
        if (auto e = points(g["coordinates"][0], ring)) return *e;
        if (ring.size() < 4 || ring.front() != ring.back())
            return std::string("a Polygon ring is closed: at least 4 points, the last equal to the first");
        coordinates.push_back(std::move(ring));
    } else {
        return usage;
    }
    return json{{"type", type}, {"coordinates", std::move(coordinates)}};
}

std::variant<site_record, std::string> parse_site(
    const json& body,
    std::optional<std::string_view> path_id,
    const rules::domain_catalog& domains,
    std::size_t max_geometry_points
) {
    if (!body.is_object()) return std::string("a site must be a JSON object");
    static const std::set<std::string> allowed{
        "id", "name", "domain", "district", "lat", "lon", "address", "attributes", "unit", "geometry"};
    if (auto k = unknown_key(body, allowed)) return "unknown field '" + *k + "'";
    site_record s;
    if (auto e = resolve_id(body, path_id, s.id)) return *e;
    if (auto e = required_string(body, "name", s.name)) return *e;
    if (auto e = required_string(body, "domain", s.domain)) return *e;
    if (!domains.contains(s.domain)) return "domain must be one of the catalog's: " + domains.listed();
    if (auto e = required_string(body, "district", s.district, 100)) return *e;
    std::optional<double> lat, lon;
    if (auto e = coordinate(body, "lat", 90, lat, true)) return *e;
    if (auto e = coordinate(body, "lon", 180, lon, true)) return *e;
    s.lat = *lat;
    s.lon = *lon;
    if (auto it = body.find("address"); it != body.end() && !it->is_null()) {
        if (!it->is_string()) return std::string("address must be a string");
        s.address = it->get<std::string>();
    }
    if (auto it = body.find("attributes"); it != body.end() && !it->is_null()) {
        if (!it->is_object()) return std::string("attributes must be a JSON object");
        s.attributes = *it;
    }
    if (auto e = optional_id(body, "unit", s.unit)) return *e;
    if (auto it = body.find("geometry"); it != body.end() && !it->is_null()) {
        auto g = parse_geometry(*it, max_geometry_points);
        if (g.index() == 1) return std::get<std::string>(g);
        s.geometry = std::move(std::get<json>(g));
    }
    return s;
}

std::variant<unit_record, std::string> parse_unit(const json& body, std::optional<std::string_view> path_id) {
    if (!body.is_object()) return std::string("a unit must be a JSON object");
    static const std::set<std::string> allowed{"id", "name", "credit_code", "address"};
    if (auto k = unknown_key(body, allowed)) return "unknown field '" + *k + "'";
    unit_record u;
    if (auto e = resolve_id(body, path_id, u.id)) return *e;
    if (auto e = required_string(body, "name", u.name)) return *e;
    if (auto e = optional_string(body, "credit_code", u.credit_code, 64)) return *e;
    if (auto e = optional_string(body, "address", u.address, 200)) return *e;
    return u;
}

namespace {

std::optional<std::string> optional_count(
    const json& body, const char* key, std::optional<std::int32_t>& out, std::int32_t max
) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > max)
        return std::string(key) + " must be a whole number from 0 to " + std::to_string(max);
    out = static_cast<std::int32_t>(it->get<std::int64_t>());
    return std::nullopt;
}

std::optional<std::string> parse_materials(const json& body, std::vector<material_record>& out) {
    auto it = body.find("materials");
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_array() || it->size() > kMaxMaterialsPerWarehouse)
        return "materials must be an array of at most " + std::to_string(kMaxMaterialsPerWarehouse) + " items";
    static const std::set<std::string> allowed{"kind", "name", "quantity", "unit"};
    for (std::size_t i = 0; i < it->size(); ++i) {
        const json& m = (*it)[i];
        const std::string at = "materials[" + std::to_string(i) + "]";
        if (!m.is_object()) return at + " must be an object";
        if (auto k = unknown_key(m, allowed)) return at + ": unknown field '" + *k + "'";
        material_record r;
        if (auto e = required_string(m, "kind", r.kind, 64)) return at + "." + *e;
        if (!valid_kind(r.kind)) return at + ".kind must be a lower-case word with underscores, like gas_detector";
        if (auto e = required_string(m, "name", r.name, 100)) return at + "." + *e;
        if (auto e = required_string(m, "unit", r.unit, 16)) return at + "." + *e;
        auto q = m.find("quantity");
        if (q == m.end() || !q->is_number() || !std::isfinite(q->get<double>()) || q->get<double>() < 0 ||
            q->get<double>() > 1e12)
            return at + ".quantity must be a number from 0 to 1e12";
        r.quantity = q->get<double>();
        out.push_back(std::move(r));
    }
    return std::nullopt;
}

}  // namespace

std::variant<resource_record, std::string> parse_resource(const json& body, std::optional<std::string_view> path_id) {
    if (!body.is_object()) return std::string("a resource must be a JSON object");
    static const std::set<std::string> common{"id", "kind", "name", "district", "lat", "lon", "address"};
    resource_record r;
    if (auto e = resolve_id(body, path_id, r.id)) return *e;
    if (r.id == "nearby") return std::string("id 'nearby' is reserved (GET /api/v1/resources/nearby)");
    if (auto e = required_string(body, "kind", r.kind, 16)) return *e;
    std::set<std::string> own;
    if (r.kind == "warehouse")
        own = {"materials"};
    else if (r.kind == "team")
        own = {"team_kind", "size", "on_duty"};
    else if (r.kind == "shelter")
        own = {"capacity"};
    else if (r.kind == "expert")
        own = {"speciality", "phone"};
    else
        return std::string("kind must be one of warehouse, team, shelter, expert");
    for (auto it = body.begin(); it != body.end(); ++it)
        if (!common.count(it.key()) && !own.count(it.key())) return "unknown field '" + it.key() + "' for a " + r.kind;
    if (auto e = required_string(body, "name", r.name)) return *e;
    if (auto e = optional_string(body, "district", r.district, 100)) return *e;
    std::optional<double> lat, lon;
    if (auto e = coordinate(body, "lat", 90, lat, true)) return *e;
    if (auto e = coordinate(body, "lon", 180, lon, true)) return *e;
    r.lat = *lat;
    r.lon = *lon;
    if (auto e = optional_string(body, "address", r.address, 200)) return *e;
    if (r.kind == "warehouse") {
        if (auto e = parse_materials(body, r.materials)) return *e;
    } else if (r.kind == "team") {
        std::string team_kind;
        if (auto e = required_string(body, "team_kind", team_kind, 32)) return *e;
        if (std::find(kTeamKinds.begin(), kTeamKinds.end(), team_kind) == kTeamKinds.end())
            return std::string(
                "team_kind must be one of fire, hazmat, gas_repair, medical, rescue, electric, water, structural"
            );
        r.team_kind = team_kind;
        if (auto e = optional_count(body, "size", r.size, 100'000)) return *e;
        if (auto it = body.find("on_duty"); it != body.end() && !it->is_null()) {
            if (!it->is_boolean()) return std::string("on_duty must be true or false");
            r.on_duty = it->get<bool>();
        }
    } else if (r.kind == "shelter") {
        if (auto e = optional_count(body, "capacity", r.capacity, 10'000'000)) return *e;
    } else {
        if (auto e = optional_string(body, "speciality", r.speciality, 100)) return *e;
        if (auto e = optional_phone(body, r.phone)) return *e;
    }
    return r;
}

std::variant<contact_record, std::string> parse_contact(
    const json& body,
    std::optional<std::string_view> path_id,
    const channel_check& known_channel,
    const rules::domain_catalog& domains
) {
    if (!body.is_object()) return std::string("a contact must be a JSON object");
    static const std::set<std::string> allowed{
        "id", "name", "tier", "unit", "district", "phone", "channels", "domains"};
    if (auto k = unknown_key(body, allowed)) return "unknown field '" + *k + "'";
    contact_record c;
    if (auto e = resolve_id(body, path_id, c.id)) return *e;
    if (auto e = required_string(body, "name", c.name, 100)) return *e;
    if (auto e = required_string(body, "tier", c.tier, 16)) return *e;
    if (c.tier != "enterprise" && c.tier != "district" && c.tier != "sector" && c.tier != "city")
        return std::string(
            "tier must be enterprise (the unit's safety officer), district, sector (a sector department's desk) or city"
        );
    if (auto e = optional_id(body, "unit", c.unit)) return *e;
    if (auto e = optional_string(body, "district", c.district, 100)) return *e;
    if ((c.tier == "enterprise") != c.unit.has_value())
        return std::string(
            c.unit ? "unit is for enterprise contacts only" : "unit is required for an enterprise contact"
        );
    if (c.tier == "district" && !c.district) return std::string("district is required for a district contact");
    if (c.district && c.tier != "district" && c.tier != "sector")
        return std::string("district is for district contacts and a district's sector desk only");
    if (auto it = body.find("domains"); it != body.end() && !it->is_null()) {
        if (!it->is_array() || it->size() > 32) return std::string("domains must be a list of at most 32 domains");
        for (const auto& d : *it) {
            if (!d.is_string() || !domains.contains(d.get<std::string>()))
                return "domains must be the catalog's: " + domains.listed();
            if (std::find(c.domains.begin(), c.domains.end(), d.get<std::string>()) == c.domains.end())
                c.domains.push_back(d.get<std::string>());
        }
    }
    if (c.tier == "sector" && c.domains.empty())
        return std::string("domains is required for a sector desk: the domains its department answers for");
    if (auto e = optional_phone(body, c.phone)) return *e;
    auto ch = body.find("channels");
    if (ch == body.end() || !ch->is_array() || ch->empty() || ch->size() > 16)
        return std::string("channels is required: the names of 1-16 configured channels that reach this contact");
    for (const auto& name : *ch) {
        if (!name.is_string()) return std::string("channels must hold channel names");
        if (!known_channel(name.get<std::string>()))
            return "channels: no channel named '" + name.get<std::string>() + "' is configured";
        if (std::find(c.channels.begin(), c.channels.end(), name.get<std::string>()) == c.channels.end())
            c.channels.push_back(name.get<std::string>());
    }
    return c;
}

std::variant<sensor_record, std::string> parse_sensor(const json& body, std::optional<std::string_view> path_id) {
    if (!body.is_object()) return std::string("a sensor must be a JSON object");
    static const std::set<std::string> allowed{
        "id", "site", "kind", "unit", "lat", "lon", "interval_s", "limits", "groups"};
    if (auto k = unknown_key(body, allowed)) return "unknown field '" + *k + "'";
    sensor_record s;
    if (auto e = resolve_id(body, path_id, s.id)) return *e;
    if (auto e = required_string(body, "site", s.site, 64)) return *e;
    if (!valid_id(s.site)) return std::string("site must be a valid site id");
    if (auto e = required_string(body, "kind", s.kind, 64)) return *e;
    if (!valid_kind(s.kind)) return std::string("kind must be lower-case words like gas_lel or video.smoking");
    if (auto it = body.find("unit"); it != body.end()) {
        if (!it->is_string() || it->get<std::string>().size() > 32) return std::string("unit must be a short string");
        s.unit = it->get<std::string>();
    } else {
        return std::string("unit is required (use \"\" for unitless detections)");
    }
    if (auto e = coordinate(body, "lat", 90, s.lat, false)) return *e;
    if (auto e = coordinate(body, "lon", 180, s.lon, false)) return *e;
    auto it = body.find("interval_s");
    if (it == body.end() || !it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > 7 * 86'400)
        return std::string("interval_s is required: the expected reporting interval, 1 to 604800 seconds");
    s.interval_s = static_cast<std::int32_t>(it->get<long long>());
    if (auto l = body.find("limits"); l != body.end() && !l->is_null()) {
        if (!l->is_object()) return std::string("limits must be an object of named numbers");
        for (auto e = l->begin(); e != l->end(); ++e)
            if (!e->is_number() || !std::isfinite(e->get<double>()))
                return "limits." + e.key() + " must be a finite number";
        s.limits = *l;
    }
    if (auto g = body.find("groups"); g != body.end() && !g->is_null()) {
        if (!g->is_array() || g->size() > kMaxGroupsPerSensor)
            return "groups must be an array of at most " + std::to_string(kMaxGroupsPerSensor) + " group names";
        for (const auto& name : *g) {
            if (!name.is_string() || !valid_id(name.get<std::string>()))
                return std::string("each group name must be 1-64 characters of A-Z a-z 0-9 . _ -");
            if (std::find(s.groups.begin(), s.groups.end(), name.get<std::string>()) == s.groups.end())
                s.groups.push_back(name.get<std::string>());
        }
    }
    return s;
}

json to_json(const site_record& s) {
    json j{
        {"id", s.id},
        {"name", s.name},
        {"domain", s.domain},
        {"district", s.district},
        {"lat", s.lat},
        {"lon", s.lon},
        {"attributes", s.attributes},
        {"geometry", s.geometry},
        {"sensor_count", s.sensor_count}};
    j["address"] = s.address ? json(*s.address) : json(nullptr);
    j["unit"] = s.unit ? json(*s.unit) : json(nullptr);
    return j;
}

json to_json(const unit_record& u) {
    json j{{"id", u.id}, {"name", u.name}, {"site_count", u.site_count}};
    j["credit_code"] = u.credit_code ? json(*u.credit_code) : json(nullptr);
    j["address"] = u.address ? json(*u.address) : json(nullptr);
    return j;
}

json to_json(const contact_record& c) {
    json j{{"id", c.id}, {"name", c.name}, {"tier", c.tier}, {"channels", c.channels}};
    j["unit"] = c.unit ? json(*c.unit) : json(nullptr);
    j["district"] = c.district ? json(*c.district) : json(nullptr);
    j["phone"] = c.phone ? json(*c.phone) : json(nullptr);
    j["domains"] = c.domains;
    return j;
}

json to_json(const resource_record& r) {
    auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
    json j{
        {"id", r.id},
        {"kind", r.kind},
        {"name", r.name},
        {"district", opt(r.district)},
        {"lat", r.lat},
        {"lon", r.lon},
        {"address", opt(r.address)}};
    if (r.kind == "warehouse") {
        json materials = json::array();
        for (const auto& m : r.materials)
            materials.push_back({{"kind", m.kind}, {"name", m.name}, {"quantity", m.quantity}, {"unit", m.unit}});
        j["materials"] = std::move(materials);
    } else if (r.kind == "team") {
        j["team_kind"] = opt(r.team_kind);
        j["size"] = opt(r.size);
        j["on_duty"] = opt(r.on_duty);
    } else if (r.kind == "shelter") {
        j["capacity"] = opt(r.capacity);
    } else if (r.kind == "expert") {
        j["speciality"] = opt(r.speciality);
        j["phone"] = opt(r.phone);
    }
    return j;
}

json to_json(const sensor_record& s) {
    json j{
        {"id", s.id},
        {"site", s.site},
        {"kind", s.kind},
        {"unit", s.unit},
        {"interval_s", s.interval_s},
        {"limits", s.limits},
        {"groups", s.groups}};
    j["lat"] = s.lat ? json(*s.lat) : json(nullptr);
    j["lon"] = s.lon ? json(*s.lon) : json(nullptr);
    return j;
}

}  // namespace cityguard::registry
