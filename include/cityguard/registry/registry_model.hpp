#pragma once

#include <array>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "cityguard/registry/records.hpp"
#include "cityguard/rules/domain.hpp"
#include "cityguard/rules/rule.hpp"

/// Validation and JSON form of sites and sensors. Pure: no I/O.
namespace cityguard::registry {

/// A sensor belongs to at most this many named groups: each is a place its readings are counted.
inline constexpr std::size_t kMaxGroupsPerSensor = 16;

/// Site, sensor and group ids: 1-64 characters of [A-Za-z0-9._-].
bool valid_id(std::string_view id) noexcept;

/// Sensor kinds: lower-case words with underscores, optionally one dotted sub-kind
/// ("gas_lel", "video.smoking").
bool valid_kind(std::string_view kind) noexcept;

/// Parses one site object. `path_id`, when given, is the id from the URL: the body may omit
/// "id" or must repeat it. Returns the record or a one-line reason.
/// "geometry", when given, is a GeoJSON LineString (2 or more points) or Polygon (one ring, closed,
/// 4 or more points), WGS-84 [lon, lat], at most `max_geometry_points` vertices.
std::variant<site_record, std::string> parse_site(
    const nlohmann::json& body,
    std::optional<std::string_view> path_id,
    const rules::domain_catalog& domains,
    std::size_t max_geometry_points = 2'000
);

/// Parses one sensor object; as parse_site.
std::variant<sensor_record, std::string> parse_sensor(
    const nlohmann::json& body, std::optional<std::string_view> path_id
);

/// Parses one responsible unit; as parse_site.
std::variant<unit_record, std::string> parse_unit(const nlohmann::json& body, std::optional<std::string_view> path_id);

/// Which channel names exist (the notification document's).
using channel_check = std::function<bool(std::string_view)>;

/// Parses one contact; as parse_site. Every channel it names must pass `known_channel`, every
/// domain it is limited to must be in `domains`. An enterprise contact names its unit, a district
/// contact its district; a sector desk names its domains (and may name a district: a district's
/// sector office); a city contact names neither unit nor district.
std::variant<contact_record, std::string> parse_contact(
    const nlohmann::json& body,
    std::optional<std::string_view> path_id,
    const channel_check& known_channel,
    const rules::domain_catalog& domains
);

/// What an emergency resource is.
inline constexpr std::array<std::string_view, 4> kResourceKinds{"warehouse", "team", "shelter", "expert"};

using rules::kTeamKinds;

/// A warehouse lists at most this many materials.
inline constexpr std::size_t kMaxMaterialsPerWarehouse = 200;

/// Parses one emergency resource; as parse_site. Each kind takes its own fields only.
std::variant<resource_record, std::string> parse_resource(
    const nlohmann::json& body, std::optional<std::string_view> path_id
);

nlohmann::json to_json(const site_record& site);
nlohmann::json to_json(const resource_record& resource);
nlohmann::json to_json(const unit_record& unit);
nlohmann::json to_json(const contact_record& contact);
nlohmann::json to_json(const sensor_record& sensor);

}  // namespace cityguard::registry
