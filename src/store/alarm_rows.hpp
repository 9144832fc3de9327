#pragma once
// Private to store/: reading alarm rows selected with CITYGUARD_ALARM_COLUMNS.

#include <optional>
#include <pqxx/pqxx>

#include "cityguard/store/records.hpp"

namespace cityguard::store {

template <class T>
inline std::optional<T> opt_field(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<T>();
}

/// The first 20 columns of `r` (CITYGUARD_ALARM_COLUMNS).
inline alarm_record alarm_from(const pqxx::row& r) {
    alarm_record a;
    a.id = r[0].as<std::int64_t>();
    a.rule = r[1].as<std::string>();
    a.site = r[2].as<std::string>();
    a.sensor = r[3].as<std::string>();
    a.domain = r[4].as<std::string>();
    a.level = r[5].as<int>();
    a.peak_level = r[6].as<int>();
    a.condition = r[7].as<std::string>();
    a.status = r[8].as<std::string>();
    a.title = r[9].as<std::string>();
    a.advice = r[10].as<std::string>();
    a.value = opt_field<double>(r[11]);
    a.peak_value = opt_field<double>(r[12]);
    a.first_ts = r[13].as<util::micros>();
    a.last_ts = r[14].as<util::micros>();
    a.cleared_ts = opt_field<util::micros>(r[15]);
    a.count = r[16].as<std::int64_t>();
    a.opened_at = r[17].as<util::micros>();
    a.closed_at = opt_field<util::micros>(r[18]);
    a.close_reason = r[19].is_null() ? "" : r[19].as<std::string>();
    return a;
}

/// An event from nine columns starting at `first`: seq, alarm_id, type, at, reading_ts, actor,
/// level, value, note (times as epoch microseconds).
inline event_record event_from(const pqxx::row& r, pqxx::row::size_type first) {
    event_record e;
    e.seq = r[first].as<std::int64_t>();
    e.alarm_id = r[first + 1].as<std::int64_t>();
    e.type = r[first + 2].as<std::string>();
    e.at = r[first + 3].as<util::micros>();
    e.reading_ts = opt_field<util::micros>(r[first + 4]);
    e.actor = r[first + 5].as<std::string>();
    e.level = opt_field<int>(r[first + 6]);
    e.value = opt_field<double>(r[first + 7]);
    e.note = r[first + 8].as<std::string>();
    return e;
}

}  // namespace cityguard::store
