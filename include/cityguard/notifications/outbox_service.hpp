#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cityguard/notification_model/policy.hpp"
#include "cityguard/store/notifications_repo.hpp"

namespace cityguard::notifications {

/// The outbox as operators read it: an alarm's notifications with every attempt, the list by
/// status (what could not be delivered), the policy in force. Throws api_error (bad_request).
class outbox_service {
  public:
    outbox_service(store::notifications_repo& repo, const notification_model::policy& policy)
        : repo_(repo), policy_(policy) {}

    /// [{id, kind, tier, contact, channel, status, attempts: [...]}] of one alarm.
    boost::asio::awaitable<nlohmann::json> of_alarm(std::int64_t alarm);
    /// GET /api/v1/notifications?status=&limit=&cursor=
    boost::asio::awaitable<nlohmann::json> list(
        std::optional<std::string> status,
        std::optional<std::string> limit,
        std::optional<std::string> cursor,
        store::place_filter scope = {}
    );
    nlohmann::json policy() const { return notification_model::to_json(policy_); }

  private:
    store::notifications_repo& repo_;
    const notification_model::policy& policy_;
};

}  // namespace cityguard::notifications
