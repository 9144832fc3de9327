#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/store/database.hpp"
#include "cityguard/store/records.hpp"

namespace cityguard::store {

/// Users and their sessions (sql/0017_people.sql). Coroutines resume on the caller's executor;
/// database work runs on the pool. Throws store::error when the database cannot serve.
class people_repo {
  public:
    explicit people_repo(database& db) : db_(db) {}

    /// The new user's id, or nullopt when the login is taken. `u.id` is ignored.
    boost::asio::awaitable<std::optional<std::int64_t>> insert_user(user_record u);
    boost::asio::awaitable<std::vector<user_record>> list_users();
    boost::asio::awaitable<std::optional<user_record>> user(std::int64_t id);
    boost::asio::awaitable<std::optional<user_record>> user_by_login(std::string login);
    /// Writes every field the API may change (not the sign-in counters). False: no such user.
    /// `end_sessions` ends the user's sessions in the same transaction (password, role, scope
    /// changed or disabled: whoever was signed in signs in again under the new terms).
    boost::asio::awaitable<bool> update_user(user_record u, bool end_sessions);
    boost::asio::awaitable<bool> delete_user(std::int64_t id);
    /// Enabled, city-scoped admins: the last one may not be removed, disabled or demoted.
    boost::asio::awaitable<long> count_city_admins();

    /// A wrong password: counts it and, from the `max_failures`th in a row, locks the account for
    /// base_seconds · 2^(failures − max_failures), at most max_seconds.
    boost::asio::awaitable<void> record_failure(std::int64_t id, int max_failures, int base_seconds, int max_seconds);
    boost::asio::awaitable<void> record_success(std::int64_t id);
    /// Marks a TOTP time step used; false when it (or a later one) was used already.
    boost::asio::awaitable<bool> use_totp_step(std::int64_t id, std::int64_t step);
    /// Uses up a recovery code (its hash); false when it is not one of the user's unused codes.
    boost::asio::awaitable<bool> use_recovery_code(std::int64_t id, std::string code_hash);

    /// Stores a new session and ends the user's oldest beyond `max_per_user`.
    boost::asio::awaitable<void> insert_session(
        std::string token_hash, std::int64_t user_id, std::string csrf, std::string client, std::size_t max_per_user
    );
    /// The live session of that token hash (its user enabled; within both lifetimes), or nullopt.
    boost::asio::awaitable<std::optional<session_record>> find_session(
        std::string token_hash, int idle_seconds, int absolute_seconds
    );
    boost::asio::awaitable<void> touch_session(std::string token_hash);
    /// The user the ended session belonged to, or nullopt when there was none.
    boost::asio::awaitable<std::optional<std::int64_t>> delete_session(std::string token_hash);
    /// Ends sessions past either lifetime; returns how many.
    boost::asio::awaitable<long> purge_sessions(int idle_seconds, int absolute_seconds);

  private:
    database& db_;
};

/// The audit trail (sql/0017_people.sql): appended by the API, read by admins.
class audit_repo {
  public:
    explicit audit_repo(database& db) : db_(db) {}

    /// Appends one row (the database chains its hash); returns its seq.
    boost::asio::awaitable<std::int64_t> append(audit_record r);
    /// Newest first; at most filter.limit + 1 rows, so the caller can tell whether more exist.
    boost::asio::awaitable<std::vector<audit_record>> list(audit_filter filter);
    boost::asio::awaitable<audit_verification> verify();
    /// Drops the months that ended before `cutoff`; returns how many.
    boost::asio::awaitable<long> drop_before(util::micros cutoff);

  private:
    database& db_;
};

}  // namespace cityguard::store
