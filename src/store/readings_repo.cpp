#include "cityguard/store/readings_repo.hpp"

#include "pool.hpp"
#include "queries.hpp"

namespace cityguard::store {
net::awaitable<std::vector<rules::reading>> readings_repo::range(
    std::int32_t sensor_key, util::micros from, util::micros to, std::size_t limit
) {
    auto awaited = co_await db_.get_impl().run([=](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        std::vector<rules::reading> out;
        const auto r = tx.exec_prepared(
            queries::readings_range.name, sensor_key, pg_time(from), pg_time(to), static_cast<long long>(limit)
        );
        out.reserve(r.size());
        for (const auto& row : r) out.push_back({sensor_key, row[0].as<util::micros>(), row[1].as<double>()});
        return out;
    });
    co_return awaited;
}

net::awaitable<std::vector<bucket_row>> readings_repo::buckets(
    std::int32_t sensor_key, util::micros from, util::micros to, std::int64_t bucket_s
) {
    auto awaited = co_await db_.get_impl().run([=](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        std::vector<bucket_row> out;
        const auto r = tx.exec_prepared(
            queries::readings_buckets.name, sensor_key, pg_time(from), pg_time(to), static_cast<long long>(bucket_s)
        );
        out.reserve(r.size());
        for (const auto& row : r)
            out.push_back(
                {row[0].as<util::micros>(),
                 row[1].as<double>(),
                 row[2].as<double>(),
                 row[3].as<double>(),
                 row[4].as<std::int64_t>()}
            );
        return out;
    });
    co_return awaited;
}

net::awaitable<int> readings_repo::ensure_partitions(int days_ahead) {
    auto awaited = co_await db_.get_impl().run([days_ahead](pqxx::connection& c) {
        const std::int64_t today = util::day_number(util::now_micros());
        pqxx::work tx(c);
        const int created = tx.exec_prepared1(
                                  queries::ensure_partitions.name,
                                  pg_time((today - 1) * 86'400'000'000LL),
                                  pg_time((today + days_ahead) * 86'400'000'000LL)
        )[0]
                                .as<int>();
        tx.commit();
        return created;
    });
    co_return awaited;
}

}  // namespace cityguard::store
