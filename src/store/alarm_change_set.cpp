#include "cityguard/store/alarm_change_set.hpp"

#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "alarm_rows.hpp"
#include "pool.hpp"
#include "queries/alarms.hpp"
#include "queries/notifications.hpp"
#include "scope.hpp"

namespace cityguard::store {

namespace {

std::optional<std::string> opt_num(const std::optional<double>& v) {
    if (!v) return std::nullopt;
    return pqxx::to_string(*v);
}
std::optional<std::string> opt_level(const std::optional<rules::level>& l) {
    if (!l) return std::nullopt;
    return std::to_string(level_column(*l));
}
std::optional<std::string> opt_id(const std::optional<std::int64_t>& id) {
    if (!id) return std::nullopt;
    return std::to_string(*id);
}
std::optional<std::string> opt_json(const nlohmann::json& j) {
    if (j.is_null()) return std::nullopt;
    return j.dump();
}

/// One change set's writes, in the order the change set is laid out. Ids below zero are the
/// provisional ids of this change set's new alarms: they name alarms[-(id + 1)] of new_ids.
class change_writer {
  public:
    explicit change_writer(pqxx::work& tx) : tx_(tx) {}

    alarm_change_result write(const alarm_change_set& set) {
        for (const auto& w : set.alarms.alarms) write_alarm(w);
        flush_updates();
        for (const auto& s : set.alarms.states)
            tx_.exec_prepared(queries::upsert_rule_state.name, s.rule, s.sensor, s.state.dump());
        for (const auto& [id, st] : set.escalation.states) write_deadlines(real(id), st);
        for (const auto& [alarm, e] : set.escalation.events) write_event(real(alarm), e);
        for (const auto& n : set.escalation.notices) write_notice(n);
        // One notice for the whole change: listeners read every event up to this seq back.
        if (last_seq_) tx_.exec_prepared(queries::notify_events.name, std::to_string(last_seq_));
        return std::move(result_);
    }

  private:
    std::int64_t real(std::int64_t id) const {
        if (id >= 0) return id;
        const auto index = static_cast<std::size_t>(-(id + 1));
        // A provisional id the alarm rows did not give: the change set contradicts itself.
        if (index >= result_.new_ids.size())
            throw std::logic_error("an alarm change names a new alarm it does not hold");
        return result_.new_ids[index];
    }

    /// A member or inhibitor named by a provisional id not written yet (the engine raises members
    /// before their compound, so this does not happen): recorded as unknown rather than failing
    /// the transaction, which would refuse every reading of the batch, and of every retry.
    std::optional<std::int64_t> written_or_unknown(std::int64_t id) const {
        if (id >= 0) return id;
        const auto index = static_cast<std::size_t>(-(id + 1));
        return index < result_.new_ids.size() ? std::optional(result_.new_ids[index]) : std::nullopt;
    }

    std::optional<std::string> members_of(const alarm_model::alarm& a) const {
        if (a.members.empty()) return std::nullopt;
        auto resolved = a.members;
        for (auto& m : resolved)
            if (m.alarm < 0) m.alarm = written_or_unknown(m.alarm).value_or(0);
        return alarm_model::members_json(resolved).dump();
    }

    void write_alarm(const alarm_model::changes::alarm_write& w) {
        const auto& a = w.after;
        const auto members = members_of(a);
        const auto inhibited_by = a.inhibited_by ? written_or_unknown(*a.inhibited_by) : std::nullopt;
        std::int64_t id = a.id;
        if (id <= 0) {
            id = insert_alarm(a, members, inhibited_by);
            result_.new_ids.push_back(id);
        } else {
            queue_update(a, members, inhibited_by);
            // Its events copy the row as it is now; a closed alarm frees its (rule, sensor) for a
            // new one that may follow in this change set.
            if (!w.events.empty() || a.state == alarm_model::status::closed) flush_updates();
        }
        for (const auto& e : w.events) write_event(id, e, e.reading_ts, e.value);
    }

    std::int64_t insert_alarm(
        const alarm_model::alarm& a,
        const std::optional<std::string>& members,
        const std::optional<std::int64_t>& inhibited_by
    ) {
        return tx_
            .exec_prepared1(
                queries::insert_alarm.name,
                a.rule,
                a.site,
                a.sensor,
                a.domain,
                level_column(a.lvl),
                level_column(a.peak),
                std::string(alarm_model::to_string(a.cond)),
                std::string(alarm_model::to_string(a.state)),
                a.title.zh,
                a.advice.zh,
                nullable(opt_num(a.value)),
                nullable(opt_num(a.peak_value)),
                pg_time(a.first_ts),
                pg_time(a.last_ts),
                nullable(pg_opt_time(a.cleared_ts)),
                a.count,
                pg_time(a.opened_at),
                std::string(alarm_model::to_string(a.cat)),
                a.title.en,
                a.advice.en,
                nullable(members),
                nullable(opt_id(inhibited_by)),
                nullable(opt_json(a.evidence))
            )[0]
            .as<std::int64_t>();
    }

    /// An alarm's new row, written with the others by flush_updates(): under an alarm storm most
    /// writes are active alarms taking their next reading, one statement for all of them rather
    /// than a round trip each. A later write of the same alarm replaces the queued one.
    void queue_update(
        const alarm_model::alarm& a,
        const std::optional<std::string>& members,
        const std::optional<std::int64_t>& inhibited_by
    ) {
        const auto text = [](const std::string& s) { return std::optional<std::string>(s); };
        const auto or_null = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional(s); };
        std::vector<std::optional<std::string>> row{
            std::to_string(a.id),
            std::to_string(level_column(a.lvl)),
            std::to_string(level_column(a.peak)),
            std::string(alarm_model::to_string(a.cond)),
            std::string(alarm_model::to_string(a.state)),
            text(a.title.zh),
            text(a.advice.zh),
            opt_num(a.value),
            opt_num(a.peak_value),
            pg_time(a.last_ts),
            pg_opt_time(a.cleared_ts),
            std::to_string(a.count),
            pg_opt_time(a.closed_at),
            or_null(a.close_reason),
            text(a.title.en),
            text(a.advice.en),
            members,
            opt_id(inhibited_by),
            or_null(a.assignee),
            opt_json(a.evidence)};
        auto [at, fresh] = queued_.try_emplace(a.id, updates_.size());
        if (fresh)
            updates_.push_back(std::move(row));
        else
            updates_[at->second] = std::move(row);
    }

    void flush_updates() {
        if (updates_.empty()) return;
        std::vector<std::string> columns;
        std::vector<std::optional<std::string>> column(updates_.size());
        for (std::size_t c = 0; c < updates_.front().size(); ++c) {
            for (std::size_t r = 0; r < updates_.size(); ++r) column[r] = std::move(updates_[r][c]);
            columns.push_back(nullable_array(column));
        }
        tx_.exec_prepared(
            queries::update_alarms.name,
            columns[0],
            columns[1],
            columns[2],
            columns[3],
            columns[4],
            columns[5],
            columns[6],
            columns[7],
            columns[8],
            columns[9],
            columns[10],
            columns[11],
            columns[12],
            columns[13],
            columns[14],
            columns[15],
            columns[16],
            columns[17],
            columns[18],
            columns[19]
        );
        updates_.clear();
        queued_.clear();
    }

    /// Escalation events carry no reading: their time and value columns stay NULL.
    void write_event(
        std::int64_t alarm,
        const alarm_model::event& e,
        const std::optional<util::micros>& reading_ts = std::nullopt,
        const std::optional<double>& value = std::nullopt
    ) {
        if (!event_order_locked_) {
            // Serialises event inserts across instances and commits, so seq follows commit order
            // and a listener reading "after seq N" never skips an event committed later.
            tx_.exec_prepared(queries::lock_event_order.name);
            event_order_locked_ = true;
        }
        last_seq_ = tx_.exec_prepared1(
                           queries::insert_event.name,
                           alarm,
                           e.type,
                           pg_time(e.at),
                           nullable(pg_opt_time(reading_ts)),
                           e.actor,
                           nullable(opt_level(e.lvl)),
                           nullable(opt_num(value)),
                           e.note,
                           // Temporaries that live to the end of the statement.
                           nullable(e.actor_user > 0 ? std::optional(std::to_string(e.actor_user)) : std::nullopt),
                           e.actor_user > 0 ? e.actor_name.c_str() : nullptr,
                           nullable(opt_json(e.evidence))
        )[0]
                        .as<std::int64_t>();
    }

    void write_deadlines(std::int64_t alarm, const notification_model::deadline_state& st) {
        tx_.exec_prepared(
            queries::update_deadlines.name,
            alarm,
            nullable(pg_opt_time(st.ack_due)),
            nullable(pg_opt_time(st.dispose_due)),
            static_cast<int>(st.told),
            st.suppressed,
            st.raise_pending,
            nullable(opt_id(st.silence))
        );
    }

    /// One outbox row per contact of the tier who answers for the site, and per channel of theirs.
    void write_notice(const notification_model::notice& n) {
        result_.outbox_rows += tx_.exec_prepared(
                                      queries::insert_notifications.name,
                                      real(n.alarm),
                                      std::string(notification_model::to_string(n.kind)),
                                      std::string(notification_model::to_string(n.to)),
                                      level_column(n.lvl),
                                      n.site
        )
                                   .affected_rows();
    }

    pqxx::work& tx_;
    alarm_change_result result_;
    std::vector<std::vector<std::optional<std::string>>> updates_;  // queued rows, update_alarms' columns
    std::unordered_map<std::int64_t, std::size_t> queued_;          // alarm id -> its row in updates_
    bool event_order_locked_ = false;
    std::int64_t last_seq_ = 0;
};

}  // namespace

alarm_change_result write_alarm_change_set(transaction_scope& scope, const alarm_change_set& set) {
    return change_writer(static_cast<pqxx_scope&>(scope).tx()).write(set);
}

}  // namespace cityguard::store
