#include <algorithm>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "cityguard/alarm_model/engine.hpp"

namespace cityguard::alarm_model {

using rules::level;
using util::micros;

// Compound rules (R12): a condition over the sensors and alarms of one site. Its alarm belongs
// to the site, in a slot keyed by the site's own (negative) key; it is re-evaluated after each
// reading that may change it and on every tick.

engine::site_info& engine::site_named(const std::string& id, const std::string& domain) {
    // A site has one domain; a group name may be used in several, and each domain's rules count
    // only their own sensors, so a group is a pseudo-site per domain. (Site ids have no ':'.)
    const bool is_group = id.starts_with(group_site(""));
    std::string map_key = is_group ? id + '\x1f' + domain : id;
    auto [it, created] = sites_.try_emplace(map_key);
    if (created) {
        it->second.id = id;
        it->second.map_key = std::move(map_key);
        it->second.is_group = is_group;
        it->second.key = -static_cast<std::int32_t>(sites_.size());  // sensor keys are positive
        site_by_key_[it->second.key] = it->second.map_key;
    }
    it->second.domain = domain;
    return it->second;
}

std::optional<std::pair<double, micros>> engine::latest(std::int32_t sensor) const {
    if (auto it = staged_latest_.find(sensor); it != staged_latest_.end()) return it->second;
    if (auto it = latest_.find(sensor); it != latest_.end()) return it->second;
    return std::nullopt;
}

rules::site_facts engine::facts_of(const site_info& site) const {
    rules::site_facts f;
    f.sensors = [this, &site](const std::string& kind, const std::function<void(const std::string&, double)>& each) {
        const auto list = site.by_kind.find(kind);
        if (list == site.by_kind.end()) return;
        for (const std::int32_t key : list->second)
            if (auto l = latest(key)) each(site.sensors.at(key).id, l->first);
    };
    f.alarms = [this, &site](const std::string& rule, const std::function<void(const rules::member&)>& each) {
        auto ri = rule_index(rule);
        if (!ri) return;
        auto visit = [&](slot_key key) {
            auto it = slots_.find(key);
            if (it == slots_.end() || !it->second.open || it->second.open->cond != condition::active) return;
            const alarm& a = *it->second.open;
            each({a.sensor, a.rule, a.id, a.lvl});
        };
        if (rules_[*ri].kind == rules::rule_kind::compound) {
            visit(key_of(*ri, site.key));
            return;
        }
        // Only the site's sensors of the kinds the rule judges can hold its alarms.
        const auto& patterns = rules_[*ri].kinds;
        for (const auto& entry : site.by_kind) {
            const std::string& kind = entry.first;  // named: clang 15 cannot capture a structured binding
            if (std::any_of(patterns.begin(), patterns.end(), [&kind](const std::string& pattern) {
                    return rules::kind_matches(pattern, kind);
                }))
                for (const std::int32_t key : entry.second) visit(key_of(*ri, key));
        }
    };
    // Compound nodes ask for positions and groups pair by pair of member alarms: a lookup by id,
    // built on first use, keeps an incident of hundreds of alarms at a large site from costing a
    // scan of its sensors per pair (which held the writer thread for seconds per tick).
    struct by_id {
        const site_info& site;
        std::unordered_map<std::string_view, const site_info::member_sensor*> map;
        const site_info::member_sensor* find(const std::string& id) {
            if (map.empty() && !site.sensors.empty()) {
                map.reserve(site.sensors.size());
                for (const auto& [key, s] : site.sensors) map.emplace(s.id, &s);
            }
            auto it = map.find(id);
            return it == map.end() ? nullptr : it->second;
        }
    };
    auto lookup = std::make_shared<by_id>(by_id{site, {}});
    f.position = [lookup](const std::string& sensor) -> std::optional<std::pair<double, double>> {
        const auto* s = lookup->find(sensor);
        return s ? s->position : std::nullopt;
    };
    f.groups = [lookup](const std::string& sensor) -> const std::vector<std::string>* {
        const auto* s = lookup->find(sensor);
        return s ? &s->groups : nullptr;
    };
    return f;
}

void engine::evaluate_site(site_info& site, const rule_list& compounds, micros at, micros now) {
    if (at >= site.reading_clock) {
        site.reading_clock = at;
        site.server_clock = now;
    }
    const rules::site_facts facts = facts_of(site);
    for (const std::uint32_t ci : compounds) {
        const rules::rule& r = rules_[ci];
        if (r.domain != site.domain || r.per_group != site.is_group || r.retired) continue;
        const slot_key key = key_of(ci, site.key);
        const bool known = slots_.count(key) > 0;
        slot& s = stage(key);
        if (!known) compound_slots_.push_back(key);
        const auto before = s.state.fields();
        const auto result = rules::evaluate_condition(*r.when, facts, s.memory, at);
        const micros t = *s.memory.last_at;  // never earlier than the last evaluation
        std::optional<level> target;
        if (result.holds) {
            target = r.compound_level;
            if (r.one_above_members) {
                // One level above the most severe member alarm: red stays red.
                std::optional<level> worst;
                for (const auto& m : result.members)
                    if (m.lvl && (!worst || rules::more_severe(*m.lvl, *worst))) worst = m.lvl;
                target = !worst                 ? level::yellow
                         : *worst == level::red ? level::red
                                                : static_cast<level>(static_cast<int>(*worst) - 1);
            }
        }
        const auto o = rules::settle_level(r, s.state, target, t);
        const sensor_facts subject{"", site.key, site.id, site.domain, "", 0, nlohmann::json::object(), 0};
        apply_outcome(r, subject, key, s, o, t, now);
        // The members are what made it true: kept current while it holds, kept as they were
        // when it stops holding.
        if (s.open && result.holds && s.open->members != result.members) touch(key, s).members = result.members;
        mark_members(s, site, now);
        record_state(r, site_subject(site.id), before, s);
    }
}

// Whether a group alarm still counts as the incident its members belong to.
bool engine::holds_members(std::int64_t group) const {
    auto it = slot_of_alarm_.find(group);
    if (it == slot_of_alarm_.end()) return false;
    auto live = slots_.find(it->second);
    if (live == slots_.end() || !live->second.open) return false;
    const alarm& g = *live->second.open;
    return g.id == group && g.cond == condition::active && g.state != status::closed;
}

std::vector<std::int64_t> engine::member_alarms(const alarm& group, const site_info& site) const {
    std::vector<std::int64_t> ids;
    for (const auto& m : group.members) {
        if (m.alarm != 0) {
            ids.push_back(m.alarm);
            continue;
        }
        if (m.sensor.empty() || !m.rule.empty()) continue;
        // A sensor the condition read by value: its process alarms are the same incident (the
        // grounding monitor's own alarm under "unloading without grounding").
        for (const auto& [key, info] : site.sensors) {
            if (info.id != m.sensor) continue;
            auto list = slots_of_sensor_.find(key);
            if (list == slots_of_sensor_.end()) break;
            for (const slot_key sk : list->second) {
                auto it = slots_.find(sk);
                if (it == slots_.end() || !it->second.open) continue;
                const alarm& a = *it->second.open;
                if (a.id != 0 && a.cat == category::process && a.cond == condition::active) ids.push_back(a.id);
            }
            break;
        }
    }
    return ids;
}

void engine::mark_members(slot& group, const site_info& site, micros now) {
    if (!group.open || group.open->id == 0) return;  // a new group alarm marks from its next evaluation, with its id
    const alarm& g = *group.open;
    const std::int64_t gid = g.id;
    const bool holds = g.cond == condition::active && g.state != status::closed;
    const auto members = holds ? member_alarms(g, site) : std::vector<std::int64_t>{};
    auto mark = [&](std::int64_t member, bool on) {
        auto it = slot_of_alarm_.find(member);
        if (it == slot_of_alarm_.end()) return false;
        const slot_key key = it->second;
        auto live = slots_.find(key);
        if (live == slots_.end() || !live->second.open || live->second.open->id != member) return false;
        const auto& by = live->second.open->inhibited_by;
        const bool marked = by == gid;
        if (marked == on) return marked;
        // Two groups containing one alarm (a site compound and a named group's): the first that
        // marked it keeps it while it holds, or each evaluation would move it back and forth.
        if (on && by && holds_members(*by)) return false;
        slot& s = stage(key);  // only for a change: most evaluations of a holding group change nothing
        alarm& a = touch(key, s);
        if (on)
            a.inhibited_by = gid;
        else
            a.inhibited_by.reset();
        event e;
        e.type = on ? "inhibited" : "released";
        e.at = now;
        e.actor = g.rule;
        e.lvl = a.lvl;
        e.note = (on ? "part of alarm #" : "no longer part of alarm #") + std::to_string(gid) + " (" + g.title.en + ")";
        add_event(key, std::move(e));
        return on;
    };
    auto& marked = marked_by_[gid];
    for (const auto id : members)
        if (mark(id, true) && std::find(marked.begin(), marked.end(), id) == marked.end()) marked.push_back(id);
    std::erase_if(marked, [&](std::int64_t member) {
        return !mark(member, std::find(members.begin(), members.end(), member) != members.end());
    });
    if (marked.empty()) marked_by_.erase(gid);
}

// A compound's alarm belongs to its site (its sensor is empty): restored by site, not by sensor.
void engine::restore_site_alarm(alarm a) {
    const auto ri = rule_index_or_retired(a.rule, a.domain);
    const rules::rule& r = rules_[ri];
    if (!r.retired && r.kind != rules::rule_kind::compound) return;
    site_info& site = site_named(a.site, a.domain);
    const slot_key key = key_of(ri, site.key);
    slot_of_alarm_[a.id] = key;
    if (a.inhibited_by) marked_by_[*a.inhibited_by].push_back(a.id);
    if (!slots_.count(key) && !r.retired) compound_slots_.push_back(key);
    slots_[key].open = std::move(a);
}

void engine::restore_site_state(const std::string& rule, const std::string& site, const nlohmann::json& persisted) {
    auto ri = rule_index(rule);
    if (!ri || rules_[*ri].kind != rules::rule_kind::compound) return;
    const slot_key key = key_of(*ri, site_named(site, rules_[*ri].domain).key);
    if (!slots_.count(key)) compound_slots_.push_back(key);
    slots_[key].state = rules::eval_state::from_persisted(persisted);
}

}  // namespace cityguard::alarm_model
