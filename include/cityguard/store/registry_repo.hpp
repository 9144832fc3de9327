#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cityguard/registry/records.hpp"
#include "cityguard/store/database.hpp"

namespace cityguard::store {

struct upsert_counts {
    int sites_created = 0;
    int sites_updated = 0;
    int sensors_created = 0;
    int sensors_updated = 0;
    int units_created = 0;
    int units_updated = 0;
    int contacts_created = 0;
    int contacts_updated = 0;
    int resources_created = 0;
    int resources_updated = 0;
};

/// An item refused by the store because a record it names does not exist: a sensor's site, a
/// site's or contact's unit.
struct missing_reference {
    std::string kind;  ///< "sensor", "site", "contact"
    std::size_t index;
    std::string id;     ///< the referring item's id
    std::string field;  ///< "site" or "unit"
    std::string target;

    std::string message() const { return field + " '" + target + "' does not exist"; }
};

/// One registry document: everything in it is written in one transaction or nothing is.
struct registry_document {
    std::vector<registry::unit_record> units;
    std::vector<registry::contact_record> contacts;
    std::vector<registry::site_record> sites;
    std::vector<registry::sensor_record> sensors;
    std::vector<registry::resource_record> resources;  ///< emergency resources: they name nothing else
};

/// Sites and sensors. Coroutines resume on the caller's executor. Throws store::error when
/// the database cannot serve.
class registry_repo {
  public:
    explicit registry_repo(database& db) : db_(db) {}

    /// Writes units, sites, sensors, contacts, then resources in one transaction. If an item names a site or
    /// unit that is neither stored nor in the document, nothing is written and the offending
    /// items are returned.
    boost::asio::awaitable<std::variant<upsert_counts, std::vector<missing_reference>>> upsert(registry_document doc);

    boost::asio::awaitable<std::vector<registry::site_record>> list_sites(
        std::optional<std::string> domain, std::optional<std::string> district
    );
    boost::asio::awaitable<std::optional<registry::site_record>> get_site(std::string id);
    /// The site's sensors, each with its latest reading.
    boost::asio::awaitable<std::vector<registry::sensor_record>> sensors_of_site(std::string site_id);
    boost::asio::awaitable<std::vector<registry::sensor_record>> list_sensors(
        std::optional<std::string> site, std::optional<std::string> kind, std::optional<std::string> group
    );
    /// The sensor with its latest reading.
    boost::asio::awaitable<std::optional<registry::sensor_record>> get_sensor(std::string id);
    boost::asio::awaitable<std::vector<registry::unit_record>> list_units();
    boost::asio::awaitable<std::optional<registry::unit_record>> get_unit(const std::string& id);
    /// False when there was no such unit; store::error(conflict) while sites or contacts name it.
    boost::asio::awaitable<bool> delete_unit(const std::string& id);
    boost::asio::awaitable<std::vector<registry::contact_record>> list_contacts(
        const std::optional<std::string>& unit,
        const std::optional<std::string>& district,
        const std::optional<std::string>& tier
    );
    boost::asio::awaitable<std::optional<registry::contact_record>> get_contact(const std::string& id);
    /// The site's enterprise (its unit's), district and city contacts, in that order.
    boost::asio::awaitable<std::vector<registry::contact_record>> contacts_of_site(const std::string& site_id);
    boost::asio::awaitable<bool> delete_contact(const std::string& id);

    /// Every sensor (id, key, site, kind, interval_s) for the in-memory directory.
    boost::asio::awaitable<std::vector<registry::sensor_record>> all_sensors();

  private:
    database& db_;
};

}  // namespace cityguard::store
