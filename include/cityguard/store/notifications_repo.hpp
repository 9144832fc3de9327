#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/alarm_model/alarm.hpp"
#include "cityguard/notification_model/escalation.hpp"
#include "cityguard/store/database.hpp"
#include "cityguard/store/records.hpp"
#include "cityguard/store/writer_connection.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::store {

/// One outbox row.
struct notification_record {
    std::int64_t id = 0;
    std::int64_t alarm = 0;
    std::string kind;
    std::string tier;
    rules::level lvl = rules::level::blue;
    std::string contact;
    std::string contact_name;
    std::string channel;
    std::string status;  ///< pending, delivered, failed
    int attempts = 0;
    util::micros next_attempt_at = 0;
    util::micros created_at = 0;
    std::optional<util::micros> delivered_at;
    std::optional<std::string> last_error;
    /// The signed-in people who are this contact (users.contact_id), enabled ones: the tier is
    /// people who can act, not only an address. Filled by the lists, not by due().
    struct person {
        std::int64_t id = 0;
        std::string display_name;
    };
    std::vector<person> people{};
};

/// A row due for delivery with what its message needs.
struct delivery_job {
    notification_record notification;
    std::optional<std::string> phone;  ///< the contact's now (personal data: never logged)
    std::string site_name;
    std::string district;
    alarm_model::alarm alarm;  ///< as it is now
};

struct delivery_attempt {
    std::int64_t notification = 0;
    std::string status;  ///< delivered, pending (retry at next_attempt_at) or failed (no more attempts)
    std::optional<std::string> error;
    util::micros next_attempt_at = 0;
    int duration_ms = 0;
    std::optional<int> http_status;
};

struct attempt_record {
    std::int64_t notification = 0;
    int attempt = 0;
    util::micros at = 0;
    int duration_ms = 0;
    std::optional<int> http_status;
    std::optional<std::string> error;
};

/// The outbox as the dispatcher and the API read it. Coroutines resume on the caller's executor.
/// Arguments by reference, copied into the work (see silences_repo).
class notifications_repo {
  public:
    explicit notifications_repo(database& db) : db_(db) {}

    boost::asio::awaitable<std::vector<notification_record>> of_alarm(std::int64_t alarm);
    boost::asio::awaitable<std::vector<attempt_record>> attempts_of_alarm(std::int64_t alarm);
    /// Newest first; `before`: only ids below it (paging); `scope`: only notices of alarms there.
    boost::asio::awaitable<std::vector<notification_record>> list(
        const std::optional<std::string>& status,
        std::optional<std::int64_t> before,
        std::size_t limit,
        place_filter scope = {}
    );
    /// Pending rows whose time has come, oldest first, leaving out those in `in_flight`.
    boost::asio::awaitable<std::vector<delivery_job>> due(
        const std::vector<std::int64_t>& in_flight, std::size_t limit
    );
    /// Records one attempt and the row's new state; a row no longer pending is left alone.
    boost::asio::awaitable<void> record(const delivery_attempt& attempt);

  private:
    database& db_;
};

}  // namespace cityguard::store
