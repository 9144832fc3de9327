#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cityguard/config/config.hpp"
#include "cityguard/store/keys_repo.hpp"

namespace cityguard::auth {

/// What a key may do. Each key has exactly one role.
enum class role { gateway, operator_, admin };

std::string_view to_string(role r) noexcept;
std::optional<role> parse_role(std::string_view text) noexcept;

/// The caller behind a verified key.
struct principal {
    std::string name;
    role role_ = role::gateway;
};

/// Verifies bearer keys and manages them. Keys are stored only as SHA-256 hashes; a verified key
/// is trusted for `auth.cache_ttl_s` without asking the database, so revocation by another
/// process takes effect within that time (immediately in this process).
///
/// Thread safety: all members may be called from any thread.
class key_service {
  public:
    key_service(store::keys_repo& repo, const config::auth_config& cfg);

    /// The principal for an "Authorization" header value ("Bearer <key>"), or nullopt.
    boost::asio::awaitable<std::optional<principal>> authenticate(std::string_view authorization);

    struct created {
        std::string name;
        role role_;
        std::string key;  ///< shown once; only its hash is kept
    };
    /// Throws api_error(validation_failed) for a bad name, api_error(conflict) if the name exists.
    boost::asio::awaitable<created> create(std::string name, role r);
    boost::asio::awaitable<std::vector<store::key_record>> list();
    /// False when no such key existed.
    boost::asio::awaitable<bool> revoke(std::string name);

    /// Start-up: makes sure an admin key exists. With `cfg.admin_key` set, a key named "admin"
    /// with that value is created or updated. Otherwise, if no admin key exists, one is
    /// generated and written to `cfg.admin_key_file` (mode 0600). Returns the key when it was
    /// generated now, else nullopt.
    boost::asio::awaitable<std::optional<std::string>> bootstrap_admin();

  private:
    struct cached {
        principal who;
        std::chrono::steady_clock::time_point expires;
    };

    store::keys_repo& repo_;
    const config::auth_config& cfg_;
    std::mutex mutex_;
    std::unordered_map<std::string, cached> cache_;  // key hash (hex) -> principal
};

/// A valid key name: 1-64 of [A-Za-z0-9._-].
bool valid_key_name(std::string_view name) noexcept;

}  // namespace cityguard::auth
