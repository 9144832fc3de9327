#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/store/database.hpp"
#include "cityguard/store/records.hpp"

namespace cityguard::store {

/// API keys by name and key hash. Coroutines resume on the caller's executor; database work
/// runs on the pool. Throws store::error (unavailable, overloaded) when the database cannot serve.
class keys_repo {
  public:
    explicit keys_repo(database& db) : db_(db) {}

    /// Every key: (hash in hex, the key). Keys are few (hundreds); the server holds them all.
    boost::asio::awaitable<std::vector<std::pair<std::string, key_record>>> table();
    /// The key of that hash, or nullopt.
    boost::asio::awaitable<std::optional<key_record>> find(std::string hash_hex);
    /// False when a key of that name exists already (`k.created_at` is ignored).
    boost::asio::awaitable<bool> insert(key_record k, std::string hash_hex);
    /// Creates or replaces (role and hash) the key of that name.
    boost::asio::awaitable<void> upsert(std::string name, std::string role, std::string hash_hex);
    boost::asio::awaitable<std::vector<key_record>> list();
    /// False when there was no such key.
    boost::asio::awaitable<bool> remove(std::string name);
    /// City-scoped admin keys.
    boost::asio::awaitable<long> count_admins();

  private:
    database& db_;
};

}  // namespace cityguard::store
