#include "cityguard/auth/key_service.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "cityguard/util/crypto.hpp"
#include "cityguard/util/error.hpp"

namespace cityguard::auth {

namespace net = boost::asio;

std::string_view to_string(role r) noexcept {
    switch (r) {
        case role::gateway:
            return "gateway";
        case role::operator_:
            return "operator";
        case role::admin:
            return "admin";
        case role::monitor:
            return "monitor";
    }
    return "gateway";
}

std::optional<role> parse_role(std::string_view text) noexcept {
    if (text == "gateway") return role::gateway;
    if (text == "operator") return role::operator_;
    if (text == "admin") return role::admin;
    if (text == "monitor") return role::monitor;
    return std::nullopt;
}

bool valid_key_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
    return true;
}

namespace {
constexpr std::size_t kMaxTrackedClients = 100'000;
}

key_service::key_service(store::keys_repo& repo, const config::auth_config& cfg)
    : repo_(repo),
      cfg_(cfg),
      lookups_per_client_(cfg.max_lookups_per_client_per_s, cfg.max_lookups_per_client_per_s, kMaxTrackedClients) {}

void key_service::admit_unknown_lookup(const std::string& client) {
    if (!lookups_per_client_.try_take(client, std::chrono::steady_clock::now()))
        throw api_error(
            errc::too_many_requests,
            "too many unknown keys from this address (auth.max_lookups_per_client_per_s); retry later"
        );
    if (unknown_lookups_in_flight_ >= cfg_.max_concurrent_lookups)
        throw api_error(errc::overloaded, "too many key look-ups in flight (auth.max_concurrent_lookups); retry later");
    ++unknown_lookups_in_flight_;
}

void key_service::remember_unknown(const std::string& hash, std::chrono::steady_clock::time_point now) {
    if (cfg_.negative_cache_ttl_s <= 0 || cfg_.negative_cache_size == 0) return;
    auto [it, inserted] = unknown_.try_emplace(hash);
    it->second = now + std::chrono::seconds(cfg_.negative_cache_ttl_s);
    if (!inserted) return;
    unknown_order_.push_back(hash);
    while (unknown_order_.size() > cfg_.negative_cache_size) {
        unknown_.erase(unknown_order_.front());
        unknown_order_.pop_front();
    }
}

net::awaitable<std::optional<principal>> key_service::authenticate(std::string_view authorization, std::string client) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size() || authorization.substr(0, scheme.size()) != scheme)
        co_return std::nullopt;
    std::string_view key = authorization.substr(scheme.size());
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (key.empty() || key.size() > 512) co_return std::nullopt;

    std::string hash = util::to_hex(util::sha256(key));
    bool counted = false;  // holds one of auth.max_concurrent_lookups
    std::uint64_t revocations_seen = 0;
    {
        std::lock_guard lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        const auto known = cache_.find(hash);
        if (known != cache_.end() && known->second.expires > now) co_return known->second.who;
        if (known == cache_.end()) {
            if (auto it = unknown_.find(hash); it != unknown_.end()) {
                if (it->second > now) co_return std::nullopt;
                unknown_.erase(it);
            }
            admit_unknown_lookup(client);
            counted = true;
        }
        revocations_seen = revocations_;
    }
    struct release_slot {
        key_service& self;
        bool& counted;
        ~release_slot() {
            if (!counted) return;
            std::lock_guard lock(self.mutex_);
            --self.unknown_lookups_in_flight_;
        }
    } slot{*this, counted};

    // A revoke() that ran while we asked may have deleted the key after our read: ask again.
    for (;;) {
        auto found = co_await repo_.find_by_hash(hash);
        std::lock_guard lock(mutex_);
        if (revocations_ != revocations_seen) {
            revocations_seen = revocations_;
            continue;
        }
        const auto now = std::chrono::steady_clock::now();
        std::optional<role> r;
        if (found) r = parse_role(found->role);
        if (!r) {
            cache_.erase(hash);
            remember_unknown(hash, now);
            co_return std::nullopt;
        }
        principal who{found->name, *r};
        trust_locked(hash, who);
        co_return who;
    }
}

void key_service::trust_locked(const std::string& hash, principal who) {
    // Kept even with a TTL of 0 (expired at once): the entry marks the key as one seen valid.
    cache_[hash] = {std::move(who), std::chrono::steady_clock::now() + std::chrono::seconds(cfg_.cache_ttl_s)};
}

void key_service::remember_verified(std::string_view key, principal who) {
    std::lock_guard lock(mutex_);
    trust_locked(util::to_hex(util::sha256(key)), std::move(who));
}

net::awaitable<key_service::created> key_service::create(std::string name, role r) {
    if (!valid_key_name(name))
        throw api_error(errc::validation_failed, "key name must be 1-64 characters of A-Z a-z 0-9 . _ -");
    std::string key = util::generate_api_key();
    const std::string hash = util::to_hex(util::sha256(key));
    if (!co_await repo_.insert(name, std::string(to_string(r)), hash))
        throw api_error(errc::conflict, "a key named '" + name + "' exists already");
    {
        // Known from birth: its first use needs no look-up and is outside the unknown-key limits.
        std::lock_guard lock(mutex_);
        trust_locked(hash, principal{name, r});
    }
    spdlog::info("api key '{}' created with role {}", name, to_string(r));
    co_return created{std::move(name), r, std::move(key)};
}

net::awaitable<std::vector<store::key_record>> key_service::list() {
    auto awaited = co_await repo_.list();
    co_return awaited;
}

void key_service::forget_name(const std::string& name, bool refuse) {
    std::lock_guard lock(mutex_);
    ++revocations_;
    const auto now = std::chrono::steady_clock::now();
    for (auto it = cache_.begin(); it != cache_.end();) {
        if (it->second.who.name == name) {
            // Remembered as unknown: refused at once, without the database or the look-up limits.
            if (refuse) remember_unknown(it->first, now);
            it = cache_.erase(it);
        } else {
            ++it;
        }
    }
}

void key_service::forget_revoked(const std::string& name) { forget_name(name, true); }

void key_service::forget_changed(const std::string& name) { forget_name(name, false); }

void key_service::forget_unknown(const std::string& hash_hex) {
    std::lock_guard lock(mutex_);
    ++revocations_;
    unknown_.erase(hash_hex);  // its entry in unknown_order_ goes when it comes round
}

void key_service::forget_all() {
    std::lock_guard lock(mutex_);
    ++revocations_;
    cache_.clear();
    unknown_.clear();
    unknown_order_.clear();
}

net::awaitable<bool> key_service::revoke(std::string name) {
    const bool removed = co_await repo_.remove(name);
    if (removed) {
        forget_name(name, true);
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
