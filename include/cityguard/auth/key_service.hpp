#pragma once

#include <boost/asio/awaitable.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cityguard/auth/identity.hpp"
#include "cityguard/config/config.hpp"
#include "cityguard/store/keys_repo.hpp"
#include "cityguard/util/rate_limit.hpp"

namespace cityguard::auth {

/// Verifies bearer keys and manages them. Keys are stored only as SHA-256 hashes, and every
/// key's hash is held in memory (keys are few: hundreds), so a key is checked without the
/// database: a wrong key is refused from memory at no database cost, and a valid one is never
/// refused for what others sent from its address.
///
/// The table is loaded at start (load()) and kept current: this instance's own changes at once,
/// other instances' when their commit's notification arrives (changed(), then refresh()). A key
/// revoked anywhere is refused here as soon as the notification is heard, before the reload.
///
/// Thread safety: all members may be called from any thread.
class key_service {
  public:
    key_service(store::keys_repo& repo, const config::auth_config& cfg);

    /// The principal for an "Authorization" header value ("Bearer <key>"), or nullopt. A key not
    /// held while a heard change is being loaded waits for that load, at most half a second. A
    /// well-formed key still not held (made on another instance, its notification not heard yet)
    /// is looked up in the database within auth.unknown_key_lookups_per_s for the whole server.
    /// `client` (the peer's address) is unused, kept for callers.
    boost::asio::awaitable<std::optional<principal>> authenticate(std::string_view authorization, std::string client);
    /// The same, as a plain call.
    std::optional<principal> check(std::string_view authorization) const;

    /// Reads the whole table from the database (start-up, and after changes). Throws store::error.
    boost::asio::awaitable<void> load();
    /// A change heard from the database (sql/0016_cluster.sql): "key-revoked:NAME" (refused at
    /// once), "key-changed:NAME", "key-added:HASH", "keys" or "reconnected". Call refresh() next.
    void changed(std::string_view what);
    /// Reloads the table if a change was heard since the last load; calls that overlap a running
    /// reload make it run once more instead. Never throws (a failure is logged, the table kept).
    boost::asio::awaitable<void> refresh();

    /// Trusts `key` as `who`, as if loaded. For harnesses that run the dispatcher without a
    /// database (fuzz/).
    void remember_verified(std::string_view key, principal who);

    struct created {
        principal who;
        std::string key;  ///< shown once; only its hash is kept
    };
    /// A new key for `who` (name, role, scope, binding). Throws api_error(validation_failed) for
    /// a bad name or a binding on a key that is not a gateway's, api_error(conflict) if the name exists.
    boost::asio::awaitable<created> create(principal who);
    boost::asio::awaitable<std::vector<store::key_record>> list();
    /// False when no such key existed.
    boost::asio::awaitable<bool> revoke(std::string name);

    /// Start-up: makes sure an admin key exists. With `cfg.admin_key` set, a key named "admin"
    /// with that value is created or updated. Otherwise, if no admin key exists, one is
    /// generated and written to `cfg.admin_key_file` (mode 0600). Returns the key when it was
    /// generated now, else nullopt. Call load() after it.
    boost::asio::awaitable<std::optional<std::string>> bootstrap_admin();

    /// Keys held (for /metrics and tests).
    std::size_t size() const;

  private:
    void erase_name_locked(const std::string& name);
    std::optional<principal> check_locked(const std::string& hash) const;

    store::keys_repo& repo_;
    const config::auth_config& cfg_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, principal> keys_;  // key hash (hex) -> who
    /// Whether a change was heard that the table does not hold yet. Called with mutex_ held.
    bool behind_locked() const noexcept { return loaded_heard_ != heard_; }

    std::uint64_t changes_ = 0;       // bumped by every change made or heard: a load that spans one reads again
    std::uint64_t heard_ = 0;         // changes heard from the database (other instances' and our own)
    std::uint64_t loaded_heard_ = 0;  // heard_ when the table was last read whole
    bool reloading_ = false;
    util::token_bucket lookups_;  // auth.unknown_key_lookups_per_s, shared by every client
};

/// A valid key name: 1-64 of [A-Za-z0-9._-].
bool valid_key_name(std::string_view name) noexcept;

}  // namespace cityguard::auth
