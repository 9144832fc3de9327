#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cityguard/config/config.hpp"
#include "cityguard/registry/registry_model.hpp"
#include "cityguard/registry/sensor_directory.hpp"
#include "cityguard/store/registry_repo.hpp"
#include "cityguard/store/resources_repo.hpp"

namespace cityguard::registry {

/// Sites and sensors: validates input, writes through the repository, and keeps the in-memory
/// sensor directory in step with what was committed. Request-level failures are thrown as
/// api_error (validation_failed with per-item details, not_found).
///
/// Thread safety: all members may be called from any thread.
class registry_service {
  public:
    /// `known_channel` says which channel names contacts may use (the notification document's).
    registry_service(
        store::registry_repo& repo,
        store::resources_repo& resources,
        sensor_directory& directory,
        const rules::domain_book& domains,
        channel_check known_channel,
        const config::registry_config& cfg
    )
        : repo_(repo),
          resources_(resources),
          directory_(directory),
          domains_(domains),
          known_channel_(std::move(known_channel)),
          cfg_(cfg) {}

    /// Loads every sensor into the directory.
    boost::asio::awaitable<void> load_directory();
    /// Every sensor and the place of every site with sensors, in memory (scope checks use it).
    const sensor_directory& directory() const noexcept { return directory_; }

    /// Creates or replaces one site; true when it was created.
    boost::asio::awaitable<bool> put_site(std::string id, const nlohmann::json& body);
    /// Creates or replaces one sensor; true when it was created.
    boost::asio::awaitable<bool> put_sensor(std::string id, const nlohmann::json& body);
    /// All-or-nothing bulk upsert of {"units":[...],"contacts":[...],"sites":[...],"sensors":[...],
    /// "resources":[...]} (any of them); returns the counts.
    boost::asio::awaitable<nlohmann::json> bulk_upsert(const nlohmann::json& body);

    boost::asio::awaitable<nlohmann::json> list_sites(
        std::optional<std::string> domain, std::optional<std::string> district
    );
    /// The site with its sensors and each sensor's latest reading, its unit and its contacts.
    boost::asio::awaitable<nlohmann::json> get_site(std::string id);
    boost::asio::awaitable<nlohmann::json> list_sensors(
        std::optional<std::string> site, std::optional<std::string> kind, std::optional<std::string> group
    );
    boost::asio::awaitable<nlohmann::json> get_sensor(std::string id);

    /// Responsible units and contacts (一企一档).
    boost::asio::awaitable<bool> put_unit(std::string id, const nlohmann::json& body);
    boost::asio::awaitable<nlohmann::json> list_units();
    /// The unit with its sites and enterprise contacts.
    boost::asio::awaitable<nlohmann::json> get_unit(std::string id);
    boost::asio::awaitable<void> delete_unit(std::string id);
    boost::asio::awaitable<bool> put_contact(std::string id, const nlohmann::json& body);
    boost::asio::awaitable<nlohmann::json> list_contacts(
        std::optional<std::string> unit, std::optional<std::string> district, std::optional<std::string> tier
    );
    boost::asio::awaitable<nlohmann::json> get_contact(std::string id);
    boost::asio::awaitable<void> delete_contact(std::string id);

    /// Emergency resources (warehouses, teams, shelters, experts).
    boost::asio::awaitable<bool> put_resource(const std::string& id, const nlohmann::json& body);
    /// Filtered by kind, district and tag (a team kind, or a material kind in stock).
    boost::asio::awaitable<nlohmann::json> list_resources(
        const std::optional<std::string>& kind,
        const std::optional<std::string>& district,
        const std::optional<std::string>& tag
    );
    boost::asio::awaitable<nlohmann::json> get_resource(const std::string& id);
    boost::asio::awaitable<void> delete_resource(const std::string& id);

  private:
    /// Writes one document; a missing reference is refused with its message, or (itemised, for
    /// bulk documents) with every refused item's kind, index and id.
    /// `doc` is the caller's and is moved from (a coroutine must not move from its own parameter).
    boost::asio::awaitable<store::upsert_counts> write_document(store::registry_document& doc, bool itemised);

    store::registry_repo& repo_;
    store::resources_repo& resources_;
    sensor_directory& directory_;
    const rules::domain_book& domains_;
    channel_check known_channel_;
    const config::registry_config& cfg_;
};

}  // namespace cityguard::registry
