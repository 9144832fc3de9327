#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/registry/records.hpp"
#include "cityguard/store/database.hpp"

namespace cityguard::store {

/// What the nearest-resources query looks for around a place.
struct nearest_query {
    double lat = 0;
    double lon = 0;
    int warehouses = 0;  ///< the nearest this many of each kind (0: none of it)
    int teams = 0;
    int shelters = 0;
    int experts = 0;
    std::vector<std::string> team_kinds;      ///< and, for each, the nearest `per_wanted` teams of that kind
    std::vector<std::string> material_kinds;  ///< and the nearest `per_wanted` warehouses holding each
    int per_wanted = 0;
};

/// Where an alarm is and what raised it.
struct alarm_place {
    std::string rule;
    std::string site;
    std::string sensor;
    int level = 0;
    std::optional<double> lat;  ///< none when neither its sensor nor its site has a location
    std::optional<double> lon;
};

/// Emergency resources (written with the registry: registry_repo::upsert). Coroutines resume on
/// the caller's executor; throws store::error when the database cannot serve.
class resources_repo {
  public:
    explicit resources_repo(database& db) : db_(db) {}

    /// Filtered by kind, district and tag (a team kind or a material kind in stock); by id.
    boost::asio::awaitable<std::vector<registry::resource_record>> list(
        const std::optional<std::string>& kind,
        const std::optional<std::string>& district,
        const std::optional<std::string>& tag
    );
    boost::asio::awaitable<std::optional<registry::resource_record>> get(const std::string& id);
    /// False when there was no such resource.
    boost::asio::awaitable<bool> remove(const std::string& id);
    /// Candidates near a place, unordered (registry::rank_nearby orders them).
    boost::asio::awaitable<std::vector<registry::resource_record>> nearest(const nearest_query& q);
    boost::asio::awaitable<std::optional<alarm_place>> place_of_alarm(std::int64_t alarm_id);

  private:
    database& db_;
};

}  // namespace cityguard::store
