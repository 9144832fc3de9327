#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cityguard/store/database.hpp"
#include "cityguard/store/records.hpp"

namespace cityguard::store {

struct upsert_counts {
    int sites_created = 0;
    int sites_updated = 0;
    int sensors_created = 0;
    int sensors_updated = 0;
};

/// A sensor refused by the store because its site does not exist.
struct missing_site {
    std::size_t sensor_index;
    std::string site;
};

/// Sites and sensors. Coroutines resume on the caller's executor. Throws store::error when
/// the database cannot serve.
class registry_repo {
  public:
    explicit registry_repo(database& db) : db_(db) {}

    /// Writes all sites then all sensors in one transaction. If any sensor names a site that is
    /// neither stored nor in `sites`, nothing is written and the offending sensors are returned.
    boost::asio::awaitable<std::variant<upsert_counts, std::vector<missing_site>>> upsert(
        std::vector<site_record> sites, std::vector<sensor_record> sensors
    );

    boost::asio::awaitable<std::vector<site_record>> list_sites(
        std::optional<std::string> domain, std::optional<std::string> district
    );
    boost::asio::awaitable<std::optional<site_record>> get_site(std::string id);
    /// The site's sensors, each with its latest reading.
    boost::asio::awaitable<std::vector<sensor_record>> sensors_of_site(std::string site_id);
    boost::asio::awaitable<std::vector<sensor_record>> list_sensors(
        std::optional<std::string> site, std::optional<std::string> kind, std::optional<std::string> group
    );
    /// The sensor with its latest reading.
    boost::asio::awaitable<std::optional<sensor_record>> get_sensor(std::string id);
    /// Every sensor (id, key, site, kind, interval_s) for the in-memory directory.
    boost::asio::awaitable<std::vector<sensor_record>> all_sensors();

  private:
    database& db_;
};

}  // namespace cityguard::store
