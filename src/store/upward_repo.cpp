#include "cityguard/store/upward_repo.hpp"

#include "pool.hpp"
#include "queries/upward.hpp"

namespace cityguard::store {

namespace net = boost::asio;

net::awaitable<upward_repo::position> upward_repo::load() {
    return read(db_, [](pqxx::read_transaction& tx) {
        const auto r = tx.exec_prepared1(queries::upward_position.name);
        return position{r[0].as<std::int64_t>(), r[1].as<std::int64_t>()};
    });
}

net::awaitable<void> upward_repo::advance(std::int64_t seq, std::int64_t sent) {
    return write(db_, [seq, sent](pqxx::work& tx) { tx.exec_prepared(queries::upward_advance.name, seq, sent); });
}

net::awaitable<upward_repo::backlog> upward_repo::waiting() {
    return read(db_, [](pqxx::read_transaction& tx) {
        const auto r = tx.exec_prepared1(queries::upward_backlog.name);
        backlog b;
        b.events = r[0].as<std::int64_t>();
        if (!r[1].is_null()) b.oldest_at = r[1].as<util::micros>();
        return b;
    });
}

}  // namespace cityguard::store
