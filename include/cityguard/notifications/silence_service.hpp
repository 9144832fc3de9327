#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cityguard/alarms/alarm_service.hpp"
#include "cityguard/notification_model/policy.hpp"
#include "cityguard/rules/domain.hpp"
#include "cityguard/store/silences_repo.hpp"

namespace cityguard::notifications {

/// Silences and maintenance windows through the API: checked, stored with an audit row (at most
/// silences.max_active in force or to come), then handed to the escalation before the answer, so
/// a silence holds for every reading committed after its 201. Throws api_error
/// (validation_failed naming the field, not_found, bad_request). Strings are taken by
/// reference: GCC 12 copies a coroutine's by-value string made from a temporary bitwise.
class silence_service {
  public:
    silence_service(
        store::silences_repo& repo,
        alarms::alarm_service& alarms,
        const notification_model::policy& policy,
        const rules::domain_book& domains
    )
        : repo_(repo), alarms_(alarms), policy_(policy), domains_(domains) {}

    /// Hands every silence in force or to come to the escalation (start-up, and after each change).
    boost::asio::awaitable<void> load();
    boost::asio::awaitable<nlohmann::json> create(const nlohmann::json& body, const std::string& owner);
    boost::asio::awaitable<nlohmann::json> end(std::int64_t id, const std::string& actor);
    boost::asio::awaitable<nlohmann::json> get(std::int64_t id);
    boost::asio::awaitable<nlohmann::json> list(std::optional<std::string> state, std::optional<std::string> limit);

  private:
    store::silences_repo& repo_;
    alarms::alarm_service& alarms_;
    const notification_model::policy& policy_;
    const rules::domain_book& domains_;
};

/// A silence from a request body, checked against `policy` (silences.max_duration_s) at `now`:
/// its matchers, window and reason (no id, owner or database yet). Throws
/// api_error(validation_failed) naming the field. Pure: fuzz/fuzz_silence.cpp.
store::silence_record parse_silence(
    const nlohmann::json& body,
    const notification_model::policy& policy,
    const rules::domain_catalog& domains,
    util::micros now
);

/// Parses a silence id from the URL (bad_request otherwise).
std::int64_t silence_id(const std::string& text);

}  // namespace cityguard::notifications
