#include "cityguard/store/readings_repo.hpp"

#include "pool.hpp"
#include "queries/readings.hpp"

namespace cityguard::store {

// The index is (sensor_key, ts) in every daily partition: a sensor's range is an index scan of
// the days it spans, whatever else is stored.
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

// One statement for every followed sensor (unnest): a follower relaying 500 sensors asks once per
// poll, not 500 times.
net::awaitable<std::vector<rules::reading>> readings_repo::newer_than(
    std::vector<std::pair<std::int32_t, util::micros>> after, std::size_t per_sensor
) {
    auto keys = pg_int_array(after, &std::pair<std::int32_t, util::micros>::first);
    auto times = pg_int_array(after, &std::pair<std::int32_t, util::micros>::second);
    return read(db_, [keys = std::move(keys), times = std::move(times), per_sensor](pqxx::read_transaction& tx) {
        return map_rows(
            tx, queries::readings_newer_than.name, reading_from, keys, times, static_cast<long long>(per_sensor)
        );
    });
}

net::awaitable<std::vector<std::pair<std::int32_t, util::micros>>> readings_repo::newest_of(
    std::vector<std::int32_t> keys
) {
    return read(db_, [list = pg_int_array(keys)](pqxx::read_transaction& tx) {
        return map_rows(
            tx,
            queries::newest_readings_of.name,
            [](const pqxx::row& row) {
                return std::pair{row[0].as<std::int32_t>(), row[1].as<util::micros>()};
            },
            list
        );
    });
}

// A year-long chart must not scan a year of raw readings: whole days already rolled up are read
// from the minute or hour rollup, the rest from raw readings, in one statement.
net::awaitable<readings_repo::bucketed> readings_repo::buckets(
    std::int32_t sensor_key, util::micros from, util::micros to, std::int64_t bucket_s
) {
    return read(db_, [=](pqxx::read_transaction& tx) {
        const auto row_of = [](const pqxx::row& row) {
            return bucket_row{
                row[0].as<util::micros>(),
                row[1].as<double>(),
                row[2].as<double>(),
                row[3].as<double>(),
                row[4].as<std::int64_t>()};
        };
        bucketed out;
        // A rollup can answer only buckets made of its whole units.
        const char* statement = bucket_s % 3600 == 0 ? queries::readings_buckets_1h.name
                                : bucket_s % 60 == 0 ? queries::readings_buckets_1m.name
                                                     : nullptr;
        if (!statement) {
            out.raw_from = from;
            out.rows = map_rows(
                tx,
                queries::readings_buckets.name,
                row_of,
                sensor_key,
                pg_time(from),
                pg_time(to),
                static_cast<long long>(bucket_s)
            );
            return out;
        }
        out.raw_from =
            std::max(from, tx.exec_prepared1(queries::raw_from.name, pg_time(from), pg_time(to))[0].as<util::micros>());
        if (out.raw_from > from) out.rollup = bucket_s % 3600 == 0 ? "1h" : "1m";
        out.rows = map_rows(
            tx,
            statement,
            row_of,
            sensor_key,
            pg_time(from),
            pg_time(to),
            static_cast<long long>(bucket_s),
            pg_time(out.raw_from)
        );
        return out;
    });
}

net::awaitable<std::vector<std::int64_t>> readings_repo::days_to_roll(std::int64_t before_day) {
    return read(db_, [before_day](pqxx::read_transaction& tx) {
        return map_rows(
            tx,
            queries::days_to_roll.name,
            [](const pqxx::row& row) { return util::parse_date(row[0].as<std::string>()).value_or(0); },
            pg_day(before_day)
        );
    });
}

// Idempotent per day: a day rolled again (a late reading arrived) replaces its rollup rows.
net::awaitable<std::int64_t> readings_repo::roll_up_day(std::int64_t day) {
    return pool_of(db_).run([day](pqxx::connection& c) {
        {
            // Short and first: a late reading committed after this puts the day back in the list.
            pqxx::work forget(c);
            forget.exec_prepared(queries::forget_late_day.name, pg_day(day));
            forget.commit();
        }
        pqxx::work tx(c);
        tx.exec("SET LOCAL statement_timeout = 0");  // a city's day of readings takes minutes
        const auto n = tx.exec_prepared1(queries::roll_up_day.name, pg_day(day))[0].as<std::int64_t>();
        tx.commit();
        return n;
    });
}

// Partitions are detached and dropped, never DELETEd from: no bloat, no vacuum, and a raw day goes
// only once its rollup exists and no late reading is waiting to be rolled.
net::awaitable<std::vector<std::string>> readings_repo::drop_expired(
    std::optional<std::int64_t> raw_before_day,
    std::optional<std::int64_t> minutes_before_day,
    std::optional<std::int64_t> hours_before_day
) {
    return pool_of(db_).run([=](pqxx::connection& c) {
        std::vector<std::pair<std::string, std::pair<std::string, bool>>> doomed;  // parent, (partition, pending)
        {
            pqxx::read_transaction tx(c);
            const auto collect = [&](const std::string& parent, const pqxx::result& rows) {
                for (const auto& r : rows) doomed.push_back({parent, {r[0].as<std::string>(), r[1].as<bool>()}});
            };
            if (raw_before_day)
                collect("readings", tx.exec_prepared(queries::raw_partitions_to_drop.name, pg_day(*raw_before_day)));
            if (minutes_before_day)
                collect(
                    "readings_1m",
                    tx.exec_prepared(
                        queries::rollup_partitions_to_drop.name, "readings_1m", pg_day(*minutes_before_day)
                    )
                );
            if (hours_before_day)
                collect(
                    "readings_1h",
                    tx.exec_prepared(queries::rollup_partitions_to_drop.name, "readings_1h", pg_day(*hours_before_day))
                );
        }
        std::vector<std::string> dropped;
        if (raw_before_day) {
            // Evidence goes with the raw readings of its days.
            pqxx::work tx(c);
            tx.exec_prepared(queries::drop_evidence_before.name, *raw_before_day * 86'400LL * 1'000'000LL);
            tx.commit();
        }
        if (doomed.empty()) return dropped;
        // CONCURRENTLY: ingest and queries on the other partitions go on meanwhile; it runs
        // outside a transaction block, and waits for older transactions, so without a timeout.
        // A detach that was interrupted is finished instead.
        pqxx::nontransaction tx(c);
        const auto timeout = tx.exec1("SHOW statement_timeout")[0].as<std::string>();
        tx.exec("SET statement_timeout = 0");
        try {
            for (const auto& [parent, part] : doomed) {
                const auto name = tx.quote_name(part.first);
                tx.exec(
                    "ALTER TABLE " + parent + " DETACH PARTITION " + name +
                    (part.second ? " FINALIZE" : " CONCURRENTLY")
                );
                tx.exec("DROP TABLE " + name);
                dropped.push_back(part.first);
            }
        } catch (...) {
            if (c.is_open()) tx.exec("SET statement_timeout = " + tx.quote(timeout));
            throw;
        }
        tx.exec("SET statement_timeout = " + tx.quote(timeout));
        return dropped;
    });
}

net::awaitable<readings_repo::storage_overview> readings_repo::overview() {
    return read(db_, [](pqxx::read_transaction& tx) {
        storage_overview o;
        o.tables = map_rows(tx, queries::storage_tables.name, [](const pqxx::row& r) {
            return storage_table{
                r[0].as<std::string>(),
                r[1].as<std::int64_t>(),
                r[2].as<std::int64_t>(),
                r[3].is_null() ? "" : r[3].as<std::string>(),
                r[4].is_null() ? "" : r[4].as<std::string>()};
        });
        const auto rolled = tx.exec_prepared1(queries::storage_rolled.name);
        o.rolled_days = rolled[0].as<std::int64_t>();
        o.first_rolled = rolled[1].is_null() ? "" : rolled[1].as<std::string>();
        o.last_rolled = rolled[2].is_null() ? "" : rolled[2].as<std::string>();
        o.rolled_readings = rolled[3].as<std::int64_t>();
        o.late_days = rolled[4].as<std::int64_t>();
        return o;
    });
}

// Hourly from the retention schedule: partitions exist days ahead, so midnight needs no DDL.
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
