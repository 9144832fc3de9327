#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/util/time.hpp"

/// Compound conditions (R12): what several sensors and alarms of one site mean together, such
/// as "a tanker unloading while the static grounding is faulty". Pure: the engine supplies the
/// site's current facts through site_facts; time is whatever the engine passes (reading time).
namespace cityguard::rules {

enum class level : int;

/// One node of a compound expression, as written in a pack:
///   {"sensor": "video.unloading"}                 a sensor of that kind at the site reads ≥ 0.5
///   {"sensor": "tank_level", "above": 90}        ... reads ≥ 90 ("below": ≤)
///   {"alarm": "gas_station.lel", "level": "yellow"}  an active alarm of that rule at the site, at
///                                                    yellow or more severe ("level" optional)
///   {"all": [...]}, {"any": [...]}, {"not": {...}}
///   {"all": [...], "within_s": W}   each member was true at some moment of the last W seconds
///   {"then": [A, B], "within_s": W} B is true and became true at most W after A did
///   {"count": {"alarm": R, "level": j}, "at_least": k, "within_s": W, "within_m": D}
///       correlation (R11): at least k sensors of the site had an alarm of R at level ≥ j at
///       some moment of the last W seconds (now, without W), all within D metres of one of
///       them (any distance, without D); with "same_group": true, sharing a named registry
///       group with that one also makes a sensor adjacent
struct condition_node {
    enum class op { sensor, alarm, all, any, negate, then, count } what = op::sensor;
    std::string kind;  ///< sensor
    std::optional<double> above, below;
    std::string rule;  ///< alarm
    std::optional<level> min_level;
    std::vector<condition_node> children;
    double within_s = 0;
    int at_least = 0;         ///< count
    double within_m = 0;      ///< count: 0 = anywhere on the site
    bool same_group = false;  ///< count: a shared named group makes sensors adjacent
};

/// Parses an expression; throws std::invalid_argument naming the problem.
condition_node parse_condition(const nlohmann::json& j);
/// The sensor kinds and rule ids an expression reads, for triggering and load-time checks.
void referenced(const condition_node& n, std::vector<std::string>& kinds, std::vector<std::string>& rules);

/// What made an expression true: a sensor reading or an alarm.
struct member {
    std::string sensor;
    std::string rule;          ///< empty for a sensor reading
    std::int64_t alarm = 0;    ///< 0 for a sensor reading
    std::optional<level> lvl;  ///< the alarm's level
    bool operator==(const member&) const = default;
};

/// The site's current facts, supplied by the engine.
struct site_facts {
    /// Calls back with (sensor id, latest value) for each sensor of `kind` at the site.
    std::function<void(const std::string& kind, const std::function<void(const std::string&, double)>&)> sensors;
    /// Calls back with each active (not cleared, not closed) alarm of `rule` at the site.
    std::function<void(const std::string& rule, const std::function<void(const member&)>&)> alarms;
    /// A sensor's position (lat, lon in degrees), when the registry has one.
    std::function<std::optional<std::pair<double, double>>(const std::string& sensor)> position;
    /// The named groups a sensor belongs to (null: none, or unknown).
    std::function<const std::vector<std::string>*(const std::string& sensor)> groups;
};

/// Per (compound rule, site): when each node was last true and last became true, so that
/// "within" and "then" can look back. Indexed by the node's position in pre-order.
struct condition_memory {
    struct node {
        bool was_true = false;
        std::optional<util::micros> last_true, became_true;
        bool then_armed = false;  ///< then: B's current episode began within W after A's
        /// count: per sensor, when its alarm was last at the level, and that alarm
        std::vector<std::pair<util::micros, member>> seen;
    };
    std::vector<node> nodes;
    std::optional<util::micros> last_at;  ///< the last evaluation time (evaluation never goes back)
};

struct condition_result {
    bool holds = false;
    std::vector<member> members;  ///< the true leaves, when it holds
};

/// Evaluates `root` at time `at` (clamped to never go back), updating `memory`.
condition_result evaluate_condition(
    const condition_node& root, const site_facts& facts, condition_memory& memory, util::micros at
);

}  // namespace cityguard::rules
