#include "cityguard/alarms/alarm_transaction.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "cityguard/store/alarm_change_set.hpp"
#include "cityguard/store/evidence.hpp"

namespace cityguard::alarms {

void alarm_transaction::begin() {
    rollback();  // nothing half-staged from an earlier attempt may leak into this change
    apply_silences();
}

std::size_t alarm_transaction::give_provisional_ids(alarm_model::changes& ch) {
    // Provisional ids let the escalation, compound members and the store name an alarm that has
    // no row yet; the store turns them into the database's ids in the same call.
    std::map<std::pair<std::string, std::string>, std::int64_t> new_by_subject;
    std::int64_t next = -1;
    for (auto& w : ch.alarms)
        if (w.after.id == 0) {
            w.after.id = next--;
            new_by_subject[{w.after.rule, w.after.sensor}] = w.after.id;
        }
    if (!new_by_subject.empty())
        for (auto& w : ch.alarms)
            for (auto& m : w.after.members)
                if (m.alarm == 0 && !m.rule.empty())
                    if (auto it = new_by_subject.find({m.rule, m.sensor}); it != new_by_subject.end())
                        m.alarm = it->second;
    return new_by_subject.size();
}

void alarm_transaction::attach_evidence(store::transaction_scope& tx, alarm_model::changes& ch) {
    // Evidence that came before the reading completing an alarm counts too (the camera saw the
    // fire a minute before the gas detector crossed its limit), up to this far back.
    constexpr util::micros look_back = 10LL * 60 * 1'000'000;
    auto wants = [](const alarm_model::event& e) {
        return e.reading_ts && (e.type == "raised" || e.type == "escalated" || e.type == "reactivated");
    };
    std::set<std::string> sensors;
    util::micros from = 0, to = 0;
    bool any = false;
    for (const auto& w : ch.alarms)
        for (const auto& e : w.events) {
            if (!wants(e)) continue;
            if (!w.after.sensor.empty()) sensors.insert(w.after.sensor);
            for (const auto& m : w.after.members) sensors.insert(m.sensor);
            from = any ? std::min(from, *e.reading_ts - look_back) : *e.reading_ts - look_back;
            to = any ? std::max(to, *e.reading_ts) : *e.reading_ts;
            any = true;
        }
    if (!any || sensors.empty()) return;
    const auto found = store::find_evidence(tx, {sensors.begin(), sensors.end()}, from, to, 256);
    if (found.empty()) return;
    for (auto& w : ch.alarms)
        for (auto& e : w.events) {
            if (!wants(e)) continue;
            // The newest evidence of this alarm's own sensors in its look-back.
            for (auto it = found.rbegin(); it != found.rend(); ++it) {
                const bool own = it->sensor == w.after.sensor ||
                                 std::any_of(w.after.members.begin(), w.after.members.end(), [&](const auto& m) {
                                     return m.sensor == it->sensor;
                                 });
                if (!own || it->ts > *e.reading_ts || it->ts < *e.reading_ts - look_back) continue;
                e.evidence = it->evidence;
                e.evidence["sensor"] = it->sensor;
                e.evidence["reading_ts"] = util::format_rfc3339(it->ts);
                w.after.evidence = e.evidence;
                break;
            }
        }
}

void alarm_transaction::write(
    store::transaction_scope& tx, alarm_model::changes ch, notification_model::escalation_output due
) {
    if (ch.empty() && due.empty()) return;
    attach_evidence(tx, ch);
    give_provisional_ids(ch);
    for (const auto& w : ch.alarms)
        if (w.after.id < 0) staged_raised_.push_back({std::string(rules::to_string(w.after.lvl)), w.after.domain});
    // The timer step's output first, then what the escalation makes of this change: the order
    // their events get their seq in.
    auto told = escalation_.observe(ch, util::now_micros());
    due.events.insert(
        due.events.end(), std::make_move_iterator(told.events.begin()), std::make_move_iterator(told.events.end())
    );
    due.notices.insert(
        due.notices.end(), std::make_move_iterator(told.notices.begin()), std::make_move_iterator(told.notices.end())
    );
    due.states.insert(
        due.states.end(), std::make_move_iterator(told.states.begin()), std::make_move_iterator(told.states.end())
    );

    const auto written = store::write_alarm_change_set(tx, {ch, due});

    engine_.assign_ids(written.new_ids);
    std::vector<std::pair<std::int64_t, std::int64_t>> renamed;
    renamed.reserve(written.new_ids.size());
    for (std::size_t i = 0; i < written.new_ids.size(); ++i)
        renamed.emplace_back(-static_cast<std::int64_t>(i) - 1, written.new_ids[i]);
    escalation_.assign_ids(renamed);
    staged_outbox_rows_ += written.outbox_rows;
}

void alarm_transaction::commit() {
    engine_.commit();
    escalation_.commit();
    for (const auto& labels : staged_raised_) raised_.add(labels);
    staged_raised_.clear();
    if (std::exchange(staged_outbox_rows_, 0) > 0 && wake_outbox_) wake_outbox_();
}

void alarm_transaction::rollback() {
    engine_.rollback();
    escalation_.rollback();
    staged_raised_.clear();
    staged_outbox_rows_ = 0;
}

void alarm_transaction::run(
    store::writer_connection& connection, alarm_model::changes ch, notification_model::escalation_output due
) {
    try {
        if (!ch.empty() || !due.empty())
            connection.transact([&](store::transaction_scope& tx) { write(tx, std::move(ch), std::move(due)); });
        commit();  // also when nothing was written: the engine may have staged state only it keeps
    } catch (...) {
        rollback();
        throw;
    }
}

void alarm_transaction::set_silences(std::vector<notification_model::silence> silences) {
    std::lock_guard lock(silences_mutex_);
    next_silences_ = std::move(silences);
    put_silences_.clear();
}

void alarm_transaction::put_silence(notification_model::silence s) {
    std::lock_guard lock(silences_mutex_);
    put_silences_.push_back(std::move(s));
}

void alarm_transaction::apply_silences() {
    std::lock_guard lock(silences_mutex_);
    if (next_silences_) {
        escalation_.set_silences(std::move(*next_silences_));
        next_silences_.reset();
    }
    for (const auto& s : put_silences_) escalation_.put_silence(s);
    put_silences_.clear();
}

}  // namespace cityguard::alarms
