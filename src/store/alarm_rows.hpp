#pragma once
// Private to store/: the one mapping between alarm rows and the alarm model. Levels are stored
// as severities 1 (red) to 4 (blue), condition and status as their text.

#include <optional>
#include <pqxx/pqxx>

#include "cityguard/alarm_model/alarm.hpp"
#include "pool.hpp"

namespace cityguard::store {

inline rules::level level_from(const pqxx::field& f) { return static_cast<rules::level>(f.as<int>()); }
inline int level_column(rules::level l) { return static_cast<int>(l); }

/// The 33 columns of CITYGUARD_ALARM_COLUMNS, from column `first` of `r`.
inline constexpr pqxx::row::size_type alarm_column_count = 33;

/// A jsonb column read as text: null for SQL NULL (or text that is not JSON, which the column cannot hold).
inline nlohmann::json json_or_null(const pqxx::field& f) {
    if (f.is_null()) return nullptr;
    auto j = nlohmann::json::parse(f.c_str(), nullptr, false);
    return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

inline alarm_model::alarm alarm_at(const pqxx::row& r, pqxx::row::size_type first) {
    alarm_model::alarm a;
    a.id = r[first + 0].as<std::int64_t>();
    a.rule = r[first + 1].as<std::string>();
    a.site = r[first + 2].as<std::string>();
    a.sensor = r[first + 3].as<std::string>();
    a.domain = r[first + 4].as<std::string>();
    a.lvl = level_from(r[first + 5]);
    a.peak = level_from(r[first + 6]);
    // The columns' CHECK constraints admit only these words; the fallbacks are never taken.
    a.cond = alarm_model::parse_condition(r[first + 7].c_str()).value_or(alarm_model::condition::unknown);
    a.state = alarm_model::parse_status(r[first + 8].c_str()).value_or(alarm_model::status::open);
    // Chinese in title/advice, English in title_en/advice_en (NULL in feed snapshots older
    // than migration 0005).
    a.title = {r[first + 9].as<std::string>(), r[first + 21].is_null() ? "" : r[first + 21].as<std::string>()};
    a.advice = {r[first + 10].as<std::string>(), r[first + 22].is_null() ? "" : r[first + 22].as<std::string>()};
    if (!r[first + 23].is_null())
        a.members = alarm_model::members_from(nlohmann::json::parse(r[first + 23].c_str(), nullptr, false));
    a.value = opt_field<double>(r[first + 11]);
    a.peak_value = opt_field<double>(r[first + 12]);
    a.first_ts = r[first + 13].as<util::micros>();
    a.last_ts = r[first + 14].as<util::micros>();
    a.cleared_ts = opt_field<util::micros>(r[first + 15]);
    a.count = r[first + 16].as<std::int64_t>();
    a.opened_at = r[first + 17].as<util::micros>();
    a.closed_at = opt_field<util::micros>(r[first + 18]);
    a.close_reason = r[first + 19].is_null() ? "" : r[first + 19].as<std::string>();
    // NULL only in feed snapshots written before the category existed (migration 0004).
    a.cat = r[first + 20].is_null()
                ? alarm_model::category::process
                : alarm_model::parse_category(r[first + 20].c_str()).value_or(alarm_model::category::process);
    a.inhibited_by = opt_field<std::int64_t>(r[first + 24]);
    // NULL in feed snapshots written before migration 0010.
    a.notification.ack_due = opt_field<util::micros>(r[first + 25]);
    a.notification.dispose_due = opt_field<util::micros>(r[first + 26]);
    a.notification.told = static_cast<unsigned>(opt_field<int>(r[first + 27]).value_or(0));
    a.notification.suppressed = opt_field<bool>(r[first + 28]).value_or(false);
    a.notification.silence = opt_field<std::int64_t>(r[first + 29]);
    a.notification.raise_pending = opt_field<bool>(r[first + 30]).value_or(false);
    // NULL: nobody (and in feed snapshots written before migration 0018).
    a.assignee = r[first + 31].is_null() ? "" : r[first + 31].as<std::string>();
    a.evidence = json_or_null(r[first + 32]);
    return a;
}

/// The alarm in the first columns of `r`.
inline alarm_model::alarm alarm_from(const pqxx::row& r) { return alarm_at(r, 0); }

/// An event from twelve columns starting at `first`: seq, alarm_id, type, at, reading_ts, actor,
/// level, value, note, actor_user_id, actor_name, evidence (times as epoch microseconds). The alarm id is
/// the caller's to know.
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
    if (!r[first + 9].is_null()) e.actor_user = r[first + 9].as<std::int64_t>();
    if (!r[first + 10].is_null()) e.actor_name = r[first + 10].as<std::string>();
    e.evidence = json_or_null(r[first + 11]);
    return e;
}

}  // namespace cityguard::store
