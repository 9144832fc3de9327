#include "cityguard/store/keys_repo.hpp"

#include "pool.hpp"
#include "queries/keys.hpp"

namespace cityguard::store {

// Plain functions returning the pool's awaitable: everything the work needs is captured by value.

net::awaitable<std::vector<std::pair<std::string, key_record>>> keys_repo::table() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::key_table.name, [](const pqxx::row& r) {
            return std::pair{
                r[0].as<std::string>(),
                key_record{
                    r[1].as<std::string>(), r[2].as<std::string>(), 0, r[3].as<std::string>(), r[4].as<std::string>()}};
        });
    });
}

net::awaitable<std::optional<key_record>> keys_repo::find(std::string hash_hex) {
    return read(db_, [hash_hex = std::move(hash_hex)](pqxx::read_transaction& tx) {
        return map_first(
            tx,
            queries::find_key.name,
            [](const pqxx::row& r) {
                return key_record{
                    r[0].as<std::string>(), r[1].as<std::string>(), 0, r[2].as<std::string>(), r[3].as<std::string>()};
            },
            hash_hex
        );
    });
}

// Only the hash is stored: a copy of the database gives nobody a usable key.
net::awaitable<bool> keys_repo::insert(key_record k, std::string hash_hex) {
    return write(db_, [k = std::move(k), hash_hex = std::move(hash_hex)](pqxx::work& tx) {
        return !tx.exec_prepared(queries::insert_key.name, k.name, k.role, hash_hex, k.scope, k.binding).empty();
    });
}

net::awaitable<void> keys_repo::upsert(std::string name, std::string role, std::string hash_hex) {
    return write(db_, [name = std::move(name), role = std::move(role), hash_hex = std::move(hash_hex)](pqxx::work& tx) {
        tx.exec_prepared(queries::upsert_key.name, name, role, hash_hex);
    });
}

net::awaitable<std::vector<key_record>> keys_repo::list() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::list_keys.name, [](const pqxx::row& r) {
            return key_record{
                r[0].as<std::string>(),
                r[1].as<std::string>(),
                r[2].as<util::micros>(),
                r[3].as<std::string>(),
                r[4].as<std::string>()};
        });
    });
}

net::awaitable<bool> keys_repo::remove(std::string name) {
    return write(db_, [name = std::move(name)](pqxx::work& tx) {
        return !tx.exec_prepared(queries::delete_key.name, name).empty();
    });
}

// The last admin key may not be revoked: a city must never lock itself out of its own server.
net::awaitable<long> keys_repo::count_admins() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return tx.exec_prepared1(queries::count_admin_keys.name)[0].as<long>();
    });
}

}  // namespace cityguard::store
