#pragma once
// Private to store/: the one mapping between alarm rows and the alarm model. Levels are stored
// as severities 1 (red) to 4 (blue), condition and status as their text.

#include <optional>
#include <pqxx/pqxx>

#include "cityguard/alarm_model/alarm.hpp"

namespace cityguard::store {

template <class T>
inline std::optional<T> opt_field(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<T>();
}

inline rules::level level_from(const pqxx::field& f) { return static_cast<rules::level>(f.as<int>()); }
inline int level_column(rules::level l) { return static_cast<int>(l); }

/// The first 25 columns of `r` (CITYGUARD_ALARM_COLUMNS).
inline constexpr pqxx::row::size_type alarm_column_count = 25;

inline alarm_model::alarm alarm_from(const pqxx::row& r) {
    alarm_model::alarm a;
    a.id = r[0].as<std::int64_t>();
    a.rule = r[1].as<std::string>();
    a.site = r[2].as<std::string>();
    a.sensor = r[3].as<std::string>();
    a.domain = r[4].as<std::string>();
    a.lvl = level_from(r[5]);
    a.peak = level_from(r[6]);
    // The columns' CHECK constraints admit only these words; the fallbacks are never taken.
    a.cond = alarm_model::parse_condition(r[7].c_str()).value_or(alarm_model::condition::unknown);
    a.state = alarm_model::parse_status(r[8].c_str()).value_or(alarm_model::status::open);
    // Chinese in title/advice, English in title_en/advice_en (NULL in feed snapshots older
    // than migration 0005).
    a.title = {r[9].as<std::string>(), r[21].is_null() ? "" : r[21].as<std::string>()};
    a.advice = {r[10].as<std::string>(), r[22].is_null() ? "" : r[22].as<std::string>()};
    if (!r[23].is_null()) a.members = alarm_model::members_from(nlohmann::json::parse(r[23].c_str(), nullptr, false));
    a.value = opt_field<double>(r[11]);
    a.peak_value = opt_field<double>(r[12]);
    a.first_ts = r[13].as<util::micros>();
    a.last_ts = r[14].as<util::micros>();
    a.cleared_ts = opt_field<util::micros>(r[15]);
    a.count = r[16].as<std::int64_t>();
    a.opened_at = r[17].as<util::micros>();
    a.closed_at = opt_field<util::micros>(r[18]);
    a.close_reason = r[19].is_null() ? "" : r[19].as<std::string>();
    // NULL only in feed snapshots written before the category existed (migration 0004).
    a.cat = r[20].is_null() ? alarm_model::category::process
                            : alarm_model::parse_category(r[20].c_str()).value_or(alarm_model::category::process);
    a.inhibited_by = opt_field<std::int64_t>(r[24]);
    return a;
}

/// An event from nine columns starting at `first`: seq, alarm_id, type, at, reading_ts, actor,
/// level, value, note (times as epoch microseconds). The alarm id is the caller's to know.
inline alarm_model::event event_from(const pqxx::row& r, pqxx::row::size_type first) {
    alarm_model::event e;
    e.seq = r[first].as<std::int64_t>();
    e.type = r[first + 2].as<std::string>();
    e.at = r[first + 3].as<util::micros>();
    e.reading_ts = opt_field<util::micros>(r[first + 4]);
    e.actor = r[first + 5].as<std::string>();
    if (!r[first + 6].is_null()) e.lvl = level_from(r[first + 6]);
    e.value = opt_field<double>(r[first + 7]);
    e.note = r[first + 8].as<std::string>();
    return e;
}

}  // namespace cityguard::store
