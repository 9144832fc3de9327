#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/util/time.hpp"

/// The registry's plain rows: sites, units, contacts, emergency resources and sensors. No
/// behaviour (validation is registry_model.hpp); the store reads and writes them as they are. Pure.
namespace cityguard::registry {

struct site_record {
    std::string id;
    std::string name;
    std::string domain;
    std::string district;
    double lat = 0;
    double lon = 0;
    std::optional<std::string> address;
    nlohmann::json attributes = nlohmann::json::object();
    std::optional<std::string> unit;  ///< the responsible unit's id
    std::int64_t sensor_count = 0;    ///< filled by reads only
    /// A line or an area (a pipe segment, a tunnel, a bridge deck): a GeoJSON LineString or
    /// Polygon, WGS-84 [lon, lat]; null: the site is its point.
    nlohmann::json geometry{};
};

/// The enterprise or operator responsible for sites (一企一档).
struct unit_record {
    std::string id;
    std::string name;
    std::optional<std::string> credit_code;  ///< unified social credit code or licence number
    std::optional<std::string> address;
    std::int64_t site_count = 0;  ///< filled by reads only
};

/// A person told about alarms. Enterprise contacts belong to a unit, district contacts to a
/// district, city contacts to the whole city.
struct contact_record {
    std::string id;
    std::string name;
    std::string tier;  ///< enterprise, district, sector, city
    std::optional<std::string> unit;
    std::optional<std::string> district;
    std::optional<std::string> phone;   ///< personal data: operator and admin keys only, never logged
    std::vector<std::string> channels;  ///< names of configured channels
    /// Told only about alarms of these domains (empty: all). A sector desk names its sector's.
    std::vector<std::string> domains{};
};

/// A stock item of a warehouse: `kind` is what rules ask for ("gas_detector"), `name` what
/// the warehouse calls it.
struct material_record {
    std::string kind;
    std::string name;
    double quantity = 0;
    std::string unit;
};

/// An emergency resource with a location: a warehouse with its materials, a rescue team, a
/// shelter or an expert. The fields after `address` belong to one kind each.
struct resource_record {
    std::string id;
    std::string kind;  ///< warehouse, team, shelter, expert
    std::string name;
    std::optional<std::string> district;
    double lat = 0;
    double lon = 0;
    std::optional<std::string> address;
    std::optional<std::string> team_kind;    ///< team: fire, hazmat, gas_repair, ...
    std::optional<std::int32_t> size;        ///< team: people
    std::optional<bool> on_duty;             ///< team
    std::optional<std::int32_t> capacity;    ///< shelter: people
    std::optional<std::string> speciality;   ///< expert
    std::optional<std::string> phone;        ///< expert: personal data, operator and admin keys only
    std::vector<material_record> materials;  ///< warehouse
};

struct latest_reading {
    util::micros ts = 0;
    double value = 0;
};

struct sensor_record {
    std::string id;
    std::int32_t key = 0;  ///< compact id carried by readings; assigned by the database
    std::string site;
    std::string kind;
    std::string unit;
    std::optional<double> lat;
    std::optional<double> lon;
    std::int32_t interval_s = 60;
    nlohmann::json limits = nlohmann::json::object();
    std::vector<std::string> groups;       ///< named groups it belongs to (correlation rules)
    std::optional<latest_reading> latest;  ///< filled by reads that ask for it
    std::string domain;                    ///< the site's; filled by the directory read only
    std::string district;                  ///< the site's; filled by the directory read only
    std::string site_unit;                 ///< the site's responsible unit (empty: none); directory read only
};

}  // namespace cityguard::registry
