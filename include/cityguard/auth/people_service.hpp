#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cityguard/auth/identity.hpp"
#include "cityguard/auth/passwords.hpp"
#include "cityguard/config/config.hpp"
#include "cityguard/store/people_repo.hpp"
#include "cityguard/util/rate_limit.hpp"

namespace cityguard::auth {

/// An account as POST /api/v1/users asks for it, checked: the record (no hash yet) and the password.
struct new_user {
    store::user_record account;
    std::string password;
};
/// Checks a POST /api/v1/users body made by `caller`: members, login, role, scope within the
/// caller's, password policy. Throws api_error (validation_failed, forbidden). Pure of I/O.
new_user parse_new_user(const nlohmann::json& body, const principal& caller, std::size_t password_min_length);

/// People: their accounts, sign-in, sessions and second factor. Accounts and sessions live in
/// PostgreSQL only (no copy in memory), so a change made on one instance of a cluster holds on
/// every other at the next request, and a session survives a restart.
///
/// Thread safety: all members may be called from any thread.
class people_service {
  public:
    people_service(store::people_repo& repo, password_hasher& hasher, const config::auth_config& cfg);

    // --- accounts (admin routes). Every call checks that the account lies within the caller's
    // scope; one outside looks like one that does not exist (not_found), so ids do not leak.
    /// Checks that a person with scope `of_person` may be the escalation contact `contact`
    /// (it exists and lies within that scope); throws api_error. Given by the route, which
    /// knows the registry.
    using contact_check = std::function<boost::asio::awaitable<void>(std::string contact, scope of_person)>;
    boost::asio::awaitable<nlohmann::json> create_user(nlohmann::json body, principal caller, contact_check check);
    boost::asio::awaitable<nlohmann::json> list_users(principal caller);
    boost::asio::awaitable<nlohmann::json> get_user(std::int64_t id, principal caller);
    boost::asio::awaitable<nlohmann::json> update_user(
        std::int64_t id, nlohmann::json body, principal caller, contact_check check
    );
    boost::asio::awaitable<void> delete_user(std::int64_t id, principal caller);

    /// The enabled person of that login, or nullopt (an alarm's assignee is looked up so).
    boost::asio::awaitable<std::optional<principal>> person(std::string login);
    /// Display names of logins (those that exist), for showing who acted.
    boost::asio::awaitable<std::map<std::string, std::string>> display_names();

    // --- sign-in
    struct signed_in {
        std::string token;  ///< the cookie's value; only its hash is stored
        std::string csrf;   ///< to be sent back in X-CSRF-Token with every state-changing request
        principal who;
        int max_age_seconds = 0;
    };
    /// Throws api_error: unauthorized ("wrong login name or password", or a second factor is
    /// needed: details [{"second_factor":"totp"}]), too_many_requests (the address's sign-ins or a
    /// locked account; Retry-After), overloaded (too many hashes waiting). `replaced_token` is
    /// the session cookie the browser sent, ended here so a planted session id never survives a
    /// sign-in (session fixation).
    boost::asio::awaitable<signed_in> sign_in(
        std::string login,
        std::string password,
        std::optional<std::string> one_time_code,
        std::string client,
        std::optional<std::string> replaced_token
    );
    struct session {
        principal who;
        std::string csrf;
    };
    /// The session of a cookie value, or nullopt (unknown, ended, idle or too old, user disabled).
    boost::asio::awaitable<std::optional<session>> authenticate(std::string token);
    boost::asio::awaitable<void> sign_out(std::string token);
    /// Ends sessions past their lifetimes (the retention schedule calls it).
    boost::asio::awaitable<long> purge_sessions();

    // --- second factor (the signed-in person's own)
    /// A new secret to enter into an authenticator app: {"secret","otpauth_uri"}. Not in force
    /// until confirmed.
    boost::asio::awaitable<nlohmann::json> begin_totp(principal who);
    /// Confirms the pending secret with a current code; returns ten recovery codes, shown once.
    boost::asio::awaitable<nlohmann::json> confirm_totp(principal who, std::string code);
    /// Changes the person's own password (the current one is asked again); ends their other sessions.
    boost::asio::awaitable<void> change_password(principal who, std::string current, std::string next);

    /// Start-up: with CITYGUARD_ADMIN_LOGIN/PASSWORD set and no account of that login, creates
    /// it as a city admin. Returns true when it did.
    boost::asio::awaitable<bool> bootstrap_admin();

    int max_age_seconds() const noexcept { return cfg_.session_absolute_hours * 3600; }
    /// The principal of a stored account (scope parsed; must_enrol_second_factor set per config).
    principal principal_of(const store::user_record& u) const;
    /// The account as the API shows it: never the password hash, secrets or recovery codes.
    static nlohmann::json to_json(const store::user_record& u);

  private:
    bool address_may_try(const std::string& client);
    bool totp_required(role r) const;
    void check_within(const principal& caller, const store::user_record& u) const;

    store::people_repo& repo_;
    password_hasher& hasher_;
    const config::auth_config& cfg_;
    std::mutex mutex_;
    util::keyed_rate_limiter per_address_;
};

}  // namespace cityguard::auth
