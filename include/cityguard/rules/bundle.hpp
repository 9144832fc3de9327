#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/rules/rule.hpp"

/// Bundles: the named monitoring sets a regulator asks of an enterprise (gas stations "8+8",
/// production enterprises "5+1", major hazards "4+X"), each item mapped to the sensor kinds
/// that serve it and the rules that judge them. A pack carries its domain's bundle. Pure.
namespace cityguard::rules {

struct bundle_item {
    std::string id;    ///< e.g. "V1", "I4"
    std::string type;  ///< "video" or "iot"
    text name;
    std::vector<std::string> kinds;  ///< sensor kinds that serve it ("video.*" and "*" as in rules)
    std::vector<std::string> rules;  ///< the rules that judge it (may be empty: no rule yet)
    bool required = true;            ///< false: an optional "X" item
    bool serves(std::string_view sensor_kind) const noexcept;
};

struct bundle {
    std::string id;  ///< "8+8"
    std::string domain;
    text name;
    std::string source;
    std::vector<bundle_item> items;
};

/// The pack's "bundle", if it has one, checked against the pack's rules. Throws pack_error
/// "FILE: bundle ID: reason".
std::optional<bundle> parse_bundle(const nlohmann::json& pack, const std::string& file, const std::vector<rule>& rules);

/// Every pack's bundle in `dir`, in file order (rules: all the packs' rules, load_packs()).
std::vector<bundle> load_bundles(const std::string& dir, const std::vector<rule>& rules);

nlohmann::json to_json(const bundle& b);

}  // namespace cityguard::rules
