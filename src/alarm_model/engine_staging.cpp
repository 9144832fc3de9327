#include <algorithm>
#include <cmath>

#include "cityguard/alarm_model/engine.hpp"

namespace cityguard::alarm_model {

using json = nlohmann::json;
using rules::level;
using rules::outcome;
using util::micros;

// Change sets: every mutation stages its slot first (saving what rollback() restores), so the
// engine's memory never runs ahead of the database; commit() makes a set current once the
// store committed it. Also the start-up restore, which bypasses staging: it is the database.

engine::slot& engine::stage(slot_key key) {
    auto [it, created] = slots_.try_emplace(key);
    slot& s = it->second;
    if (s.generation != generation_) {
        s.generation = generation_;
        s.undo.existed = !created;
        s.undo.fields = s.state.fields();
        s.undo.last_ts = s.state.last_ts;
        s.undo.last_value = s.state.last_value;
        s.undo.open = s.open;
        s.undo.touched = false;
        s.undo.memory = s.memory;
        s.undo.filling = s.state.filling;
        staged_keys_.push_back(key);
    }
    return s;
}

// Hands the store exactly what changed in this change set: each touched alarm once (as it is
// now) with its events in order, and the rule states that moved.
changes engine::take_staged_changes() {
    changes out;
    for (const auto key : touched_) out.alarms.push_back({*slots_.at(key).open, std::move(staged_events_[key])});
    out.states = std::move(staged_states_);
    touched_.clear();
    staged_events_.clear();
    staged_states_.clear();
    return out;
}

// New alarms are staged without an id; the database's ids arrive in the order they were staged.
void engine::assign_ids(const std::vector<std::int64_t>& ids) {
    for (std::size_t i = 0; i < ids.size() && i < new_alarm_keys_.size(); ++i) {
        auto& s = slots_.at(new_alarm_keys_[i]);
        if (s.open) s.open->id = ids[i];
    }
}

// The database committed: staged slots become current, and closed alarms leave memory (the
// database keeps them; the engine holds only what rules or people may still change).
void engine::commit() {
    for (const auto key : staged_keys_) {
        slot& s = slots_.at(key);
        s.undo.open.reset();
        if (!s.open) continue;
        if (s.open->state == status::closed) {
            slot_of_alarm_.erase(s.open->id);
            s.open.reset();  // the database keeps closed alarms
        } else if (s.open->id != 0) {
            slot_of_alarm_[s.open->id] = key;
        }
    }
    for (auto& [sensor, ts] : staged_seen_) last_seen_[sensor] = ts;
    for (auto& [sensor, reading] : staged_latest_) latest_[sensor] = reading;
    end_change_set();
}

// The database did not commit: every staged slot returns to its before-image, so memory again
// says what the database says.
void engine::rollback() {
    for (const auto key : staged_keys_) {
        auto it = slots_.find(key);
        if (it == slots_.end()) continue;
        slot& s = it->second;
        if (!s.undo.existed) {
            slots_.erase(it);
            continue;
        }
        s.state.restore(s.undo.fields);
        const auto last_ts = s.undo.last_ts;
        s.state.last_ts = last_ts;
        s.state.last_value = s.undo.last_value;
        s.open = std::move(s.undo.open);
        s.memory = std::move(s.undo.memory);
        // Samples added by the dropped readings leave the window; ones it trimmed stay gone,
        // which only shortens the next rate's baseline a little.
        while (!s.state.window.empty() && (!last_ts || s.state.window.back().first > *last_ts))
            s.state.window.pop_back();
        // Buckets the dropped readings closed reopen as they were.
        const auto series_end = s.undo.fields.series_end;
        while (!s.state.series.empty() && (!series_end || s.state.series.back().first > *series_end))
            s.state.series.pop_back();
        s.state.filling = s.undo.filling;
        s.state.series_stat_fresh = false;
    }
    end_change_set();
}

void engine::end_change_set() {
    ++generation_;
    staged_keys_.clear();
    staged_seen_.clear();
    staged_latest_.clear();
    touched_.clear();
    staged_events_.clear();
    staged_states_.clear();
    new_alarm_keys_.clear();
}

// Start-up: the database is the truth, so restoring bypasses staging.
void engine::restore_alarm(alarm a, const sensor_facts& sensor) {
    const slot_key key = key_of(rule_index_or_retired(a.rule, a.domain), sensor.key);
    slot_of_alarm_[a.id] = key;
    if (a.inhibited_by) marked_by_[*a.inhibited_by].push_back(a.id);
    auto& list = slots_of_sensor_[sensor.key];
    if (std::find(list.begin(), list.end(), key) == list.end()) list.push_back(key);
    slots_[key].open = std::move(a);
}

void engine::restore_state(const std::string& rule, const sensor_facts& sensor, const json& persisted) {
    auto ri = rule_index(rule);
    if (!ri) return;
    auto& s = slots_[key_of(*ri, sensor.key)];
    const auto last_ts = s.state.last_ts;
    s.state = rules::eval_state::from_persisted(persisted);
    s.state.last_ts = last_ts;
}

void engine::restore_last_reading(const sensor_facts& sensor, micros ts, double value) {
    // Silence counts from the server's start at the earliest: during an outage gateways could
    // not deliver, and raising every short-interval sensor offline at start-up would bury the
    // board under blue alarms each time the server restarts.
    auto& seen = last_seen_[sensor.key];
    seen = std::max({seen, ts, started_at_});
    latest_[sensor.key] = {value, ts};
    for (const std::uint32_t ri : rules_for(sensor)) {
        auto& s = slots_[key_of(ri, sensor.key)];
        s.state.last_ts = ts;
        s.state.last_value = value;
    }
}

// How much stored history the sensor's rules need after a restart: the longest window, sampled
// at the finest step any of them keeps.
rules::history_need engine::history_needed(const sensor_facts& sensor) {
    rules::history_need need;
    for (const std::uint32_t ri : rules_for(sensor)) {
        const auto one = rules::history_needed(rules_[ri], sensor.interval_s);
        if (one.span == 0) continue;
        need.span = std::max(need.span, one.span);
        need.step = need.step == 0 ? one.step : std::min(need.step, one.step);
    }
    return need;
}

void engine::restore_history(const sensor_facts& sensor, const std::vector<std::pair<micros, double>>& readings) {
    for (const std::uint32_t ri : rules_for(sensor)) {
        const rules::rule& r = rules_[ri];
        if (rules::history_needed(r, sensor.interval_s).span == 0) continue;
        auto& s = slots_[key_of(ri, sensor.key)];
        for (const auto& [ts, value] : readings) rules::remember(r, sensor.limits, s.state, ts, value);
    }
}

}  // namespace cityguard::alarm_model
