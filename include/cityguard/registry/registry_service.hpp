#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cityguard/registry/sensor_directory.hpp"
#include "cityguard/store/registry_repo.hpp"

namespace cityguard::registry {

/// Sites and sensors: validates input, writes through the repository, and keeps the in-memory
/// sensor directory in step with what was committed. Request-level failures are thrown as
/// api_error (validation_failed with per-item details, not_found).
///
/// Thread safety: all members may be called from any thread.
class registry_service {
  public:
    registry_service(store::registry_repo& repo, sensor_directory& directory) : repo_(repo), directory_(directory) {}

    /// Loads every sensor into the directory.
    boost::asio::awaitable<void> load_directory();

    /// Creates or replaces one site; true when it was created.
    boost::asio::awaitable<bool> put_site(std::string id, const nlohmann::json& body);
    /// Creates or replaces one sensor; true when it was created.
    boost::asio::awaitable<bool> put_sensor(std::string id, const nlohmann::json& body);
    /// All-or-nothing bulk upsert of {"sites":[...],"sensors":[...]}; returns the counts.
    boost::asio::awaitable<nlohmann::json> bulk_upsert(const nlohmann::json& body);

    boost::asio::awaitable<nlohmann::json> list_sites(
        std::optional<std::string> domain, std::optional<std::string> district
    );
    /// The site with its sensors and each sensor's latest reading.
    boost::asio::awaitable<nlohmann::json> get_site(std::string id);
    boost::asio::awaitable<nlohmann::json> list_sensors(
        std::optional<std::string> site, std::optional<std::string> kind, std::optional<std::string> group
    );
    boost::asio::awaitable<nlohmann::json> get_sensor(std::string id);

  private:
    store::registry_repo& repo_;
    sensor_directory& directory_;
};

}  // namespace cityguard::registry
