#include "cityguard/store/keys_repo.hpp"

#include "pool.hpp"
#include "queries.hpp"

namespace cityguard::store {

net::awaitable<std::optional<key_record>> keys_repo::find_by_hash(std::string hash_hex) {
    auto awaited = co_await db_.get_impl().run([&](pqxx::connection& c) -> std::optional<key_record> {
        pqxx::read_transaction tx(c);
        auto r = tx.exec_prepared(queries::find_key_by_hash.name, hash_hex);
        if (r.empty()) return std::nullopt;
        return key_record{r[0][0].as<std::string>(), r[0][1].as<std::string>(), 0};
    });
    co_return awaited;
}

net::awaitable<bool> keys_repo::insert(std::string name, std::string role, std::string hash_hex) {
    auto awaited = co_await db_.get_impl().run([&](pqxx::connection& c) {
        pqxx::work tx(c);
        auto r = tx.exec_prepared(queries::insert_key.name, name, role, hash_hex);
        tx.commit();
        return !r.empty();
    });
    co_return awaited;
}

net::awaitable<void> keys_repo::upsert(std::string name, std::string role, std::string hash_hex) {
    co_await db_.get_impl().run([&](pqxx::connection& c) {
        pqxx::work tx(c);
        tx.exec_prepared(queries::upsert_key.name, name, role, hash_hex);
        tx.commit();
    });
}

net::awaitable<std::vector<key_record>> keys_repo::list() {
    auto awaited = co_await db_.get_impl().run([](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        std::vector<key_record> out;
        for (const auto& row : tx.exec_prepared(queries::list_keys.name))
            out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<util::micros>()});
        return out;
    });
    co_return awaited;
}

net::awaitable<bool> keys_repo::remove(std::string name) {
    auto awaited = co_await db_.get_impl().run([&](pqxx::connection& c) {
        pqxx::work tx(c);
        auto r = tx.exec_prepared(queries::delete_key.name, name);
        tx.commit();
        return !r.empty();
    });
    co_return awaited;
}

net::awaitable<long> keys_repo::count_admins() {
    auto awaited = co_await db_.get_impl().run([](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        return tx.exec_prepared1(queries::count_admin_keys.name)[0].as<long>();
    });
    co_return awaited;
}

}  // namespace cityguard::store
