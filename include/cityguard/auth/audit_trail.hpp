#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cityguard/auth/identity.hpp"
#include "cityguard/config/config.hpp"
#include "cityguard/store/people_repo.hpp"

namespace cityguard::auth {

/// One thing to put on record: who, from where, what, on which ids, and how it ended.
struct audit_entry {
    const principal* who = nullptr;  ///< nullptr: nobody signed in (a sign-in attempt)
    std::string client;
    std::string action;     ///< "POST /api/v1/alarms/{id}/acknowledge"
    std::string target;     ///< the ids the request named, "/"-joined
    std::string_view body;  ///< the request body, summarised (secrets removed, large ones by size and hash)
    int status = 0;
};

/// A request body as put on record: JSON with secret members ("password", "code", ...) replaced by
/// "***" at any depth, or {"bytes":n,"sha256":...} when larger than `max_bytes`, not JSON, or not
/// storable text. Always a JSON text.
std::string summarise_body(std::string_view body, std::size_t max_bytes);

/// The audit trail: every state-changing request and every sign-in, append-only and
/// hash-chained in PostgreSQL (sql/0017_people.sql).
///
/// Thread safety: all members may be called from any thread.
class audit_trail {
  public:
    audit_trail(store::audit_repo& repo, const config::audit_config& cfg) : repo_(repo), cfg_(cfg) {}

    /// Appends one row. Never throws: a database that cannot take it is logged and counted
    /// (failures()), and the request's answer stands (its change is committed already).
    boost::asio::awaitable<void> record(const audit_entry& e);

    /// GET /api/v1/audit: newest first, {"entries":[...],"next_cursor":...}. Filters: from, to,
    /// actor, action (prefix), target, limit, cursor. Throws api_error(bad_request).
    boost::asio::awaitable<nlohmann::json> list(
        std::optional<std::string> from,
        std::optional<std::string> to,
        std::optional<std::string> actor,
        std::optional<std::string> action,
        std::optional<std::string> target,
        std::optional<std::string> limit,
        std::optional<std::string> cursor
    );
    /// The same rows as CSV (limit up to audit.max_list; a cursor pages on).
    static std::string to_csv(const nlohmann::json& listed);
    /// GET /api/v1/audit/verify: {"ok", "rows", "first_seq", "last_seq", "broken_at"?, ...}.
    boost::asio::awaitable<nlohmann::json> verify();
    /// Drops the months older than audit.retention_days; returns how many.
    boost::asio::awaitable<long> drop_expired();

    std::string summarise(std::string_view body) const { return summarise_body(body, cfg_.max_detail_bytes); }

    std::uint64_t failures() const noexcept { return failures_.load(); }

  private:
    store::audit_repo& repo_;
    const config::audit_config& cfg_;
    std::atomic<std::uint64_t> failures_{0};
};

}  // namespace cityguard::auth
