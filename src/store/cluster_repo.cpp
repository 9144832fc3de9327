#include "cityguard/store/cluster_repo.hpp"

#include "pool.hpp"
#include "queries/cluster.hpp"

namespace cityguard::store {

// Seen times are the database's clock: instances whose clocks disagree still agree on who is silent.
net::awaitable<void> cluster_repo::heartbeat(std::string id, std::string url, std::string version, int forget_s) {
    return write(
        db_,
        [id = std::move(id), url = std::move(url), version = std::move(version), forget_s](pqxx::work& tx) {
            tx.exec_prepared(queries::upsert_member.name, id, url, version);
            tx.exec_prepared(queries::prune_members.name, forget_s);
        }
    );
}

net::awaitable<void> cluster_repo::forget(std::string id) {
    return write(db_, [id = std::move(id)](pqxx::work& tx) { tx.exec_prepared(queries::forget_member.name, id); });
}

net::awaitable<std::vector<member_record>> cluster_repo::members() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::list_members.name, [](const pqxx::row& r) {
            member_record m;
            m.id = r[0].as<std::string>();
            m.url = r[1].as<std::string>();
            m.version = r[2].as<std::string>();
            m.started_at = r[3].as<util::micros>();
            m.seen_at = r[4].as<util::micros>();
            m.silent_ms = r[5].as<std::int64_t>();
            m.leading = r[6].as<bool>();
            m.leader_since = opt_field<util::micros>(r[7]);
            return m;
        });
    });
}

net::awaitable<std::optional<std::pair<std::string, std::string>>> cluster_repo::leader() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_first(tx, queries::leader_member.name, [](const pqxx::row& r) {
            return std::pair{r[0].as<std::string>(), r[1].as<std::string>()};
        });
    });
}

// A NOTIFY: every instance's event follower hears it when this commits (rule packs reloaded).
net::awaitable<void> cluster_repo::announce(std::string what) {
    return write(db_, [what = std::move(what)](pqxx::work& tx) {
        tx.exec_prepared(queries::announce_change.name, what);
    });
}

}  // namespace cityguard::store
