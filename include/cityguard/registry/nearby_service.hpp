#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cityguard/config/config.hpp"
#include "cityguard/registry/nearby.hpp"
#include "cityguard/store/resources_repo.hpp"

namespace cityguard::registry {

/// The query parameters of GET /api/v1/resources/nearby, as the client sent them.
struct nearby_request {
    std::optional<std::string> lat, lon;
    std::optional<std::string> kind;       ///< resource kinds, comma-separated; all when absent
    std::optional<std::string> team_kind;  ///< wanted team kinds, most relevant first
    std::optional<std::string> material;   ///< wanted material kinds
    std::optional<std::string> limit;      ///< nearest per kind (resources.nearby_per_kind)
};

/// What a nearby query looks for: a place, the kinds of resource, what is wanted first, and how
/// many of each kind.
struct nearby_search {
    double lat = 0;
    double lon = 0;
    std::vector<std::string> kinds;
    wanted_responders wanted;
    int per_kind = 0;
};

/// The search a GET /api/v1/resources/nearby asks for. Throws api_error(bad_request) naming the
/// parameter. Pure: fuzz/fuzz_params.cpp.
nearby_search parse_nearby(const nearby_request& req, const config::resources_config& cfg);

/// Who and what can reach a place fastest: the nearest resources of each kind, the ones a rule
/// wants first, each with its straight-line distance, travel estimate and whether it is inside
/// the disposal circle. Throws api_error (bad_request naming the parameter, not_found).
class nearby_service {
  public:
    /// A rule's responders (alarm_service::responders_of); empty for an unknown rule.
    using responders_lookup = std::function<rules::responders(std::string_view rule_id)>;

    nearby_service(store::resources_repo& repo, const config::resources_config& cfg, responders_lookup responders);

    boost::asio::awaitable<nlohmann::json> nearby(const nearby_request& req);
    /// Around an alarm's sensor (or site, or group), wanting what its rule wants.
    boost::asio::awaitable<nlohmann::json> for_alarm(std::int64_t alarm_id, const std::optional<std::string>& limit);

  private:
    using search = nearby_search;
    boost::asio::awaitable<nlohmann::json> answer(const search& s);

    store::resources_repo& repo_;
    const config::resources_config& cfg_;
    travel_model travel_;
    responders_lookup responders_;
};

}  // namespace cityguard::registry
