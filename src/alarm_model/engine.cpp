#include "cityguard/alarm_model/engine.hpp"

#include <algorithm>
#include <cmath>

namespace cityguard::alarm_model {

using json = nlohmann::json;
using rules::level;
using rules::outcome;
using util::micros;

engine::engine(std::vector<rules::rule> rules, micros started_at) : rules_(std::move(rules)), started_at_(started_at) {}

const engine::rule_list& engine::rules_for(const sensor_facts& sensor) {
    // Cached per sensor and facts version: this runs for every reading.
    auto& cached = rules_by_sensor_[sensor.key];
    if (cached.first == sensor.version && cached.second) return *cached.second;
    std::string kind_key = sensor.domain + '\x1f' + sensor.kind;
    auto it = rules_by_kind_.find(kind_key);
    if (it == rules_by_kind_.end()) {
        rule_list list;
        // Offline rules first: a returning sensor is back online before its values are judged.
        for (std::uint32_t i = 0; i < rules_.size(); ++i)
            if (rules_[i].kind == rules::rule_kind::offline && rules_[i].applies_to(sensor.domain, sensor.kind))
                list.push_back(i);
        for (std::uint32_t i = 0; i < rules_.size(); ++i)
            if (rules_[i].kind != rules::rule_kind::offline && rules_[i].applies_to(sensor.domain, sensor.kind))
                list.push_back(i);
        it = rules_by_kind_.emplace(std::move(kind_key), std::move(list)).first;
    }
    cached = {sensor.version, &it->second};
    sensor_keys_[sensor.id] = sensor.key;
    return it->second;
}

std::optional<std::uint32_t> engine::rule_index(const std::string& id) const {
    for (std::uint32_t i = 0; i < rules_.size(); ++i)
        if (rules_[i].id == id) return i;
    return std::nullopt;
}

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
        staged_keys_.push_back(key);
    }
    return s;
}

micros engine::last_seen(std::int32_t sensor) const {
    if (auto it = staged_seen_.find(sensor); it != staged_seen_.end()) return it->second;
    if (auto it = last_seen_.find(sensor); it != last_seen_.end()) return it->second;
    return started_at_;
}

alarm& engine::touch(slot_key key, slot& s) {
    if (!s.undo.touched) {  // every touched slot was staged first, in this generation
        s.undo.touched = true;
        touched_.push_back(key);
    }
    return *s.open;
}

void engine::add_event(slot_key key, event e) { staged_events_[key].push_back(std::move(e)); }

void engine::record_state(
    const rules::rule& r, const std::string& sensor, const rules::persisted_fields& before, const slot& s
) {
    if (s.state.fields() == before) return;
    json after = s.state.persisted();
    auto it = std::find_if(staged_states_.begin(), staged_states_.end(), [&](const auto& w) {
        return w.rule == r.id && w.sensor == sensor;
    });
    if (it != staged_states_.end())
        it->state = std::move(after);
    else
        staged_states_.push_back({r.id, sensor, std::move(after)});
}

void engine::raise(
    const rules::rule& r,
    const sensor_facts& sensor,
    slot_key key,
    slot& s,
    level lvl,
    condition cond,
    double value,
    const std::string& note,
    micros ts,
    micros now
) {
    event e;
    e.at = now;
    e.reading_ts = ts;
    e.actor = r.id;
    e.lvl = lvl;
    e.value = value;
    e.note = note;
    if (s.open) {
        // The alarm of this (rule, sensor) is not closed yet: the same episode comes back.
        alarm& a = touch(key, s);
        a.cond = cond;
        a.lvl = lvl;
        if (rules::more_severe(lvl, a.peak)) a.peak = lvl;
        a.title = r.title(lvl);
        a.advice = r.advice.count(lvl) ? r.advice.at(lvl) : "";
        a.value = value;
        a.last_ts = ts;
        a.cleared_ts.reset();
        a.count += 1;
        e.type = "reactivated";
        add_event(key, std::move(e));
        return;
    }
    alarm a;
    a.rule = r.id;
    a.site = sensor.site;
    a.sensor = sensor.id;
    a.domain = sensor.domain;
    a.lvl = a.peak = lvl;
    a.cond = cond;
    a.state = status::open;
    a.title = r.title(lvl);
    a.advice = r.advice.count(lvl) ? r.advice.at(lvl) : "";
    a.value = a.peak_value = value;
    a.first_ts = a.last_ts = ts;
    a.opened_at = now;
    s.open = std::move(a);
    touch(key, s);
    new_alarm_keys_.push_back(key);
    e.type = "raised";
    add_event(key, std::move(e));
    auto& list = slots_of_sensor_[sensor.key];
    if (std::find(list.begin(), list.end(), key) == list.end()) list.push_back(key);
}

void engine::apply_outcome(
    const rules::rule& r, const sensor_facts& sensor, slot_key key, slot& s, const outcome& o, micros ts, micros now
) {
    auto make_event = [&](const char* type) {
        event e;
        e.type = type;
        e.at = now;
        e.reading_ts = ts;
        e.actor = r.id;
        if (o.what != outcome::change::cleared) e.lvl = o.lvl;
        e.value = o.value;
        e.note = o.note;
        return e;
    };
    auto track_peak = [&](alarm& a) {
        if (rules::more_severe(a.lvl, a.peak)) {
            a.peak = a.lvl;
            a.peak_value = o.value;
        } else if (a.lvl == a.peak && (!a.peak_value || std::abs(o.value) > std::abs(*a.peak_value))) {
            a.peak_value = o.value;
        }
    };
    switch (o.what) {
        case outcome::change::none:
            return;
        case outcome::change::raised:
        case outcome::change::review:
            raise(
                r,
                sensor,
                key,
                s,
                o.lvl,
                o.what == outcome::change::review ? condition::unknown : condition::active,
                o.value,
                o.note,
                ts,
                now
            );
            track_peak(*s.open);
            return;
        case outcome::change::escalated:
        case outcome::change::deescalated: {
            if (!s.open) {  // closed by an operator while the condition went on: a new episode
                raise(r, sensor, key, s, o.lvl, condition::active, o.value, o.note, ts, now);
                return;
            }
            alarm& a = touch(key, s);
            a.lvl = o.lvl;
            a.cond = condition::active;
            a.title = r.title(o.lvl);
            a.advice = r.advice.count(o.lvl) ? r.advice.at(o.lvl) : "";
            a.value = o.value;
            a.last_ts = ts;
            track_peak(a);
            add_event(key, make_event(o.what == outcome::change::escalated ? "escalated" : "deescalated"));
            return;
        }
        case outcome::change::cleared: {
            if (!s.open || s.open->cond == condition::cleared) return;
            alarm& a = touch(key, s);
            a.cond = condition::cleared;
            a.cleared_ts = ts;
            a.value = o.value;
            add_event(key, make_event("cleared"));
            return;
        }
        case outcome::change::repeated: {
            if (!s.open) return;
            alarm& a = touch(key, s);
            if (a.cond == condition::unknown && r.kind != rules::rule_kind::cumulative) {
                a.cond = condition::active;
                add_event(key, make_event("reactivated"));
            }
            a.value = o.value;
            a.last_ts = ts;
            if (r.kind == rules::rule_kind::event) a.count += 1;  // repeats of a detection only count
            track_peak(a);
            return;
        }
    }
}

void engine::set_unknown(std::int32_t sensor, slot_key except, micros now) {
    auto it = slots_of_sensor_.find(sensor);
    if (it == slots_of_sensor_.end()) return;
    for (const auto key : it->second) {
        if (key == except) continue;
        slot& s = stage(key);
        if (!s.open || s.open->cond != condition::active) continue;
        alarm& a = touch(key, s);
        a.cond = condition::unknown;
        event e;
        e.type = "unknown";
        e.at = now;
        e.actor = a.rule;
        e.lvl = a.lvl;
        e.note = "sensor offline: condition unknown";
        add_event(key, std::move(e));
    }
}

changes engine::evaluate(
    const std::vector<reading>& rows, const std::vector<bool>& inserted, const sensor_lookup& sensors, micros now
) {
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (!inserted[i]) continue;
        const reading& row = rows[i];
        const sensor_facts* sensor = sensors(row.sensor_key);
        if (!sensor) continue;
        if (row.ts > last_seen(sensor->key)) staged_seen_[sensor->key] = row.ts;
        for (const std::uint32_t ri : rules_for(*sensor)) {
            const rules::rule& r = rules_[ri];
            const slot_key key = key_of(ri, sensor->key);
            slot& s = stage(key);
            const auto before = s.state.fields();
            if (r.kind == rules::rule_kind::offline) {
                if (s.state.current) {
                    s.state.current.reset();
                    if (s.open && s.open->cond != condition::cleared) {
                        alarm& a = touch(key, s);
                        a.cond = condition::cleared;
                        a.cleared_ts = row.ts;
                        event e;
                        e.type = "cleared";
                        e.at = now;
                        e.reading_ts = row.ts;
                        e.actor = r.id;
                        e.value = row.value;
                        e.note = "sensor back online";
                        add_event(key, std::move(e));
                    }
                }
                record_state(r, sensor->id, before, s);
                continue;
            }
            if (s.state.last_ts && row.ts <= *s.state.last_ts) continue;  // late: stored, not evaluated
            if (s.levels_version != sensor->version) {
                s.levels = rules::resolve_levels(r, sensor->limits);
                s.levels_version = sensor->version;
            }
            const auto o = rules::evaluate(r, s.levels, sensor->limits, s.state, row.ts, row.value);
            apply_outcome(r, *sensor, key, s, o, row.ts, now);
            record_state(r, sensor->id, before, s);
        }
    }
    return take_staged_changes();
}

changes engine::tick(const std::vector<const sensor_facts*>& all_sensors, micros now) {
    for (const sensor_facts* sensor : all_sensors) {
        for (const std::uint32_t ri : rules_for(*sensor)) {
            const rules::rule& r = rules_[ri];
            const slot_key key = key_of(ri, sensor->key);
            if (r.kind == rules::rule_kind::offline) {
                const auto silent = now - last_seen(sensor->key);
                const auto allowed = static_cast<micros>(r.multiplier * sensor->interval_s * 1e6);
                auto existing = slots_.find(key);
                const bool offline_now = existing != slots_.end() && existing->second.state.current;
                if (silent <= allowed || offline_now) continue;
                slot& s = stage(key);
                const auto before = s.state.fields();
                s.state.current = r.offline_level;
                raise(
                    r,
                    *sensor,
                    key,
                    s,
                    r.offline_level,
                    condition::active,
                    static_cast<double>(silent) / 1e6,
                    "no reading for " + std::to_string(silent / 1'000'000) + " s (expected every " +
                        std::to_string(sensor->interval_s) + " s)",
                    now,
                    now
                );
                set_unknown(sensor->key, key, now);
                record_state(r, sensor->id, before, s);
            } else if (r.kind == rules::rule_kind::event && r.clear_after_s > 0) {
                auto existing = slots_.find(key);
                if (existing == slots_.end() || !existing->second.state.current) continue;
                slot& s = stage(key);
                const auto before = s.state.fields();
                const auto o = rules::expire(r, s.state, now);
                apply_outcome(r, *sensor, key, s, o, now, now);
                record_state(r, sensor->id, before, s);
            }
        }
    }
    return take_staged_changes();
}

std::variant<changes, refusal, engine::not_found> engine::act(
    std::int64_t alarm_id, const action_request& req, micros now
) {
    auto it = slot_of_alarm_.find(alarm_id);
    if (it == slot_of_alarm_.end()) return not_found{};
    const slot_key key = it->second;
    auto live = slots_.find(key);
    if (live == slots_.end() || !live->second.open) return not_found{};
    alarm copy = *live->second.open;
    auto result = apply(copy, req, now);
    if (auto* no = std::get_if<refusal>(&result)) return *no;
    slot& s = stage(key);
    const auto before = s.state.fields();
    *s.open = copy;
    touch(key, s);
    add_event(key, std::get<event>(result));
    if (copy.state == status::closed) {
        // A closed episode is over: whatever the sensor does next is judged afresh.
        s.state.current.reset();
        s.state.pending.reset();
        s.state.pending_since.reset();
        s.state.lower_since.reset();
        s.state.streak = 0;
        record_state(rules_[key >> 32], copy.sensor, before, s);
    }
    return take_staged_changes();
}

changes engine::take_staged_changes() {
    changes out;
    for (const auto key : touched_) out.alarms.push_back({*slots_.at(key).open, std::move(staged_events_[key])});
    out.states = std::move(staged_states_);
    touched_.clear();
    staged_events_.clear();
    staged_states_.clear();
    return out;
}

void engine::assign_ids(const std::vector<std::int64_t>& ids) {
    for (std::size_t i = 0; i < ids.size() && i < new_alarm_keys_.size(); ++i) {
        auto& s = slots_.at(new_alarm_keys_[i]);
        if (s.open) s.open->id = ids[i];
    }
}

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
    end_change_set();
}

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
        // Samples added by the dropped readings leave the window; ones it trimmed stay gone,
        // which only shortens the next rate's baseline a little.
        while (!s.state.window.empty() && (!last_ts || s.state.window.back().first > *last_ts))
            s.state.window.pop_back();
    }
    end_change_set();
}

void engine::end_change_set() {
    ++generation_;
    staged_keys_.clear();
    staged_seen_.clear();
    touched_.clear();
    staged_events_.clear();
    staged_states_.clear();
    new_alarm_keys_.clear();
}

void engine::restore_alarm(alarm a, const sensor_facts& sensor) {
    auto ri = rule_index(a.rule);
    if (!ri) return;
    const slot_key key = key_of(*ri, sensor.key);
    slot_of_alarm_[a.id] = key;
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
    for (const std::uint32_t ri : rules_for(sensor)) {
        auto& s = slots_[key_of(ri, sensor.key)];
        s.state.last_ts = ts;
        s.state.last_value = value;
    }
}

std::vector<alarm> engine::open_alarms() const {
    std::vector<alarm> out;
    for (const auto& [key, s] : slots_)
        if (s.open) out.push_back(*s.open);
    return out;
}

std::optional<alarm> engine::find(std::int64_t id) const {
    auto it = slot_of_alarm_.find(id);
    if (it == slot_of_alarm_.end()) return std::nullopt;
    auto s = slots_.find(it->second);
    if (s == slots_.end() || !s->second.open) return std::nullopt;
    return s->second.open;
}

}  // namespace cityguard::alarm_model
