#include "cityguard/alarm_model/engine.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace cityguard::alarm_model {

using json = nlohmann::json;
using rules::level;
using rules::outcome;
using util::micros;

namespace {

bool has_window(const rules::condition_node& n) {
    if (n.within_s > 0) return true;
    return std::any_of(n.children.begin(), n.children.end(), [](const auto& c) { return has_window(c); });
}

/// Whether a compound's answer can change with reading time alone (a delay or a look-back).
bool judged_over_time(const rules::rule& r) {
    return r.for_s > 0 || r.clear_for_s > 0 || (r.when && has_window(*r.when));
}

}  // namespace

// The engine's entry points: readings, time and operators. How an outcome changes a slot's
// alarm is in engine_transitions.cpp; change sets (stage, commit, rollback) and the start-up
// restore in engine_staging.cpp.

engine::engine(std::vector<rules::rule> rules, micros started_at) : rules_(std::move(rules)), started_at_(started_at) {
    index_rules();
}

// Rule ids to indices once per (re)load: every slot is keyed by rule index, not by id text.
void engine::index_rules() {
    rule_ids_.clear();
    compound_order_.clear();
    for (std::uint32_t i = 0; i < rules_.size(); ++i) rule_ids_.emplace(rules_[i].id, i);
    // Compounds that read other compounds' alarms come after them (the packs have no cycles).
    std::function<int(std::uint32_t)> depth = [&](std::uint32_t i) {
        int d = 0;
        for (const auto& id : rules_[i].member_rules)
            if (auto m = rule_index(id); m && rules_[*m].kind == rules::rule_kind::compound)
                d = std::max(d, 1 + depth(*m));
        return d;
    };
    for (std::uint32_t i = 0; i < rules_.size(); ++i)
        if (rules_[i].kind == rules::rule_kind::compound && !rules_[i].retired) compound_order_.push_back(i);
    std::stable_sort(compound_order_.begin(), compound_order_.end(), [&](auto a, auto b) {
        return depth(a) < depth(b);
    });
}

const engine::rule_list& engine::rules_for(const sensor_facts& sensor) { return *rules_of(sensor).rules; }

const engine::sensor_rules& engine::rules_of(const sensor_facts& sensor) {
    // Cached per sensor and facts version, both lists in one entry: this runs for every reading.
    auto& cached = rules_by_sensor_[sensor.key];
    if (cached.version == sensor.version && cached.rules) return cached;
    const std::string kind_key = sensor.domain + '\x1f' + sensor.kind;
    auto it = rules_by_kind_.find(kind_key);
    if (it == rules_by_kind_.end()) {
        rule_list list;
        // Offline rules first: a returning sensor is back online before its values are judged.
        // Fault rules next: a bad reading must be known as bad before process rules see it.
        auto add = [&](auto wanted) {
            for (std::uint32_t i = 0; i < rules_.size(); ++i)
                if (wanted(rules_[i].kind) && rules_[i].applies_to(sensor.domain, sensor.kind)) list.push_back(i);
        };
        add([](rules::rule_kind k) { return k == rules::rule_kind::offline; });
        add([](rules::rule_kind k) { return k == rules::rule_kind::fault; });
        add([](rules::rule_kind k) {
            return k != rules::rule_kind::offline && k != rules::rule_kind::fault && k != rules::rule_kind::compound;
        });
        it = rules_by_kind_.emplace(kind_key, std::move(list)).first;
    }
    auto compounds = compounds_by_kind_.find(kind_key);
    if (compounds == compounds_by_kind_.end()) {
        // A compound changes when a sensor it names reports (its value), or when an alarm it
        // reads changes; the second only needs evaluating when the reading moved an alarm.
        enum class trigger { none, alarm, value };
        std::function<trigger(const rules::rule&)> triggered = [&](const rules::rule& c) {
            if (c.domain != sensor.domain) return trigger::none;
            if (std::find(c.kinds.begin(), c.kinds.end(), sensor.kind) != c.kinds.end()) return trigger::value;
            trigger best = trigger::none;
            for (const auto& id : c.member_rules) {
                auto m = rule_index(id);
                if (!m) continue;
                const rules::rule& mr = rules_[*m];
                const trigger t = mr.kind == rules::rule_kind::compound       ? triggered(mr)
                                  : mr.applies_to(sensor.domain, sensor.kind) ? trigger::alarm
                                                                              : trigger::none;
                best = std::max(best, t);
            }
            return best;
        };
        compound_lists lists;
        for (const auto ci : compound_order_) {
            const trigger t = triggered(rules_[ci]);
            if (t != trigger::none) lists.all.push_back(ci);
            if (t == trigger::value) lists.by_value.push_back(ci);
            // A compound with an on- or off-delay or a look-back window changes as reading time
            // passes: while its delay runs, a reading that touches it judges it again, in that
            // reading's time, or the delay would complete only on server ticks.
            if (t == trigger::alarm && judged_over_time(rules_[ci])) lists.by_time.push_back(ci);
            if (t != trigger::none && rules_[ci].per_group) lists.any_per_group = true;
        }
        compounds = compounds_by_kind_.emplace(kind_key, std::move(lists)).first;
    }
    cached = {
        sensor.version,
        &it->second,
        &compounds->second.all,
        &compounds->second.by_value,
        &compounds->second.by_time,
        compounds->second.any_per_group};
    sensor_keys_[sensor.id] = sensor.key;
    place_sensor(sensor);
    return cached;
}

void engine::site_info::put(std::int32_t key, member_sensor member) {
    remove(key);
    by_kind[member.kind].push_back(key);
    sensors[key] = std::move(member);
}

void engine::site_info::remove(std::int32_t key) {
    const auto it = sensors.find(key);
    if (it == sensors.end()) return;
    if (auto list = by_kind.find(it->second.kind); list != by_kind.end()) {
        std::erase(list->second, key);
        if (list->second.empty()) by_kind.erase(list);
    }
    sensors.erase(it);
}

// Called when a sensor's facts change version (registry update): its site's and groups' member
// lists follow, so a compound never reads a sensor that moved away.
void engine::place_sensor(const sensor_facts& sensor) {
    // Compound rules read a site's sensors: keep each site's list current (a sensor may move,
    // join a group or leave one).
    std::optional<std::pair<double, double>> position;
    if (sensor.lat && sensor.lon) position = std::pair{*sensor.lat, *sensor.lon};
    const site_info::member_sensor member{sensor.id, sensor.kind, position, sensor.groups};
    if (auto old = site_of_sensor_.find(sensor.key); old != site_of_sensor_.end() && old->second != sensor.site)
        if (auto s = sites_.find(old->second); s != sites_.end()) s->second.remove(sensor.key);
    site_of_sensor_[sensor.key] = sensor.site;
    site_named(sensor.site, sensor.domain).put(sensor.key, member);
    auto& groups = groups_of_sensor_[sensor.key];
    for (const auto& left : groups)
        if (auto s = sites_.find(left); s != sites_.end()) s->second.remove(sensor.key);
    groups.clear();
    for (const auto& g : sensor.groups) {
        site_info& group = site_named(group_site(g), sensor.domain);
        group.put(sensor.key, member);
        groups.push_back(group.map_key);
    }
    if (groups.empty()) groups_of_sensor_.erase(sensor.key);
}

std::optional<std::uint32_t> engine::rule_index(const std::string& id) const {
    auto it = rule_ids_.find(id);
    if (it == rule_ids_.end()) return std::nullopt;
    return it->second;
}

// Staged first: a reading earlier in this batch counts before it commits, so one batch cannot
// both deliver a reading and raise the sensor offline.
micros engine::last_seen(std::int32_t sensor) const {
    if (auto it = staged_seen_.find(sensor); it != staged_seen_.end()) return it->second;
    if (auto it = last_seen_.find(sensor); it != last_seen_.end()) return it->second;
    return started_at_;
}

// One batch, in (sensor, ts) order: per reading the offline, fault and process rules of its
// sensor, then the compounds it can change. Duplicates (inserted false) are not judged twice.
changes engine::evaluate(
    const std::vector<reading>& rows, const std::vector<bool>& inserted, const sensor_lookup& sensors, micros now
) {
    // In reading time across sensors: a gateway's buffered upload (grounding in fault, then the
    // video of the unloading, each sensor's rows in a run) is judged in the order it happened,
    // so a compound's on-delay completes on the reading that ends it. Each sensor's own rows
    // keep their order (the writer sorts by sensor, then time).
    std::vector<std::uint32_t> order(rows.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    const bool in_time =
        std::is_sorted(rows.begin(), rows.end(), [](const reading& a, const reading& b) { return a.ts < b.ts; });
    if (!in_time)
        std::stable_sort(order.begin(), order.end(), [&rows](std::uint32_t a, std::uint32_t b) {
            return rows[a].ts < rows[b].ts;
        });
    for (const std::uint32_t i : order) {
        if (!inserted[i]) continue;
        const reading& row = rows[i];
        const sensor_facts* sensor = sensors(row.sensor_key);
        if (!sensor) continue;
        if (row.ts > last_seen(sensor->key)) staged_seen_[sensor->key] = row.ts;
        bool in_fault = false;  // set by the fault rules, which come before the process rules
        const sensor_rules& applicable = rules_of(*sensor);
        const auto events_before = events_added_;
        for (const std::uint32_t ri : *applicable.rules) {
            const rules::rule& r = rules_[ri];
            const slot_key key = key_of(ri, sensor->key);
            // Staging is the engine's main cost per reading, and most readings change nothing for
            // an offline rule (the sensor is online) or a range-only fault rule (the value is
            // plausible): those skip it unless the slot is raised or pending.
            if (r.kind == rules::rule_kind::offline ||
                (r.kind == rules::rule_kind::fault && rules::plausible_by_range(r, sensor->limits, row.value))) {
                auto it = slots_.find(key);
                if (it == slots_.end() || (!it->second.state.current && !it->second.state.pending)) continue;
            }
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
            if (r.kind == rules::rule_kind::fault) {
                const bool was_in_fault = s.state.current.has_value();
                const auto o = rules::evaluate(r, {}, sensor->limits, s.state, row.ts, row.value);
                apply_outcome(r, *sensor, key, s, o, row.ts, now);
                record_state(r, sensor->id, before, s);
                // A faulty sensor's process alarms cannot be confirmed nor cleared by it.
                if (!was_in_fault && s.state.current)
                    set_unknown(sensor->key, key, now, "sensor fault: condition unknown");
                in_fault = in_fault || o.bad_reading || s.state.current.has_value();
                continue;
            }
            if (in_fault) continue;  // stored, but a bad reading drives no process rule
            if (s.levels_version != sensor->version) {
                s.levels = rules::resolve_levels(r, sensor->limits);
                s.levels_version = sensor->version;
            }
            const auto o = rules::evaluate(r, s.levels, sensor->limits, s.state, row.ts, row.value);
            apply_outcome(r, *sensor, key, s, o, row.ts, now);
            record_state(r, sensor->id, before, s);
        }
        // Compounds that read this sensor's alarms change only when the reading moved one (an
        // event), or with reading time while their delay runs. A site of 1000 wells must not
        // count them per reading.
        site_info& site = site_named(sensor->site, sensor->domain);
        const rule_list* due = applicable.compounds;
        if (events_added_ == events_before) {
            due = applicable.compounds_by_value;
            if (!applicable.compounds_by_time->empty()) {
                std::vector<const site_info*> sites{&site};
                if (applicable.any_per_group)
                    if (auto groups = groups_of_sensor_.find(sensor->key); groups != groups_of_sensor_.end())
                        for (const auto& map_key : groups->second) sites.push_back(&sites_.at(map_key));
                due = &compounds_due(applicable, sites);
            }
        }
        const rule_list& compounds = *due;
        if (compounds.empty()) continue;
        // What compounds read of a sensor is its last good reading.
        const auto known = latest(sensor->key);
        if (!in_fault && std::isfinite(row.value) && (!known || row.ts >= known->second))
            staged_latest_[sensor->key] = {row.value, row.ts};
        evaluate_site(site, compounds, row.ts, now);
        if (applicable.any_per_group)  // the groups' pseudo-sites, as place_sensor() keyed them
            if (auto groups = groups_of_sensor_.find(sensor->key); groups != groups_of_sensor_.end())
                for (const auto& map_key : groups->second) evaluate_site(sites_.at(map_key), compounds, row.ts, now);
    }
    return take_staged_changes();
}

const engine::rule_list& engine::compounds_due(
    const sensor_rules& applicable, const std::vector<const site_info*>& sites
) {
    due_scratch_.clear();
    const auto& by_value = *applicable.compounds_by_value;
    const auto& by_time = *applicable.compounds_by_time;
    for (const std::uint32_t ci : *applicable.compounds) {
        bool wanted = std::find(by_value.begin(), by_value.end(), ci) != by_value.end();
        if (!wanted && std::find(by_time.begin(), by_time.end(), ci) != by_time.end())
            for (const site_info* site : sites) {
                auto it = slots_.find(key_of(ci, site->key));
                if (it != slots_.end() && (it->second.state.pending || it->second.state.current)) {
                    wanted = true;
                    break;
                }
            }
        if (wanted) due_scratch_.push_back(ci);
    }
    return due_scratch_;
}

// What time alone changes: a sensor silent for multiplier × interval goes offline, an event
// alarm whose detections stopped expires, and compounds with windows are judged again.
changes engine::tick(const std::vector<const sensor_facts*>& all_sensors, micros now) {
    // Every sensor every tick: a city's hundred thousand sensors cost a lookup each, and the
    // slot table is searched only for the few that are silent or have an event rule.
    for (const sensor_facts* sensor : all_sensors) {
        std::optional<micros> silent;  // looked up once per sensor, when an offline rule asks
        for (const std::uint32_t ri : rules_for(*sensor)) {
            const rules::rule& r = rules_[ri];
            const slot_key key = key_of(ri, sensor->key);
            if (r.kind == rules::rule_kind::offline) {
                if (!silent) silent = now - last_seen(sensor->key);
                const auto allowed = static_cast<micros>(r.multiplier * sensor->interval_s * 1e6);
                if (*silent <= allowed) continue;
                auto existing = slots_.find(key);
                if (existing != slots_.end() && existing->second.state.current) continue;  // offline already
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
                    static_cast<double>(*silent) / 1e6,
                    "no reading for " + std::to_string(*silent / 1'000'000) + " s (expected every " +
                        std::to_string(sensor->interval_s) + " s)",
                    now,
                    now
                );
                set_unknown(sensor->key, key, now, "sensor offline: condition unknown");
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
    tick_compounds(now);
    return take_staged_changes();
}

void engine::tick_compounds(micros now) {
    // Compounds hold and expire with time ("within", on-delays, event alarms that expired).
    for (std::size_t i = 0; i < compound_slots_.size(); ++i) {
        const slot_key key = compound_slots_[i];
        if (!slots_.count(key)) continue;
        const auto site_key = static_cast<std::int32_t>(key & 0xffffffffULL);
        auto site = site_by_key_.find(site_key);
        if (site == site_by_key_.end()) continue;
        const rule_list one{static_cast<std::uint32_t>(key >> 32)};
        site_info& s = sites_.at(site->second);
        const micros at = s.server_clock ? s.reading_clock + (now - s.server_clock) : now;
        evaluate_site(s, one, at, now);
    }
}

// A person's action goes through the same staging as a rule's change: it commits with its event
// or not at all, in order with the readings around it.
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
        record_state(rules_[key >> 32], copy.sensor.empty() ? site_subject(copy.site) : copy.sensor, before, s);
    }
    // A closed group alarm no longer holds its members; an acknowledged one still does.
    if (copy.sensor.empty())
        if (auto site = site_by_key_.find(static_cast<std::int32_t>(key & 0xffffffffULL)); site != site_by_key_.end())
            mark_members(s, sites_.at(site->second), now);
    return take_staged_changes();
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
