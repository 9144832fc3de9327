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
    }
    return "gateway";
}

std::optional<role> parse_role(std::string_view text) noexcept {
    if (text == "gateway") return role::gateway;
    if (text == "operator") return role::operator_;
    if (text == "admin") return role::admin;
    return std::nullopt;
}

bool valid_key_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
    return true;
}

key_service::key_service(store::keys_repo& repo, const config::auth_config& cfg) : repo_(repo), cfg_(cfg) {}

net::awaitable<std::optional<principal>> key_service::authenticate(std::string_view authorization) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size() || authorization.substr(0, scheme.size()) != scheme)
        co_return std::nullopt;
    std::string_view key = authorization.substr(scheme.size());
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (key.empty() || key.size() > 512) co_return std::nullopt;

    std::string hash = util::to_hex(util::sha256(key));
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        if (auto it = cache_.find(hash); it != cache_.end()) {
            if (it->second.expires > now) co_return it->second.who;
            cache_.erase(it);
        }
    }
    auto found = co_await repo_.find_by_hash(hash);
    if (!found) co_return std::nullopt;
    auto r = parse_role(found->role);
    if (!r) co_return std::nullopt;
    principal who{found->name, *r};
    if (cfg_.cache_ttl_s > 0) {
        std::lock_guard lock(mutex_);
        cache_[hash] = {who, now + std::chrono::seconds(cfg_.cache_ttl_s)};
    }
    co_return who;
}

net::awaitable<key_service::created> key_service::create(std::string name, role r) {
    if (!valid_key_name(name))
        throw api_error(errc::validation_failed, "key name must be 1-64 characters of A-Z a-z 0-9 . _ -");
    std::string key = util::generate_api_key();
    if (!co_await repo_.insert(name, std::string(to_string(r)), util::to_hex(util::sha256(key))))
        throw api_error(errc::conflict, "a key named '" + name + "' exists already");
    spdlog::info("api key '{}' created with role {}", name, to_string(r));
    co_return created{std::move(name), r, std::move(key)};
}

net::awaitable<std::vector<store::key_record>> key_service::list() {
    auto awaited = co_await repo_.list();
    co_return awaited;
}

net::awaitable<bool> key_service::revoke(std::string name) {
    const bool removed = co_await repo_.remove(name);
    if (removed) {
        std::lock_guard lock(mutex_);
        std::erase_if(cache_, [&](const auto& entry) { return entry.second.who.name == name; });
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
