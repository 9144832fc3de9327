#pragma once
// Statistics: the daily count tables and their groupings (part of queries.hpp: see there).

#include "common.hpp"

namespace cityguard::store::queries {

// Statistics (sql/0012_stats.sql). The group key of each statement is one of a fixed set of
// expressions, chosen by stats_group(); nothing a client sends is spliced into SQL text.
// Parameters: $1 first day, $2 last day (YYYY-MM-DD, in stats_settings.time_zone), $3 domains,
// $4 districts (text[]), $5 site, $6 units (text[]); NULL: any. Readings are counted by domain
// and district, not by site or unit: their two statements are not run for a site or units.
namespace stats {

/// The tables a statistics statement reads, each naming a day and the group fields differently.
enum class source { daily_counts, alarms, readings, sensors };

/// The SQL expression of grouping `by` over `from`, or nullopt when that source cannot be
/// grouped so (readings by site, say). An empty `by` is one group: ''.
inline std::optional<std::string> group_expression(std::string_view by, source from) {
    if (by.empty()) return "''";
    const char* day = from == source::daily_counts ? "r.day" : from == source::readings ? "c.day" : nullptr;
    if (by == "day" || by == "week" || by == "month") {
        if (!day) return std::nullopt;
        if (by == "day") return std::string("to_char(") + day + ", 'YYYY-MM-DD')";
        if (by == "week") return std::string("to_char(date_trunc('week', ") + day + "), 'YYYY-MM-DD')";
        return std::string("to_char(") + day + ", 'YYYY-MM')";
    }
    if (by == "domain")
        return from == source::daily_counts ? "r.domain"
               : from == source::alarms     ? "a.domain"
               : from == source::readings   ? "c.domain"
                                            : "s.domain";
    if (by == "district") return from == source::readings ? "c.district" : "coalesce(s.district, '')";
    if (by == "level") {
        if (from == source::daily_counts) return "r.level::text";
        if (from == source::alarms) return "a.peak_level::text";
        return std::nullopt;
    }
    if (by == "site") {
        if (from == source::daily_counts) return "r.site_id";
        if (from == source::alarms) return "a.site_id";
        if (from == source::sensors) return "s.id";
        return std::nullopt;
    }
    if (by == "unit" && from != source::readings) return "coalesce(s.unit_id, '')";
    return std::nullopt;
}

// The figures of alarm_counts, summed over daily count rows `r`: 40 columns (group, raised, raised by
// peak level red to blue, acknowledged, 14 buckets of time to acknowledge, closed, 14 of time to
// close, false_alarm, device_fault, disposed, disposed_late).
#define CITYGUARD_ALARM_FIGURES                                                                                      \
    ", sum(r.raised), sum(r.raised_red), sum(r.raised_orange), sum(r.raised_yellow), sum(r.raised_blue), "           \
    "sum(r.acknowledged), sum(r.ack_hist[1]), sum(r.ack_hist[2]), sum(r.ack_hist[3]), sum(r.ack_hist[4]), "          \
    "sum(r.ack_hist[5]), sum(r.ack_hist[6]), sum(r.ack_hist[7]), sum(r.ack_hist[8]), sum(r.ack_hist[9]), "           \
    "sum(r.ack_hist[10]), sum(r.ack_hist[11]), sum(r.ack_hist[12]), sum(r.ack_hist[13]), sum(r.ack_hist[14]), "      \
    "sum(r.closed), sum(r.close_hist[1]), sum(r.close_hist[2]), sum(r.close_hist[3]), sum(r.close_hist[4]), "        \
    "sum(r.close_hist[5]), sum(r.close_hist[6]), sum(r.close_hist[7]), sum(r.close_hist[8]), sum(r.close_hist[9]), " \
    "sum(r.close_hist[10]), sum(r.close_hist[11]), sum(r.close_hist[12]), sum(r.close_hist[13]), "                   \
    "sum(r.close_hist[14]), sum(r.false_alarm), sum(r.device_fault), "                                               \
    "sum(r.disposed), sum(r.disposed_late) "
#define CITYGUARD_SITE_COUNT_COLUMNS                                                                           \
    "site_id, domain, raised, raised_red, raised_orange, raised_yellow, raised_blue, acknowledged, ack_hist, " \
    "closed, close_hist, false_alarm, device_fault, disposed, disposed_late"

/// Where alarm figures are read from (sql/0013_stats_by_place.sql).
enum class count_table {
    by_place,   ///< alarm_stats_daily: time, domain, district and level groupings
    site_days,  ///< alarm_stats_site_daily over the range: one site ($5), or the sites of units ($6)
    all_sites,  ///< by site or unit: the months covered whole ($7-$8) and the days at the ends ($9-$10, $11-$12)
};

/// The expression of grouping `by` over a count table, or nullopt where that table cannot answer it.
inline std::optional<std::string> alarm_group_expression(std::string_view by, count_table from) {
    if (by.empty()) return "''";
    if (from == count_table::by_place) {
        if (by == "district") return "r.district";
        if (by == "level") return "r.level::text";
        if (by == "domain") return "r.domain";
        if (by == "site" || by == "unit") return std::nullopt;
        return group_expression(by, source::daily_counts);  // day, week, month of r.day
    }
    if (by == "site") return "r.site_id";
    if (by == "unit") return "coalesce(s.unit_id, '')";
    if (by == "domain") return "r.domain";
    if (by == "district") return "coalesce(s.district, '')";
    if (from == count_table::site_days && (by == "day" || by == "week" || by == "month"))
        return group_expression(by, source::daily_counts);
    return std::nullopt;
}

// Alarms opened in the range, by group. Parameters $1-$6 as above; all_sites adds $7-$12.
inline std::string alarm_counts(const std::string& group, count_table from) {
    std::string rows;
    std::string where = "WHERE ($3::text[] IS NULL OR r.domain = ANY($3::text[])) AND ($4::text[] IS NULL OR ";
    if (from == count_table::by_place) {
        rows = "alarm_stats_daily r";
        where +=
            "r.district = ANY($4::text[])) AND r.day BETWEEN $1::date AND $2::date AND $5::text IS NULL "
            "AND $6::text[] IS NULL ";
        return "SELECT " + group + CITYGUARD_ALARM_FIGURES "FROM " + rows + " " + where + "GROUP BY 1";
    }
    where += "s.district = ANY($4::text[])) AND ($6::text[] IS NULL OR s.unit_id = ANY($6::text[])) ";
    if (from == count_table::site_days) {
        rows = "alarm_stats_site_daily r";
        where += "AND ($5::text IS NULL OR r.site_id = $5) AND r.day BETWEEN $1::date AND $2::date ";
    } else {
        rows = "(SELECT " CITYGUARD_SITE_COUNT_COLUMNS
               " FROM alarm_stats_site_monthly WHERE month BETWEEN $7::date AND $8::date "
               "UNION ALL SELECT " CITYGUARD_SITE_COUNT_COLUMNS
               " FROM alarm_stats_site_daily "
               "WHERE day BETWEEN $9::date AND $10::date OR day BETWEEN $11::date AND $12::date) r";
        where += "AND $1::date IS NOT NULL AND $2::date IS NOT NULL AND $5::text IS NULL ";
    }
    return "SELECT " + group + CITYGUARD_ALARM_FIGURES "FROM " + rows + " LEFT JOIN sites s ON s.id = r.site_id " +
           where + "GROUP BY 1";
}

// The sites with most alarms: all_sites, parameters $1-$12, $13 how many.
inline std::string top_sites() {
    return "SELECT r.site_id, coalesce(s.name, ''), sum(r.raised) FROM (SELECT " CITYGUARD_SITE_COUNT_COLUMNS
           " FROM alarm_stats_site_monthly WHERE month BETWEEN $7::date AND $8::date UNION ALL "
           "SELECT " CITYGUARD_SITE_COUNT_COLUMNS
           " FROM alarm_stats_site_daily WHERE day BETWEEN $9::date AND $10::date OR day BETWEEN $11::date AND "
           "$12::date) r "
           "LEFT JOIN sites s ON s.id = r.site_id WHERE ($3::text[] IS NULL OR r.domain = ANY($3::text[])) "
           "AND ($4::text[] IS NULL OR s.district = ANY($4::text[])) AND ($5::text IS NULL OR r.site_id = $5) "
           "AND ($6::text[] IS NULL OR s.unit_id = ANY($6::text[])) "
           "AND $1::date IS NOT NULL AND $2::date IS NOT NULL "
           "GROUP BY 1, 2 HAVING sum(r.raised) > 0 ORDER BY 3 DESC, 1 LIMIT $13";
}
#undef CITYGUARD_SITE_COUNT_COLUMNS
#undef CITYGUARD_ALARM_FIGURES

// Alarms not yet disposed of (open, acknowledged, handling) and past their disposal deadline:
// the policy's (a disposal_overdue event) or, without one, stats.default_disposal_s. Whenever
// they were opened: "overdue now" is about today.
inline std::string overdue_now(const std::string& group) {
    return "SELECT " + group +
           ", count(*) FROM alarms a LEFT JOIN sites s ON s.id = a.site_id CROSS JOIN stats_settings st "
           "WHERE a.status <> 'closed' AND a.status IN ('open', 'acknowledged', 'handling') "
           "AND (a.overdue_at IS NOT NULL OR (NOT a.has_disposal_deadline "
           "AND a.opened_at < now() - make_interval(secs => st.default_disposal_s))) "
           "AND ($3::text[] IS NULL OR a.domain = ANY($3::text[])) "
           "AND ($4::text[] IS NULL OR s.district = ANY($4::text[])) AND ($5::text IS NULL OR a.site_id = $5) "
           "AND ($6::text[] IS NULL OR s.unit_id = ANY($6::text[])) "
           "AND $1::date IS NOT NULL AND $2::date IS NOT NULL GROUP BY 1";
}

inline std::string readings_received(const std::string& group) {
    return "SELECT " + group +
           ", sum(c.readings) FROM reading_counts_daily c WHERE c.day BETWEEN $1::date AND $2::date "
           "AND ($3::text[] IS NULL OR c.domain = ANY($3::text[])) "
           "AND ($4::text[] IS NULL OR c.district = ANY($4::text[])) AND $5::text IS NULL AND $6::text[] IS NULL "
           "GROUP BY 1";
}

// What the sensors should have sent in the range, up to now: each one's seconds registered
// within it over its interval_s.
inline std::string readings_expected(const std::string& group) {
    return "SELECT " + group +
           ", sum(greatest(0, extract(epoch FROM least(w.t1, now()) - greatest(w.t0, se.created_at))) / se.interval_s) "
           "FROM sensors se JOIN sites s ON s.id = se.site_id CROSS JOIN (SELECT $1::date::timestamp AT TIME ZONE "
           "st.time_zone AS t0, ($2::date + 1)::timestamp AT TIME ZONE st.time_zone AS t1 FROM stats_settings st) w "
           "WHERE ($3::text[] IS NULL OR s.domain = ANY($3::text[])) "
           "AND ($4::text[] IS NULL OR s.district = ANY($4::text[])) AND $5::text IS NULL "
           "AND ($6::text[] IS NULL OR s.unit_id = ANY($6::text[])) GROUP BY 1";
}

// Registered sensors and those whose offline alarm is active, now.
inline std::string sensor_counts(const std::string& group) {
    return "SELECT " + group +
           ", count(*), count(o.sensor_id) FROM sensors se JOIN sites s ON s.id = se.site_id "
           "LEFT JOIN (SELECT DISTINCT sensor_id FROM alarms WHERE status <> 'closed' AND condition = 'active' "
           "AND category = 'offline') o ON o.sensor_id = se.id "
           "WHERE ($3::text[] IS NULL OR s.domain = ANY($3::text[])) "
           "AND ($4::text[] IS NULL OR s.district = ANY($4::text[])) AND ($5::text IS NULL OR s.id = $5) "
           "AND ($6::text[] IS NULL OR s.unit_id = ANY($6::text[])) "
           "AND $1::date IS NOT NULL AND $2::date IS NOT NULL GROUP BY 1";
}

}  // namespace stats

inline constexpr query stats_time_zone{"stats_time_zone", "SELECT time_zone FROM stats_settings"};
inline constexpr query stats_today{
    "stats_today", "SELECT to_char(now() AT TIME ZONE time_zone, 'YYYY-MM-DD') FROM stats_settings"};
// A time zone PostgreSQL does not know fails the statement before anything is written.
inline constexpr query configure_stats{
    "configure_stats",
    "UPDATE stats_settings SET time_zone = $1, default_disposal_s = $2 "
    "WHERE (now() AT TIME ZONE $1) IS NOT NULL"};
inline constexpr query rebuild_stats{"rebuild_stats", "SELECT cityguard_rebuild_stats()"};
// One statement per readings batch: the new rows counted by (hour since the epoch, domain,
// district) in the writer, which knows each sensor's place; each hour added to its day.
inline constexpr query count_readings{
    "count_readings",
    "INSERT INTO reading_counts_daily AS c (day, domain, district, readings) "
    "SELECT (to_timestamp(b.hour * 3600) AT TIME ZONE st.time_zone)::date, b.domain, b.district, sum(b.n) "
    "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS b (hour, domain, district, n) "
    "CROSS JOIN stats_settings st "
    "GROUP BY 1, 2, 3 ON CONFLICT (day, domain, district) DO UPDATE SET readings = c.readings + EXCLUDED.readings"};

}  // namespace cityguard::store::queries
