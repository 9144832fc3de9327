#pragma once
// How the routes apply the caller's scope (auth::scope): lists are filtered, single items outside
// it look like items that do not exist (404, not 403, so ids do not leak).

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cityguard/api/request.hpp"
#include "cityguard/auth/identity.hpp"
#include "cityguard/registry/sensor_directory.hpp"
#include "cityguard/store/records.hpp"

namespace cityguard::api {

/// The caller's scope as the store filters by it. A request without a caller (an open route)
/// covers nothing it could filter, so it gets the whole city: such routes read nothing scoped.
store::place_filter places_of(const request& req);

/// Whether the caller covers a place in `district`, of `domain`, of `unit` (empty: none).
bool covers(const request& req, std::string_view district, std::string_view domain, std::string_view unit);
/// Whether the caller covers site `site` (known to the directory: a site without sensors is
/// covered by the whole city only).
bool covers_site(const request& req, const registry::sensor_directory::snapshot_t& places, std::string_view site);
/// Whether the caller covers unit `unit`: named in a unit scope, or responsible for a site the
/// caller covers.
bool covers_unit(const request& req, const registry::sensor_directory::snapshot_t& places, std::string_view unit);
bool covers_unit(const auth::scope& scope, const registry::sensor_directory::snapshot_t& places, std::string_view unit);
/// A contact as the registry renders it: an enterprise contact by its unit, a district contact
/// by its district, a city contact by anyone not limited to units.
bool covers_contact(
    const request& req, const registry::sensor_directory::snapshot_t& places, const nlohmann::json& contact
);
/// The same for any scope: a person may be linked only to a contact their own scope covers.
bool covers_contact(
    const auth::scope& scope, const registry::sensor_directory::snapshot_t& places, const nlohmann::json& contact
);
/// Whether a silence's matchers ({"site","sensor","rule","domain","district"}, as created or
/// shown) keep it inside the caller's part of the city: each limit of the scope is met by a
/// matcher of that kind, or by a site or sensor the caller covers.
bool silence_within(
    const request& req, const registry::sensor_directory::snapshot_t& places, const nlohmann::json& matchers
);
/// A site as the registry renders it ({"district","domain","unit"}).
bool covers_site_json(const request& req, const nlohmann::json& site);

/// Throws api_error(not_found, `missing`) unless the caller's scope is the whole city.
void require_whole_city(const request& req, const std::string& why);

}  // namespace cityguard::api
