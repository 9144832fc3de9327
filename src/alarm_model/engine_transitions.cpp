#include <algorithm>
#include <cmath>

#include "cityguard/alarm_model/engine.hpp"

namespace cityguard::alarm_model {

using json = nlohmann::json;
using rules::level;
using rules::outcome;
using util::micros;

namespace {
// A gateway on a live link delivers within seconds; readings this far behind the server's clock
// came from a buffer (an outage, a back-fill), and an alarm they raise says so.
constexpr micros kLateRaise = 30 * util::kMicrosPerSecond;
}  // namespace

// How one rule outcome changes the alarm of its (rule, sensor) slot: raising, escalating,
// clearing, reactivating, and the events each of those records.

alarm& engine::touch(slot_key key, slot& s) {
    if (!s.undo.touched) {  // every touched slot was staged first, in this generation
        s.undo.touched = true;
        touched_.push_back(key);
    }
    return *s.open;
}

// The count lets evaluate() tell whether a reading moved any alarm (and so which compounds to run).
void engine::add_event(slot_key key, event e) {
    staged_events_[key].push_back(std::move(e));
    ++events_added_;
}

void engine::record_state(
    const rules::rule& r, const std::string& sensor, const rules::persisted_fields& before, const slot& s
) {
    // Only what a restart would need (pending-since times, counters) is written, and only when
    // it changed: most readings change nothing, and a row per reading would double the writes.
    if (s.state.fields() == before) return;
    json after = s.state.persisted();
    auto it = std::find_if(staged_states_.begin(), staged_states_.end(), [&](const auto& w) {
        return w.rule == r.id && w.sensor == sensor;
    });
    // One row per (rule, sensor) per change set: a batch may touch the same slot many times.
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
    // Raised from readings that arrived late (a gateway's buffer after an outage): judged in
    // reading time, and marked so the operator knows the incident is older than the alarm.
    if (now - ts > kLateRaise) {
        const auto late_s = (now - ts) / util::kMicrosPerSecond;
        e.note = (e.note.empty() ? "" : e.note + "; ") + "late: readings " + std::to_string(late_s) + " s old";
    }
    if (s.open) {
        // The alarm of this (rule, sensor) is not closed yet: the same episode comes back.
        alarm& a = touch(key, s);
        a.cond = cond;
        a.lvl = lvl;
        if (rules::more_severe(lvl, a.peak)) a.peak = lvl;
        a.title = r.title(lvl);
        a.advice = r.advice_at(lvl);
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
    a.cat = category_of(r);
    a.site = sensor.site;
    a.sensor = sensor.id;
    a.domain = sensor.domain;
    a.lvl = a.peak = lvl;
    a.cond = cond;
    a.state = status::open;
    a.title = r.title(lvl);
    a.advice = r.advice_at(lvl);
    a.value = a.peak_value = value;
    a.first_ts = a.last_ts = ts;
    a.opened_at = now;
    s.open = std::move(a);
    touch(key, s);
    new_alarm_keys_.push_back(key);  // its id comes from the INSERT, via assign_ids()
    e.type = "raised";
    add_event(key, std::move(e));
    // set_unknown() finds a sensor's alarms through this list when the sensor goes offline.
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
    // The peak is what the command center reports afterwards ("reached red at 38 %LEL"), so
    // it keeps the most severe level and, at that level, the value furthest from zero.
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
            a.advice = r.advice_at(o.lvl);
            a.value = o.value;
            a.last_ts = ts;
            track_peak(a);
            add_event(key, make_event(o.what == outcome::change::escalated ? "escalated" : "deescalated"));
            return;
        }
        case outcome::change::cleared: {
            // Clearing never closes: a person confirms the site is safe (DOMAIN.md, lifecycle).
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
            // Back from offline and still beyond the limit: active again. A cumulative rule's
            // repeat is a day total, not proof the sensor is back, so it does not reactivate.
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

// An offline or faulty sensor cannot confirm its alarms still hold, nor that they cleared: they
// become "unknown" rather than silently staying active (Alertmanager's stale-alert gap,
// ANCHORS.md). Only process alarms: the device alarms (offline, fault) are what is known.
void engine::set_unknown(std::int32_t sensor, slot_key except, micros now, const char* note) {
    auto it = slots_of_sensor_.find(sensor);
    if (it == slots_of_sensor_.end()) return;
    for (const auto key : it->second) {
        if (key == except || category_of(rules_[key >> 32]) != category::process) continue;
        slot& s = stage(key);
        if (s.open && s.open->cond == condition::active) mark_unknown(key, s, now, note);
    }
}

// An alarm whose sensor cannot be trusted (offline, in fault) is neither active nor cleared: it
// says so, rather than letting silence read as "all clear".
void engine::mark_unknown(slot_key key, slot& s, micros now, const char* note) {
    alarm& a = touch(key, s);
    a.cond = condition::unknown;
    event e;
    e.type = "unknown";
    e.at = now;
    e.actor = a.rule;
    e.lvl = a.lvl;
    e.note = note;
    add_event(key, std::move(e));
}

}  // namespace cityguard::alarm_model
