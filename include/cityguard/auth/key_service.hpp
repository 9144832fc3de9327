#pragma once

#include <boost/asio/awaitable.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cityguard/config/config.hpp"
#include "cityguard/store/keys_repo.hpp"

namespace cityguard::auth {

/// What a key may do. Each key has exactly one role.
enum class role { gateway, operator_, admin, monitor };

std::string_view to_string(role r) noexcept;
std::optional<role> parse_role(std::string_view text) noexcept;

/// The caller behind a verified key.
struct principal {
    std::string name;
    auth::role role = auth::role::gateway;
};

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

    /// The principal for an "Authorization" header value ("Bearer <key>"), or nullopt. Never asks
    /// the database. A key not held while a heard change is being loaded (one made on another
    /// instance a moment ago) waits for that load, at most half a second, and is checked again.
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
        std::string name;
        auth::role role = auth::role::gateway;
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
    /// generated now, else nullopt. Call load() after it.
    boost::asio::awaitable<std::optional<std::string>> bootstrap_admin();

    /// Keys held (for /metrics and tests).
    std::size_t size() const;

  private:
    void erase_name_locked(const std::string& name);

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
};

/// A valid key name: 1-64 of [A-Za-z0-9._-].
bool valid_key_name(std::string_view name) noexcept;

}  // namespace cityguard::auth
