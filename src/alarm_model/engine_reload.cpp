#include <algorithm>

#include "cityguard/alarm_model/engine.hpp"

namespace cityguard::alarm_model {

using util::micros;

// Pack reloads: a new engine takes over the old one's memory, rule by rule. Slots are keyed by
// rule index, so every kept slot moves to its rule's new index.

namespace {

/// A rule's judgement: its definition without the texts an operator reads and who it calls. A
/// reload that only rewords advice or changes the responders keeps every window and on-delay.
nlohmann::json judgement_of(const rules::rule& r) {
    nlohmann::json j = r.definition;
    if (j.is_object())
        for (const char* text : {"name", "advice", "responders", "source"}) j.erase(text);
    return j;
}

}  // namespace

engine::engine(std::vector<rules::rule> rules, engine&& previous)
    : rules_(std::move(rules)), started_at_(previous.started_at_) {
    previous.rollback();  // nothing half-staged crosses over
    std::unordered_map<std::string, std::uint32_t> new_index;
    for (std::uint32_t i = 0; i < rules_.size(); ++i) new_index.emplace(rules_[i].id, i);

    // Old rule index → (new index, judgement unchanged). Removed rules with open alarms stay,
    // retired, at the end.
    std::vector<std::pair<std::uint32_t, bool>> moved(previous.rules_.size());
    std::vector<bool> has_open(previous.rules_.size(), false);
    for (const auto& [key, s] : previous.slots_)
        if (s.open) has_open[key >> 32] = true;
    for (std::uint32_t old = 0; old < previous.rules_.size(); ++old) {
        const rules::rule& r = previous.rules_[old];
        if (auto it = new_index.find(r.id); it != new_index.end()) {
            const bool same = !r.retired && judgement_of(r) == judgement_of(rules_[it->second]);
            moved[old] = {it->second, same};
            if (r.retired) continue;
            if (same)
                ++reload_.unchanged;
            else
                reload_.changed.push_back(r.id);
            continue;
        }
        if (!r.retired) reload_.removed.push_back(r.id);
        if (!has_open[old]) {
            moved[old] = {~0U, false};
            continue;
        }
        rules_.push_back(r);
        rules_.back().retired = true;
        moved[old] = {static_cast<std::uint32_t>(rules_.size() - 1), true};
        new_index.emplace(r.id, moved[old].first);
    }
    for (const auto& r : rules_)
        if (!r.retired && std::none_of(previous.rules_.begin(), previous.rules_.end(), [&](const rules::rule& o) {
                return o.id == r.id && !o.retired;
            }))
            reload_.added.push_back(r.id);
    index_rules();

    for (auto& [key, s] : previous.slots_) {
        const auto [index, same] = moved[key >> 32];
        if (index == ~0U) continue;
        const slot_key to = (static_cast<std::uint64_t>(index) << 32) | (key & 0xffffffffULL);
        slot& fresh = slots_[to];
        if (same) {
            fresh = std::move(s);
        } else {
            // As after a restart: the alarm and the persisted state, no windows, no look-back.
            fresh.state.restore(s.state.fields());
            fresh.state.last_ts = s.state.last_ts;
            fresh.state.last_value = s.state.last_value;
            fresh.open = std::move(s.open);
        }
        fresh.levels_version = ~0ULL;  // levels follow the (possibly new) definition
        fresh.generation = 0;
        if (fresh.open && fresh.open->id != 0) slot_of_alarm_[fresh.open->id] = to;
        const auto subject = static_cast<std::int32_t>(key & 0xffffffffULL);
        if (subject > 0)
            slots_of_sensor_[subject].push_back(to);
        else if (rules_[index].kind == rules::rule_kind::compound && !rules_[index].retired)
            compound_slots_.push_back(to);
    }
    marked_by_ = std::move(previous.marked_by_);
    last_seen_ = std::move(previous.last_seen_);
    sensor_keys_ = std::move(previous.sensor_keys_);
    sites_ = std::move(previous.sites_);
    site_by_key_ = std::move(previous.site_by_key_);
    site_of_sensor_ = std::move(previous.site_of_sensor_);
    groups_of_sensor_ = std::move(previous.groups_of_sensor_);
    latest_ = std::move(previous.latest_);
    generation_ = previous.generation_ + 1;
    // A new or changed compound may hold already (its members are in alarm): the timer looks at
    // it at every site of its domain from the next tick, not only after the next alarm moves.
    for (const auto ci : compound_order_) {
        const auto& id = rules_[ci].id;
        const bool fresh = std::find(reload_.added.begin(), reload_.added.end(), id) != reload_.added.end() ||
                           std::find(reload_.changed.begin(), reload_.changed.end(), id) != reload_.changed.end();
        if (!fresh) continue;
        for (const auto& [name, site] : sites_) {
            if (site.domain != rules_[ci].domain || site.is_group != rules_[ci].per_group) continue;
            const slot_key key = key_of(ci, site.key);
            if (slots_.try_emplace(key).second) compound_slots_.push_back(key);
        }
    }
}

changes engine::retire_removed(micros now) {
    for (auto& [key, s] : slots_) {
        if (!rules_[key >> 32].retired || !s.open || s.open->cond != condition::active) continue;
        mark_unknown(
            key,
            stage(key),
            now,
            "rule removed by a pack reload: condition unknown; close the alarm when it is dealt with"
        );
    }
    return take_staged_changes();
}

std::uint32_t engine::rule_index_or_retired(const std::string& id, const std::string& domain) {
    if (auto i = rule_index(id)) return *i;
    rules::rule stand_in;
    stand_in.id = id;
    stand_in.domain = domain;
    stand_in.kind = rules::rule_kind::event;
    stand_in.retired = true;
    rules_.push_back(std::move(stand_in));
    rule_ids_.emplace(id, static_cast<std::uint32_t>(rules_.size() - 1));
    return static_cast<std::uint32_t>(rules_.size() - 1);
}

}  // namespace cityguard::alarm_model
