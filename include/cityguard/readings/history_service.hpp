#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cityguard/config/config.hpp"
#include "cityguard/registry/sensor_directory.hpp"
#include "cityguard/store/readings_repo.hpp"

namespace cityguard::readings {

/// What a readings query asks for; the strings are the raw query parameters.
struct readings_query {
    std::string sensor;
    std::optional<std::string> from;    ///< RFC 3339 or epoch ms; default: `to` minus one hour
    std::optional<std::string> to;      ///< default: now
    std::optional<std::string> limit;   ///< default query.default_readings, at most query.max_readings
    std::optional<std::string> bucket;  ///< "60s", "5m", "1h", ...: aggregate instead of raw points
};

/// Per-sensor history for charts and reports. Throws api_error (bad_request, not_found).
/// Thread safety: any thread.
class history_service {
  public:
    history_service(
        store::readings_repo& repo, const registry::sensor_directory& directory, const config::query_config& cfg
    )
        : repo_(repo), directory_(directory), cfg_(cfg) {}

    boost::asio::awaitable<nlohmann::json> readings(readings_query q);

  private:
    store::readings_repo& repo_;
    const registry::sensor_directory& directory_;
    const config::query_config& cfg_;
};

}  // namespace cityguard::readings
