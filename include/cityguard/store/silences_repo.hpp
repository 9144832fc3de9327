#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/notification_model/escalation.hpp"
#include "cityguard/store/database.hpp"

namespace cityguard::store {

struct silence_record {
    notification_model::silence what;
    std::string owner;
    std::string reason;
    util::micros created_at = 0;
    std::optional<std::string> ended_early_by;
};

struct silence_audit_record {
    std::int64_t seq = 0;
    util::micros at = 0;
    std::string actor;
    std::string action;  ///< created, ended
    nlohmann::json detail;
};

/// Silences and their audit trail: every change writes its audit row in the same transaction.
/// Arguments are taken by reference and copied into the work: a by-value parameter would be a
/// temporary inside the caller's co_await, which GCC 12 mishandles.
class silences_repo {
  public:
    explicit silences_repo(database& db) : db_(db) {}

    /// Stores a new silence (its id is assigned) and the "created" audit row; nullopt (nothing
    /// stored) when `max_unexpired` silences are in force or to come already.
    boost::asio::awaitable<std::optional<silence_record>> create(const silence_record& s, std::size_t max_unexpired);
    /// Ends a silence now; nullopt when there is none that is not over already.
    boost::asio::awaitable<std::optional<silence_record>> end(std::int64_t id, const std::string& actor);
    boost::asio::awaitable<std::optional<silence_record>> get(std::int64_t id);
    boost::asio::awaitable<std::vector<silence_audit_record>> audit(std::int64_t id);
    /// state: active, pending, expired, or nullopt for active and pending. Newest first.
    boost::asio::awaitable<std::vector<silence_record>> list(
        const std::optional<std::string>& state, std::size_t limit
    );
    /// Every silence in force or still to come (what the escalation matches against).
    boost::asio::awaitable<std::vector<silence_record>> unexpired();

  private:
    database& db_;
};

}  // namespace cityguard::store
