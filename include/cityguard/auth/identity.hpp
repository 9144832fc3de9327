#pragma once
// Who is acting and which part of the city they may see: roles, scopes and the principal. Pure:
// no I/O; the key, user and session services fill a principal, the API and the store obey it.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cityguard::auth {

/// What a person or a key may do. People: viewer (reads), operator (acts on alarms), admin
/// (registry, users, rules), enterprise (an enterprise's own staff: reads and acts within its
/// units). Machines: gateway (sends readings), monitor (scrapes /metrics).
enum class role { gateway, operator_, admin, monitor, viewer, enterprise };

std::string_view to_string(role r) noexcept;
std::optional<role> parse_role(std::string_view text) noexcept;
/// Roles a person may have (a user account); the others are for keys only.
bool is_person_role(role r) noexcept;
/// Roles that act on alarms (acknowledge, handle, comment, take one on).
inline bool allows_to_act(role r) noexcept { return r == role::operator_ || r == role::enterprise || r == role::admin; }

/// The part of the city a caller covers. Each list narrows: empty means "any". The whole city
/// is all three empty; a district's gas desk is districts ∧ domains; an enterprise is units.
/// Lists are kept sorted and without duplicates (make_scope), so equal scopes compare equal.
struct scope {
    std::vector<std::string> districts;
    std::vector<std::string> domains;
    std::vector<std::string> units;

    bool whole_city() const noexcept { return districts.empty() && domains.empty() && units.empty(); }
    /// True when a place in `district`, of `domain`, belonging to `unit` (empty: none) is inside.
    bool covers(std::string_view district, std::string_view domain, std::string_view unit) const;
    /// True when everything `inner` covers, this covers too (an admin may only hand out what it has).
    bool contains(const scope& inner) const;

    friend bool operator==(const scope&, const scope&) = default;
};

/// The scope as stored and shown: {} for the whole city, else {"districts":[...],"domains":[...],
/// "units":[...]} with the non-empty lists only.
nlohmann::json to_json(const scope& s);
/// Parses to_json()'s form (or the string "city"). Throws api_error(validation_failed) naming the
/// fault: unknown member, a list that is not of 1-64 character ids, more than 256 entries.
scope parse_scope(const nlohmann::json& j);
/// Sorts and deduplicates the lists.
scope make_scope(std::vector<std::string> districts, std::vector<std::string> domains, std::vector<std::string> units);

/// What a gateway key may send readings for: sites and sensors by id; both empty means any
/// sensor its scope covers.
struct binding {
    std::vector<std::string> sites;
    std::vector<std::string> sensors;
    bool any() const noexcept { return sites.empty() && sensors.empty(); }
    bool allows(std::string_view site, std::string_view sensor) const;
    friend bool operator==(const binding&, const binding&) = default;
};
nlohmann::json to_json(const binding& b);
binding parse_binding(const nlohmann::json& j);

/// The caller of a request: a signed-in person (user_id > 0) or a key (user_id == 0).
struct principal {
    std::string name;  ///< the login name of a person, the name of a key
    auth::role role = auth::role::gateway;
    auth::scope scope;
    std::int64_t user_id = 0;
    std::string display_name;  ///< a person's; empty for keys
    auth::binding binding;     ///< gateway keys only
    /// A signed-in browser: state-changing requests must carry the session's CSRF token.
    bool by_session = false;
    /// Signed in, but auth.require_totp_for names the role and no second factor is enrolled yet:
    /// only the session and enrolment routes answer.
    bool must_enrol_second_factor = false;
    bool is_person() const noexcept { return user_id > 0; }
    /// How alarm events and the audit trail name the caller: "user:<login>" for a person, the
    /// key's name for a key (as before people existed, so older events read the same).
    std::string actor() const { return is_person() ? "user:" + name : name; }
};

}  // namespace cityguard::auth
