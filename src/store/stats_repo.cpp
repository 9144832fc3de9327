#include "cityguard/store/stats_repo.hpp"

#include "cityguard/util/time.hpp"
#include "pool.hpp"
#include "queries/stats.hpp"

namespace cityguard::store {

// The statistics model's types, which these queries fill.
using stats::alarm_counts;
using stats::group_value;
using stats::sensor_counts;
using stats::site_alarms;
using stats::stats_data;
using stats::stats_filter;
namespace {

using queries::stats::group_expression;
using queries::stats::source;

/// Parameters $3-$6 of every statistics statement (queries/stats.hpp): the places counted.
struct place_params {
    std::optional<std::string> domains, districts, units;
    explicit place_params(const stats_filter& f)
        : domains(array_or_null(f.domains)), districts(array_or_null(f.districts)), units(array_or_null(f.units)) {}
};

/// Runs one statistics statement grouped by `by`, or by nothing (one total row) when the source
/// cannot be grouped so; true when it was grouped.
template <class Row, class Map>
bool grouped_rows(
    pqxx::read_transaction& tx,
    const stats_filter& f,
    const place_params& places,
    source from,
    std::string (*statement)(const std::string&),
    Map map,
    std::vector<Row>& out
) {
    auto group = group_expression(f.group_by, from);
    const bool grouped = group.has_value();
    if (!group) group = group_expression("", from);
    for (const auto& row : tx.exec_params(
             statement(*group),
             f.from_day,
             f.to_day,
             nullable(places.domains),
             nullable(places.districts),
             nullable(f.site),
             nullable(places.units)
         ))
        out.push_back(map(row));
    return grouped;
}

// A sum over no rows is NULL in SQL; in the table it is zero.
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

/// The range [from, to] split for the site count tables: the months it covers whole (first days of
/// month, `month_from` after `month_to` when none) and the days at either end.
struct month_split {
    std::string month_from, month_to;
    std::string head_from, head_to;  ///< days before the first whole month
    std::string tail_from, tail_to;  ///< days after the last whole month
};

std::int64_t first_of_month(std::int64_t day) { return *util::parse_date(util::format_date(day).substr(0, 8) + "01"); }
/// The day after the month of `day`; after December 9999, the day after the last the API names.
std::int64_t first_of_next_month(std::int64_t day) {
    const auto month = util::format_date(first_of_month(day));  // YYYY-MM-01
    int year = std::stoi(month.substr(0, 4)), number = std::stoi(month.substr(5, 2)) + 1;
    if (number == 13) number = 1, ++year;
    if (year > 9999) return util::kLastDay + 1;
    const auto two = [](int n) { return std::string(n < 10 ? "0" : "") + std::to_string(n); };
    return *util::parse_date(std::to_string(year) + "-" + two(number) + "-01");
}

// A year by site reads twelve monthly rows per site instead of 365 daily ones: whole months from
// the monthly table, the days at either end from the daily one.
month_split split_by_month(const stats_filter& f) {
    const auto from = *util::parse_date(f.from_day), to = *util::parse_date(f.to_day);
    const auto first_whole = first_of_month(from) == from ? from : first_of_next_month(from);
    const auto last_whole_end = first_of_next_month(to) - 1 == to ? to : first_of_month(to) - 1;  // last day of it
    month_split m;
    if (first_whole > last_whole_end) {  // no whole month: every day from the daily table
        m.month_from = "2000-02-01", m.month_to = "2000-01-01";
        m.head_from = f.from_day, m.head_to = f.to_day;
        m.tail_from = "2000-02-01", m.tail_to = "2000-01-01";
        return m;
    }
    m.month_from = util::format_date(first_whole);
    m.month_to = util::format_date(first_of_month(last_whole_end));
    // An empty end is the empty range above, not the day before 0001-01-01 or after
    // 9999-12-31 (PostgreSQL has no year 0; "10000-01-01" is no date of the API).
    m.head_from = f.from_day, m.head_to = util::format_date(first_whole - 1);
    if (first_whole == from) m.head_from = "2000-02-01", m.head_to = "2000-01-01";
    m.tail_from = util::format_date(last_whole_end + 1), m.tail_to = f.to_day;
    if (last_whole_end == to) m.tail_from = "2000-02-01", m.tail_to = "2000-01-01";
    return m;
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

// The triggers count alarms by day in the configured zone; a new zone means every day boundary
// moved, so the count tables are rebuilt once rather than mixing two zones.
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

// All parts of one answer are read in one transaction: the table's rows and its total agree.
net::awaitable<stats_data> stats_repo::collect(const stats_filter& f) {
    return read(db_, [f](pqxx::read_transaction& tx) {
        stats_data d;
        d.time_zone = tx.exec_prepared1(queries::stats_time_zone.name)[0].as<std::string>();
        using queries::stats::count_table;
        // The place table has no units: a unit's scope reads its sites' daily rows (few sites).
        const auto table = f.group_by == "site" || f.group_by == "unit" ? count_table::all_sites
                           : f.site || !f.units.empty()                 ? count_table::site_days
                                                                        : count_table::by_place;
        const place_params places(f);
        auto group = queries::stats::alarm_group_expression(f.group_by, table);
        if (!group) group = "''";
        const auto months = split_by_month(f);
        const auto sql = queries::stats::alarm_counts(*group, table);
        const auto rows = table == count_table::all_sites ? tx.exec_params(
                                                                sql,
                                                                f.from_day,
                                                                f.to_day,
                                                                nullable(places.domains),
                                                                nullable(places.districts),
                                                                nullable(f.site),
                                                                nullable(places.units),
                                                                months.month_from,
                                                                months.month_to,
                                                                months.head_from,
                                                                months.head_to,
                                                                months.tail_from,
                                                                months.tail_to
                                                            )
                                                          : tx.exec_params(
                                                                sql,
                                                                f.from_day,
                                                                f.to_day,
                                                                nullable(places.domains),
                                                                nullable(places.districts),
                                                                nullable(f.site),
                                                                nullable(places.units)
                                                            );
        for (const auto& row : rows) d.alarms.push_back(alarm_counts_from(row));
        grouped_rows(tx, f, places, source::alarms, queries::stats::overdue_now, group_value_from, d.overdue_now);
        d.readings_counted = !f.site && f.units.empty();
        if (d.readings_counted) {
            d.readings_grouped = grouped_rows(
                tx,
                f,
                places,
                source::readings,
                queries::stats::readings_received,
                group_value_from,
                d.readings_received
            );
            // Completeness compares received with expected: both by domain or district, else in total.
            stats_filter by_place = f;
            if (f.group_by != "domain" && f.group_by != "district") by_place.group_by.clear();
            grouped_rows(
                tx,
                by_place,
                places,
                source::sensors,
                queries::stats::readings_expected,
                group_value_from,
                d.readings_expected
            );
        }
        d.sensors_grouped = grouped_rows(
            tx,
            f,
            places,
            source::sensors,
            queries::stats::sensor_counts,
            [](const pqxx::row& row) {
                return sensor_counts{row[0].as<std::string>(), row[1].as<std::int64_t>(), row[2].as<std::int64_t>()};
            },
            d.sensors
        );
        for (const auto& row : tx.exec_params(
                 queries::stats::top_sites(),
                 f.from_day,
                 f.to_day,
                 nullable(places.domains),
                 nullable(places.districts),
                 nullable(f.site),
                 nullable(places.units),
                 months.month_from,
                 months.month_to,
                 months.head_from,
                 months.head_to,
                 months.tail_from,
                 months.tail_to,
                 f.top_sites
             ))
            d.top_sites.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::int64_t>()});
        return d;
    });
}

}  // namespace cityguard::store
