#include "cityguard/store/readings_repo.hpp"

#include "pool.hpp"
#include "queries.hpp"

namespace cityguard::store {

net::awaitable<std::vector<rules::reading>> readings_repo::range(
    std::int32_t sensor_key, util::micros from, util::micros to, std::size_t limit
) {
    return read(db_, [=](pqxx::read_transaction& tx) {
        return map_rows(
            tx,
            queries::readings_range.name,
            [sensor_key](const pqxx::row& row) {
                return rules::reading{sensor_key, row[0].as<util::micros>(), row[1].as<double>()};
            },
            sensor_key,
            pg_time(from),
            pg_time(to),
            static_cast<long long>(limit)
        );
    });
}

net::awaitable<std::vector<bucket_row>> readings_repo::buckets(
    std::int32_t sensor_key, util::micros from, util::micros to, std::int64_t bucket_s
) {
    return read(db_, [=](pqxx::read_transaction& tx) {
        return map_rows(
            tx,
            queries::readings_buckets.name,
            [](const pqxx::row& row) {
                return bucket_row{
                    row[0].as<util::micros>(),
                    row[1].as<double>(),
                    row[2].as<double>(),
                    row[3].as<double>(),
                    row[4].as<std::int64_t>()};
            },
            sensor_key,
            pg_time(from),
            pg_time(to),
            static_cast<long long>(bucket_s)
        );
    });
}

net::awaitable<int> readings_repo::ensure_partitions(int days_ahead) {
    return write(db_, [days_ahead](pqxx::work& tx) {
        const std::int64_t today = util::day_number(util::now_micros());
        return tx
            .exec_prepared1(
                queries::ensure_partitions.name,
                pg_time((today - 1) * 86'400'000'000LL),
                pg_time((today + days_ahead) * 86'400'000'000LL)
            )[0]
            .as<int>();
    });
}

}  // namespace cityguard::store
