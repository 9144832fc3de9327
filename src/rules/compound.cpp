#include "cityguard/rules/compound.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "cityguard/rules/rule.hpp"

namespace cityguard::rules {

using json = nlohmann::json;
using util::micros;

namespace {

[[noreturn]] void bad(const std::string& why) { throw std::invalid_argument(why); }

void only_keys(const json& j, std::initializer_list<const char*> allowed) {
    for (auto it = j.begin(); it != j.end(); ++it)
        if (std::none_of(allowed.begin(), allowed.end(), [&](const char* k) { return it.key() == k; }))
            bad("unknown field '" + it.key() + "' in a condition");
}

double within_of(const json& j) {
    if (!j.contains("within_s")) return 0;
    if (!j["within_s"].is_number() || j["within_s"].get<double>() <= 0) bad("'within_s' must be a positive number");
    return j["within_s"].get<double>();
}

std::size_t count_nodes(const condition_node& n) {
    std::size_t total = 1;
    for (const auto& c : n.children) total += count_nodes(c);
    return total;
}

/// Distance in metres between two (lat, lon) points: equirectangular, exact enough within a site.
double metres(const std::pair<double, double>& a, const std::pair<double, double>& b) {
    constexpr double kEarthRadius = 6'371'000.0, kRad = 3.14159265358979323846 / 180.0;
    const double x = (b.second - a.second) * kRad * std::cos((a.first + b.first) / 2 * kRad);
    const double y = (b.first - a.first) * kRad;
    return std::hypot(x, y) * kEarthRadius;
}

struct evaluation {
    const site_facts& facts;
    condition_memory& memory;
    micros at;
    std::size_t next = 0;  ///< pre-order index of the node being evaluated

    /// Evaluates `n` and its children (every child, always: their memories must follow time).
    bool eval(const condition_node& n, std::vector<member>& members) {
        const std::size_t index = next++;
        std::vector<member> mine;
        bool now = false;
        switch (n.what) {
            case condition_node::op::sensor:
                facts.sensors(n.kind, [&](const std::string& sensor, double v) {
                    const bool on = n.above ? v >= *n.above : n.below ? v <= *n.below : v >= 0.5;
                    if (!on) return;
                    now = true;
                    mine.push_back({sensor, "", 0, std::nullopt});
                });
                break;
            case condition_node::op::alarm:
                facts.alarms(n.rule, [&](const member& m) {
                    if (n.min_level && m.lvl && more_severe(*n.min_level, *m.lvl)) return;
                    now = true;
                    mine.push_back(m);
                });
                break;
            case condition_node::op::all:
                now = eval_all(n, mine);
                break;
            case condition_node::op::any:
                for (const auto& c : n.children) now = eval(c, mine) || now;
                break;
            case condition_node::op::negate: {
                std::vector<member> ignored;  // what is absent made nothing true
                now = !eval(n.children[0], ignored);
                break;
            }
            case condition_node::op::count:
                now = eval_count(n, index, mine);
                break;
            case condition_node::op::then:
                now = eval_then(n, index, mine);
                break;
        }
        auto& m = memory.nodes[index];
        if (now && !m.was_true) m.became_true = at;
        if (now) m.last_true = at;
        m.was_true = now;
        if (now) members.insert(members.end(), mine.begin(), mine.end());
        return now;
    }

    /// Every child holds now, or (with within_s) each held within the window.
    bool eval_all(const condition_node& n, std::vector<member>& mine) {
        bool now = true;
        std::vector<std::size_t> child_index;
        for (const auto& c : n.children) {
            child_index.push_back(next);
            const bool t = eval(c, mine);
            if (n.within_s <= 0) {
                now = now && t;
            } else {
                const auto& cm = memory.nodes[child_index.back()];
                now = now && cm.last_true && at - *cm.last_true <= static_cast<micros>(n.within_s * 1e6);
            }
        }
        return now;
    }

    /// At least `at_least` alarms of the rule within the window, near each other (within_m) or
    /// in one named group.
    bool eval_count(const condition_node& n, std::size_t index, std::vector<member>& mine) {
        bool now = false;
        auto& seen = memory.nodes[index].seen;
        if (n.within_s <= 0) seen.clear();  // without a window only what holds now counts
        facts.alarms(n.rule, [&](const member& m) {
            if (n.min_level && m.lvl && more_severe(*n.min_level, *m.lvl)) return;
            auto it =
                std::find_if(seen.begin(), seen.end(), [&](const auto& e) { return e.second.sensor == m.sensor; });
            if (it == seen.end())
                seen.emplace_back(at, m);
            else
                *it = {at, m};
        });
        const auto window = static_cast<micros>(n.within_s * 1e6);
        std::erase_if(seen, [&](const auto& e) { return at - e.first > window; });
        // The first member around which k of them lie within D (or share a named group
        // with it). A sensor without a position proves no adjacency.
        const bool anywhere = n.within_m <= 0 && !n.same_group;
        auto share_a_group = [&](const std::string& a, const std::string& b) {
            if (!n.same_group || !facts.groups) return false;
            const auto* ga = facts.groups(a);
            const auto* gb = facts.groups(b);
            if (!ga || !gb) return false;
            for (const auto& g : *ga)
                if (std::find(gb->begin(), gb->end(), g) != gb->end()) return true;
            return false;
        };
        for (const auto& centre : seen) {
            std::vector<member> near;
            const auto here = n.within_m > 0 ? facts.position(centre.second.sensor) : std::nullopt;
            for (const auto& other : seen) {
                bool adjacent = anywhere || other.second.sensor == centre.second.sensor;
                if (!adjacent && here) {
                    const auto there = facts.position(other.second.sensor);
                    adjacent = there && metres(*here, *there) <= n.within_m;
                }
                if (!adjacent) adjacent = share_a_group(centre.second.sensor, other.second.sensor);
                if (adjacent) near.push_back(other.second);
            }
            if (static_cast<int>(near.size()) >= n.at_least) {
                now = true;
                mine = std::move(near);
                break;
            }
        }
        return now;
    }

    /// B holds now and its episode began after A's, within the window.
    bool eval_then(const condition_node& n, std::size_t index, std::vector<member>& mine) {
        bool now = false;
        const std::size_t first = next;
        std::vector<member> before;
        eval(n.children[0], before);
        const std::size_t second = next;
        const bool b = eval(n.children[1], mine);
        auto& self = memory.nodes[index];
        const auto& a_mem = memory.nodes[first];
        const auto& b_mem = memory.nodes[second];
        if (b && b_mem.became_true == at) {
            // B's episode begins now: it counts only if A began first, within W.
            self.then_armed = a_mem.became_true && *a_mem.became_true <= at &&
                              at - *a_mem.became_true <= static_cast<micros>(n.within_s * 1e6);
        }
        if (!b) self.then_armed = false;
        now = b && self.then_armed;
        if (now) mine.insert(mine.begin(), before.begin(), before.end());
        return now;
    }
};

}  // namespace

// A condition is a small tree (all, any, not, count, then over sensor and alarm leaves); the
// node count is bounded so a pack cannot make one reading cost unbounded work.
condition_node parse_condition(const json& j) {
    if (!j.is_object() || j.empty()) bad("a condition must be an object");
    condition_node n;
    if (j.contains("sensor")) {
        only_keys(j, {"sensor", "above", "below"});
        if (!j["sensor"].is_string() || j["sensor"].get<std::string>().empty()) bad("'sensor' must name a sensor kind");
        n.what = condition_node::op::sensor;
        n.kind = j["sensor"];
        for (const char* key : {"above", "below"}) {
            if (!j.contains(key)) continue;
            if (!j[key].is_number()) bad(std::string("'") + key + "' must be a number");
            (key[0] == 'a' ? n.above : n.below) = j[key].get<double>();
        }
        if (n.above && n.below) bad("a sensor condition has 'above' or 'below', not both");
        return n;
    }
    if (j.contains("alarm")) {
        only_keys(j, {"alarm", "level"});
        if (!j["alarm"].is_string() || j["alarm"].get<std::string>().empty()) bad("'alarm' must name a rule id");
        n.what = condition_node::op::alarm;
        n.rule = j["alarm"];
        if (j.contains("level")) {
            auto l = j["level"].is_string() ? parse_level(j["level"].get<std::string>()) : std::nullopt;
            if (!l) bad("'level' must be red, orange, yellow or blue");
            n.min_level = l;
        }
        return n;
    }
    if (j.contains("count")) {
        only_keys(j, {"count", "at_least", "within_s", "within_m", "same_group"});
        const json& what = j["count"];
        if (!what.is_object() || !what.contains("alarm"))
            bad("'count' counts sensors with an alarm: {\"alarm\": RULE}");
        condition_node leaf = parse_condition(what);
        n = std::move(leaf);
        n.what = condition_node::op::count;
        if (!j.contains("at_least") || !j["at_least"].is_number_integer() || j["at_least"].get<int>() < 2)
            bad("'at_least' must be an integer of at least 2");
        n.at_least = j["at_least"].get<int>();
        n.within_s = within_of(j);
        if (j.contains("within_m")) {
            if (!j["within_m"].is_number() || j["within_m"].get<double>() <= 0)
                bad("'within_m' must be a positive number");
            n.within_m = j["within_m"].get<double>();
        }
        if (j.contains("same_group")) {
            if (!j["same_group"].is_boolean()) bad("'same_group' must be true or false");
            n.same_group = j["same_group"].get<bool>();
        }
        return n;
    }
    if (j.contains("not")) {
        only_keys(j, {"not"});
        n.what = condition_node::op::negate;
        n.children.push_back(parse_condition(j["not"]));
        return n;
    }
    for (const auto& [name, op] :
         {std::pair{"all", condition_node::op::all},
          std::pair{"any", condition_node::op::any},
          std::pair{"then", condition_node::op::then}}) {
        if (!j.contains(name)) continue;
        only_keys(j, {name, "within_s"});
        const json& list = j[name];
        if (!list.is_array() || list.empty()) bad(std::string("'") + name + "' must be a non-empty array");
        n.what = op;
        for (const auto& c : list) n.children.push_back(parse_condition(c));
        n.within_s = within_of(j);
        if (op == condition_node::op::any && n.within_s > 0) bad("'within_s' belongs to 'all' and 'then'");
        if (op == condition_node::op::then && (n.children.size() != 2 || n.within_s <= 0))
            bad("'then' needs exactly two conditions and 'within_s'");
        return n;
    }
    bad("a condition is one of sensor, alarm, all, any, not, then");
}

void referenced(const condition_node& n, std::vector<std::string>& kinds, std::vector<std::string>& rules) {
    if (n.what == condition_node::op::sensor && std::find(kinds.begin(), kinds.end(), n.kind) == kinds.end())
        kinds.push_back(n.kind);
    if ((n.what == condition_node::op::alarm || n.what == condition_node::op::count) &&
        std::find(rules.begin(), rules.end(), n.rule) == rules.end())
        rules.push_back(n.rule);
    for (const auto& c : n.children) referenced(c, kinds, rules);
}

// Memory per node (when each became true, what was seen within a window) lives in the slot's
// state, so windows and sequences survive between readings and restarts.
condition_result evaluate_condition(
    const condition_node& root, const site_facts& facts, condition_memory& memory, micros at
) {
    if (memory.last_at && at < *memory.last_at) at = *memory.last_at;
    memory.last_at = at;
    memory.nodes.resize(count_nodes(root));
    evaluation e{facts, memory, at};
    condition_result out;
    out.holds = e.eval(root, out.members);
    if (!out.holds) out.members.clear();
    return out;
}

}  // namespace cityguard::rules
