#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cityguard/config/config.hpp"
#include "cityguard/store/keys_repo.hpp"
#include "cityguard/util/rate_limit.hpp"

namespace cityguard::auth {

/// What a key may do. Each key has exactly one role.
enum class role { gateway, operator_, admin, monitor };

std::string_view to_string(role r) noexcept;
std::optional<role> parse_role(std::string_view text) noexcept;

/// The caller behind a verified key.
struct principal {
    std::string name;
    role role_ = role::gateway;
};

/// Verifies bearer keys and manages them. Keys are stored only as SHA-256 hashes; a verified key
/// is trusted for `auth.cache_ttl_s` without asking the database, so revocation by another
/// process takes effect within that time (immediately in this process, also for a look-up of
/// that key in flight when it is revoked).
///
/// Wrong keys cost memory and CPU only, bounded: an unknown key is refused without the database
/// for `auth.negative_cache_ttl_s` (at most `auth.negative_cache_size` remembered), each client
/// address may send at most `auth.max_lookups_per_client_per_s` never-seen keys to the database
/// (beyond: too_many_requests), and at most `auth.max_concurrent_lookups` such look-ups run at
/// once (beyond: overloaded), so a flood never fills the database queue. Keys this instance has
/// verified before are re-checked outside those limits: a flood never locks them out.
///
/// Thread safety: all members may be called from any thread.
class key_service {
  public:
    key_service(store::keys_repo& repo, const config::auth_config& cfg);

    /// The principal for an "Authorization" header value ("Bearer <key>"), or nullopt.
    /// `client` (the peer's address) is whose look-up budget a never-seen key uses. Throws
    /// api_error(too_many_requests, overloaded, unavailable).
    boost::asio::awaitable<std::optional<principal>> authenticate(std::string_view authorization, std::string client);

    /// Trusts `key` as `who` for auth.cache_ttl_s, as if just looked up. For harnesses that run
    /// the dispatcher without a database (fuzz/).
    void remember_verified(std::string_view key, principal who);

    /// Keys changed in the database, on any instance (sql/0016_cluster.sql). Each makes a look-up
    /// in flight ask again. Any thread.
    /// The key of that name was deleted: its cached answers go and it is refused at once.
    void forget_revoked(const std::string& name);
    /// The key of that name was changed (role, hash): looked up again at its next use.
    void forget_changed(const std::string& name);
    /// A key with this hash (hex) exists now: no longer remembered as unknown.
    void forget_unknown(const std::string& hash_hex);
    /// Anything may have changed (the table was emptied, or changes were missed): forgets every
    /// cached answer, positive and negative.
    void forget_all();

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

    /// Admits a database look-up of a key never verified here, or throws.
    void admit_unknown_lookup(const std::string& client);
    void remember_unknown(const std::string& hash, std::chrono::steady_clock::time_point now);
    /// Drops the cached answers for the key `name` (and refuses them from memory if `refuse`).
    void forget_name(const std::string& name, bool refuse);
    /// Caches `hash` as verified for auth.cache_ttl_s. Called with mutex_ held.
    void trust_locked(const std::string& hash, principal who);

    store::keys_repo& repo_;
    const config::auth_config& cfg_;
    std::mutex mutex_;
    std::unordered_map<std::string, cached> cache_;  // key hash (hex) -> principal; expired = re-check
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> unknown_;  // hash -> refuse until
    std::deque<std::string> unknown_order_;                                           // oldest first, for forgetting
    util::keyed_rate_limiter lookups_per_client_;
    std::size_t unknown_lookups_in_flight_ = 0;
    std::uint64_t revocations_ = 0;  // bumped by revoke(): a look-up that spans one is redone
};

/// A valid key name: 1-64 of [A-Za-z0-9._-].
bool valid_key_name(std::string_view name) noexcept;

}  // namespace cityguard::auth
