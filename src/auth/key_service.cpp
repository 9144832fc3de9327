#include "cityguard/auth/key_service.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "cityguard/util/crypto.hpp"
#include "cityguard/util/error.hpp"

namespace cityguard::auth {

namespace net = boost::asio;

namespace {

// A stored key's principal; a row whose scope or binding cannot be read (edited by hand) is
// skipped with a warning rather than trusted with the whole city.
std::optional<principal> principal_of(const store::key_record& k) {
    const auto r = parse_role(k.role);
    if (!r) return std::nullopt;
    try {
        principal p{k.name, *r, parse_scope(nlohmann::json::parse(k.scope)), 0, {}, {}};
        p.binding = parse_binding(nlohmann::json::parse(k.binding));
        return p;
    } catch (const std::exception& e) {
        spdlog::warn("api key '{}' not loaded: its scope or binding cannot be read ({})", k.name, e.what());
        return std::nullopt;
    }
}

}  // namespace

bool valid_key_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
    return true;
}

key_service::key_service(store::keys_repo& repo, const config::auth_config& cfg)
    : repo_(repo),
      cfg_(cfg),
      lookups_(cfg.unknown_key_lookups_per_s, cfg.unknown_key_lookups_per_s, std::chrono::steady_clock::now()) {}

namespace {

// The key of "Bearer <key>" (spaces around it dropped), or nullopt.
std::optional<std::string_view> bearer_key(std::string_view authorization) {
    constexpr std::string_view scheme = "Bearer ";
    if (!authorization.starts_with(scheme)) return std::nullopt;
    std::string_view key = authorization.substr(scheme.size());
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (key.empty() || key.size() > 512) return std::nullopt;
    return key;
}

}  // namespace

std::optional<principal> key_service::check(std::string_view authorization) const {
    const auto key = bearer_key(authorization);
    if (!key) return std::nullopt;
    const std::string hash = util::to_hex(util::sha256(*key));
    std::lock_guard lock(mutex_);
    return check_locked(hash);
}

std::optional<principal> key_service::check_locked(const std::string& hash) const {
    auto it = keys_.find(hash);
    if (it == keys_.end()) return std::nullopt;
    return it->second;
}

net::awaitable<std::optional<principal>> key_service::authenticate(std::string_view authorization, std::string) {
    if (auto who = check(authorization)) co_return who;
    // The commit's notification reaches every instance before the client that made the key
    // can use it elsewhere: wait for the reload it started rather than refuse a key just made.
    const auto behind = [this] {
        std::lock_guard lock(mutex_);
        return behind_locked();
    };
    if (behind()) {
        net::steady_timer pause(co_await net::this_coro::executor);
        for (int i = 0; i < 100 && behind(); ++i) {
            pause.expires_after(std::chrono::milliseconds(5));
            co_await pause.async_wait(net::use_awaitable);
        }
        if (auto who = check(authorization)) co_return who;
    }
    // The notification travels on another connection than the reply that handed out the key,
    // and may come second: ask the database, within a budget a flood of made-up keys cannot pass.
    const auto key = bearer_key(authorization);
    if (!key || key->size() != 46 || !key->starts_with("cg_")) co_return std::nullopt;
    {
        std::lock_guard lock(mutex_);
        if (!lookups_.try_take(std::chrono::steady_clock::now())) co_return std::nullopt;
    }
    const std::string hash = util::to_hex(util::sha256(*key));
    std::uint64_t seen = 0;
    {
        std::lock_guard lock(mutex_);
        seen = changes_;
    }
    const auto row = co_await repo_.find(hash);
    if (!row) co_return std::nullopt;
    auto who = principal_of(*row);
    if (!who) co_return std::nullopt;
    std::lock_guard lock(mutex_);
    if (changes_ != seen) co_return check_locked(hash);  // revoked meanwhile? the table knows now
    keys_[hash] = *who;
    co_return who;
}

net::awaitable<void> key_service::load() {
    for (;;) {
        std::uint64_t seen = 0, heard = 0;
        {
            std::lock_guard lock(mutex_);
            seen = changes_;
            heard = heard_;
        }
        const auto rows = co_await repo_.table();
        std::unordered_map<std::string, principal> next;
        for (const auto& [hash, k] : rows)
            if (auto who = principal_of(k)) next.emplace(hash, std::move(*who));
        std::lock_guard lock(mutex_);
        if (changes_ != seen) continue;  // a change made or heard meanwhile may be missing: read again
        keys_ = std::move(next);
        loaded_heard_ = heard;
        co_return;
    }
}

void key_service::changed(std::string_view what) {
    std::lock_guard lock(mutex_);
    ++changes_;
    ++heard_;
    // A revocation is refused at once, before the reload: a revoked key must not work a moment longer.
    if (what.starts_with("key-revoked:")) erase_name_locked(std::string(what.substr(12)));
}

net::awaitable<void> key_service::refresh() {
    {
        std::lock_guard lock(mutex_);
        // A running load reads again when a change came while it read (see load()).
        if (reloading_ || !behind_locked()) co_return;
        reloading_ = true;
    }
    try {
        co_await load();
    } catch (const std::exception& e) {
        spdlog::warn("api keys not reloaded after a change (the held ones stay): {}", e.what());
    }
    std::lock_guard lock(mutex_);
    reloading_ = false;
}

void key_service::erase_name_locked(const std::string& name) {
    std::erase_if(keys_, [&name](const auto& entry) { return entry.second.name == name; });
}

void key_service::remember_verified(std::string_view key, principal who) {
    std::lock_guard lock(mutex_);
    keys_[util::to_hex(util::sha256(key))] = std::move(who);
}

std::size_t key_service::size() const {
    std::lock_guard lock(mutex_);
    return keys_.size();
}

net::awaitable<key_service::created> key_service::create(principal who) {
    if (!valid_key_name(who.name))
        throw api_error(errc::validation_failed, "key name must be 1-64 characters of A-Z a-z 0-9 . _ -");
    if (!who.binding.any() && who.role != role::gateway)
        throw api_error(errc::validation_failed, "only a gateway key may be bound to sites or sensors");
    std::string key = util::generate_api_key();
    const std::string hash = util::to_hex(util::sha256(key));
    store::key_record row{
        who.name, std::string(to_string(who.role)), 0, to_json(who.scope).dump(), to_json(who.binding).dump()};
    if (!co_await repo_.insert(std::move(row), hash))
        throw api_error(errc::conflict, "a key named '" + who.name + "' exists already");
    {
        std::lock_guard lock(mutex_);
        ++changes_;
        keys_[hash] = who;
    }
    spdlog::info("api key '{}' created with role {}", who.name, to_string(who.role));
    co_return created{std::move(who), std::move(key)};
}

net::awaitable<std::vector<store::key_record>> key_service::list() {
    auto awaited = co_await repo_.list();
    co_return awaited;
}

net::awaitable<bool> key_service::revoke(std::string name) {
    const bool removed = co_await repo_.remove(name);
    if (removed) {
        {
            std::lock_guard lock(mutex_);
            ++changes_;
            erase_name_locked(name);
        }
        spdlog::info("api key '{}' revoked", name);
    }
    co_return removed;
}

net::awaitable<std::optional<std::string>> key_service::bootstrap_admin() {
    if (cfg_.admin_key) {
        co_await repo_.upsert("admin", "admin", util::to_hex(util::sha256(*cfg_.admin_key)));
        co_return std::nullopt;
    }
    if (co_await repo_.count_admins() > 0) co_return std::nullopt;

    namespace fs = std::filesystem;
    const fs::path path(cfg_.admin_key_file);
    {
        // A key file left from an earlier database (e.g. one that was recreated) stays valid.
        std::ifstream in(path);
        std::string existing;
        if (in >> existing && existing.size() >= 16) {
            co_await repo_.upsert("admin", "admin", util::to_hex(util::sha256(existing)));
            spdlog::info("admin key restored from {}", path.string());
            co_return std::nullopt;
        }
    }
    std::string key = util::generate_api_key();
    if (path.has_parent_path()) fs::create_directories(path.parent_path());
    {
        // Created with 0600 from the start so the key is never readable by others, not even briefly.
        const mode_t old = ::umask(077);
        std::ofstream out(path, std::ios::trunc);
        ::umask(old);
        out << key << '\n';
        if (!out) throw std::runtime_error("cannot write admin key file " + path.string());
    }
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    co_await repo_.upsert("admin", "admin", util::to_hex(util::sha256(key)));
    spdlog::warn("generated the first admin key; it is in {}", path.string());
    co_return key;
}

}  // namespace cityguard::auth
