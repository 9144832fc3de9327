#include "cityguard/store/alarms_repo.hpp"

#include "alarm_rows.hpp"
#include "pool.hpp"
#include "queries/alarms.hpp"
#include "scope.hpp"

namespace cityguard::store {

// One row more than asked for: its presence tells the service there is a next page, without a
// count(*) over every matching alarm.
net::awaitable<std::vector<alarm_model::alarm>> alarms_repo::list(alarm_filter f) {
    return read(db_, [f = std::move(f)](pqxx::read_transaction& tx) {
        std::vector<std::string> statuses;
        bool active = false;
        for (const auto& s : f.statuses) {
            if (s == "active")
                active = true;
            else
                statuses.push_back(s);
        }
        std::vector<std::string> levels;
        for (int l : f.levels) levels.push_back(std::to_string(l));
        std::vector<alarm_model::alarm> out;
        const auto before = f.before_id ? std::optional<std::string>(std::to_string(*f.before_id)) : std::nullopt;
        // Not prepared (see queries::list_alarms_sql), so not map_rows().
        for (const auto& row : tx.exec_params(
                 queries::list_alarms_sql,
                 nullable(array_or_null(statuses)),
                 active ? "true" : nullptr,
                 nullable(array_or_null(levels)),
                 nullable(array_or_null(f.domains)),
                 nullable(array_or_null(f.sites)),
                 nullable(array_or_null(f.sensors)),
                 nullable(array_or_null(f.rules)),
                 nullable(pg_opt_time(f.from)),
                 nullable(pg_opt_time(f.to)),
                 nullable(before),
                 static_cast<long long>(f.limit + 1),
                 nullable(array_or_null(f.categories)),
                 f.inhibited ? (*f.inhibited ? "true" : "false") : nullptr,
                 nullable(array_or_null(f.scope.districts)),
                 nullable(array_or_null(f.scope.domains)),
                 nullable(array_or_null(f.scope.units))
             ))
            out.push_back(alarm_from(row));
        return out;
    });
}

net::awaitable<std::optional<alarm_model::alarm>> alarms_repo::get(std::int64_t id) {
    return read(db_, [id](pqxx::read_transaction& tx) {
        return map_first(tx, queries::get_alarm.name, alarm_from, id);
    });
}

net::awaitable<std::vector<alarm_model::event>> alarms_repo::events_of(std::int64_t id) {
    return read(db_, [id](pqxx::read_transaction& tx) {
        return map_rows(
            tx, queries::events_of_alarm.name, [](const pqxx::row& r) { return event_from(r, 0); }, id
        );
    });
}

net::awaitable<overview_record> alarms_repo::overview(place_filter scope) {
    return read(db_, [scope = std::move(scope)](pqxx::read_transaction& tx) {
        overview_record o;
        const auto districts = array_or_null(scope.districts), domains = array_or_null(scope.domains),
                   units = array_or_null(scope.units);
        auto counts = [&](const char* name) {
            nlohmann::json j = nlohmann::json::object();
            for (const auto& r : tx.exec_prepared(name, nullable(districts), nullable(domains), nullable(units)))
                j[r[0].as<std::string>()] = r[1].as<std::int64_t>();
            return j;
        };
        o.sites_by_domain = counts(queries::count_by_domain.name);
        o.sensors_by_domain = counts(queries::count_sensors_by_domain.name);
        o.active_by_level = counts(queries::active_by_level.name);
        o.active_by_domain = counts(queries::active_by_domain.name);
        const auto devices =
            tx.exec_prepared1(queries::sensors_offline.name, nullable(districts), nullable(domains), nullable(units));
        o.sensors_offline = devices[0].as<std::int64_t>();
        o.sensors_in_fault = devices[1].as<std::int64_t>();
        o.oldest_unacknowledged_red = map_first(
            tx,
            queries::oldest_unacknowledged_red.name,
            alarm_from,
            nullable(districts),
            nullable(domains),
            nullable(units)
        );
        return o;
    });
}

net::awaitable<std::vector<alarms_repo::open_count>> alarms_repo::open_counts() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::open_alarm_counts.name, [](const pqxx::row& r) {
            return open_count{
                r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::int64_t>()};
        });
    });
}

// What the engine and the escalation restore from: every alarm a rule or a person may still change.
net::awaitable<std::vector<alarm_model::alarm>> alarms_repo::not_closed() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::not_closed_alarms.name, alarm_from);
    });
}

// Rule windows (time above a threshold, a rate's samples) survive a restart through these rows.
net::awaitable<std::vector<alarm_model::changes::state_write>> alarms_repo::rule_states() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::all_rule_states.name, [](const pqxx::row& r) {
            return alarm_model::changes::state_write{
                r[0].as<std::string>(), r[1].as<std::string>(), nlohmann::json::parse(r[2].as<std::string>())};
        });
    });
}

net::awaitable<std::vector<std::tuple<std::string, util::micros, double>>> alarms_repo::latest_readings() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::latest_readings.name, [](const pqxx::row& r) {
            return std::tuple<std::string, util::micros, double>{
                r[0].as<std::string>(), r[1].as<util::micros>(), r[2].as<double>()};
        });
    });
}

// Keyset paging in reading order (ts, then sensor): a replay over months of readings holds one
// page in memory at a time, and each page starts where the last ended without an OFFSET.
net::awaitable<std::vector<rules::reading>> alarms_repo::readings_page(
    const std::string& keys, util::micros after_ts, std::int32_t after_key, util::micros to, std::size_t limit
) {
    return read(db_, [keys, after_ts, after_key, to, limit](pqxx::read_transaction& tx) {
        return map_rows(
            tx, queries::readings_page.name, reading_from, keys, after_ts, after_key, to, static_cast<long long>(limit)
        );
    });
}

std::string alarms_repo::key_array(const std::vector<std::int32_t>& keys) { return pg_int_array(keys); }

net::awaitable<std::vector<std::tuple<std::int32_t, util::micros, double>>> alarms_repo::recent_readings(
    std::vector<history_request> wanted
) {
    auto keys = pg_int_array(wanted, &history_request::sensor_key);
    auto froms = pg_int_array(wanted, &history_request::from);
    auto steps = pg_int_array(wanted, [](const history_request& h) { return std::max<util::micros>(h.step, 1); });
    return read(
        db_,
        [keys = std::move(keys), froms = std::move(froms), steps = std::move(steps)](pqxx::read_transaction& tx) {
            return map_rows(
                tx,
                queries::recent_readings.name,
                [](const pqxx::row& r) {
                    return std::tuple<std::int32_t, util::micros, double>{
                        r[0].as<std::int32_t>(), r[1].as<util::micros>(), r[2].as<double>()};
                },
                keys,
                froms,
                steps
            );
        }
    );
}

}  // namespace cityguard::store
