#include "cityguard/store/stats_repo.hpp"

#include "pool.hpp"
#include "queries.hpp"

namespace cityguard::store {
namespace {

using queries::stats::group_expression;
using queries::stats::source;

/// Runs one statistics statement grouped by `by`, or by nothing (one total row) when the source
/// cannot be grouped so; true when it was grouped.
template <class Row, class Map>
bool grouped_rows(
    pqxx::read_transaction& tx,
    const stats_filter& f,
    source from,
    std::string (*statement)(const std::string&),
    Map map,
    std::vector<Row>& out
) {
    auto group = group_expression(f.group_by, from);
    const bool grouped = group.has_value();
    if (!group) group = group_expression("", from);
    for (const auto& row :
         tx.exec_params(statement(*group), f.from_day, f.to_day, nullable(f.domain), nullable(f.district)))
        out.push_back(map(row));
    return grouped;
}

std::int64_t count_at(const pqxx::row& row, pqxx::row::size_type i) {
    return row[i].is_null() ? 0 : row[i].as<std::int64_t>();
}

alarm_counts alarm_counts_from(const pqxx::row& row) {
    alarm_counts c;
    pqxx::row::size_type i = 0;
    c.group = row[i++].as<std::string>();
    c.raised = count_at(row, i++);
    for (auto& n : c.raised_by_level) n = count_at(row, i++);
    c.acknowledged = count_at(row, i++);
    for (auto& n : c.ack_seconds) n = count_at(row, i++);
    c.closed = count_at(row, i++);
    for (auto& n : c.close_seconds) n = count_at(row, i++);
    c.false_alarm = count_at(row, i++);
    c.device_fault = count_at(row, i++);
    c.disposed = count_at(row, i++);
    c.disposed_late = count_at(row, i++);
    return c;
}

group_value group_value_from(const pqxx::row& row) {
    return {row[0].as<std::string>(), row[1].is_null() ? 0.0 : row[1].as<double>()};
}

}  // namespace

bool stats_repo::known_grouping(std::string_view group_by) noexcept {
    for (std::string_view known : {"day", "week", "month", "district", "domain", "level", "site", "unit"})
        if (group_by == known) return true;
    return false;
}

net::awaitable<void> stats_repo::configure(const std::string& time_zone, int default_disposal_s) {
    return write(db_, [time_zone, default_disposal_s](pqxx::work& tx) {
        const auto before = tx.exec_prepared1(queries::stats_time_zone.name)[0].as<std::string>();
        tx.exec_prepared(queries::configure_stats.name, time_zone, default_disposal_s);
        // The day each alarm and reading counts on moves with the time zone.
        if (before != time_zone) tx.exec_prepared(queries::rebuild_stats.name);
    });
}

net::awaitable<std::string> stats_repo::today() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return tx.exec_prepared1(queries::stats_today.name)[0].as<std::string>();
    });
}

net::awaitable<stats_data> stats_repo::collect(const stats_filter& f) {
    return read(db_, [f](pqxx::read_transaction& tx) {
        stats_data d;
        d.time_zone = tx.exec_prepared1(queries::stats_time_zone.name)[0].as<std::string>();
        grouped_rows(tx, f, source::rollup, queries::stats::alarm_counts, alarm_counts_from, d.alarms);
        grouped_rows(tx, f, source::alarms, queries::stats::overdue_now, group_value_from, d.overdue_now);
        d.readings_grouped = grouped_rows(
            tx, f, source::readings, queries::stats::readings_received, group_value_from, d.readings_received
        );
        // Completeness compares received with expected: both by domain or district, else in total.
        stats_filter by_place = f;
        if (f.group_by != "domain" && f.group_by != "district") by_place.group_by.clear();
        grouped_rows(
            tx, by_place, source::sensors, queries::stats::readings_expected, group_value_from, d.readings_expected
        );
        d.sensors_grouped = grouped_rows(
            tx,
            f,
            source::sensors,
            queries::stats::sensor_counts,
            [](const pqxx::row& row) {
                return sensor_counts{row[0].as<std::string>(), row[1].as<std::int64_t>(), row[2].as<std::int64_t>()};
            },
            d.sensors
        );
        for (const auto& row : tx.exec_prepared(
                 queries::top_sites.name, f.from_day, f.to_day, nullable(f.domain), nullable(f.district), f.top_sites
             ))
            d.top_sites.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::int64_t>()});
        return d;
    });
}

}  // namespace cityguard::store
