#pragma once

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "cityguard/rules/rule.hpp"
#include "cityguard/util/time.hpp"

/// Evaluation of one rule for one sensor, one reading at a time, in reading-time order.
/// Pure: deterministic for the same readings, no clock, no I/O. Delays are measured in
/// reading time, so replaying history gives the same answers.
namespace cityguard::rules {

/// The part of eval_state that is persisted, comparable cheaply (no JSON) so the engine can
/// tell after each reading whether anything must be written.
struct persisted_fields {
    std::optional<level> current, pending;
    std::optional<util::micros> pending_since, lower_since;
    int streak = 0;
    std::optional<double> baseline;
    std::optional<util::micros> last_trigger;
    std::optional<util::micros> series_end;  ///< baseline/trend: the newest closed bucket
    bool operator==(const persisted_fields&) const = default;
};

/// The bucket a baseline or trend series is filling, not yet part of the series: rebuilt from
/// stored readings after a restart (the closed buckets are persisted).
struct open_bucket {
    util::micros start = 0;
    util::micros last_sample = 0;  ///< the aligned sub-step of the last sample taken
    double sum = 0;
    int count = 0;
};

/// What the engine must remember per (rule, sensor). The fields marked persisted are written
/// to rule_state whenever they change, so a restart resumes on-delays, off-delays and
/// baselines exactly; the rest is rebuilt from recent readings.
struct eval_state {
    std::optional<level> current;               ///< persisted: the level the condition is at
    std::optional<level> pending;               ///< persisted: on-delay: level waiting to be raised
    std::optional<util::micros> pending_since;  ///< persisted
    std::optional<util::micros> lower_since;    ///< persisted: off-delay: target below current since
    int streak = 0;                             ///< persisted: rate: consecutive periods over a limit
    std::optional<double> baseline;             ///< persisted: cumulative
    std::optional<util::micros> last_trigger;   ///< persisted: event
    std::optional<util::micros> last_ts;        ///< last reading evaluated
    std::optional<double> last_value;
    /// rate / cumulative daily rate: samples at least span/128 apart, so at most ~130 whatever
    /// the reporting rate
    std::deque<std::pair<util::micros, double>> window;
    // fault: the run of readings within stuck epsilon, and a spike waiting for confirmation
    // (rebuilt from recent readings after a restart, like the windows)
    std::optional<util::micros> run_since;
    double run_min = 0, run_max = 0;
    int run_count = 0;
    std::optional<double> suspect;  ///< the last reading looked like a spike
    // baseline / trend: closed buckets (start, mean), persisted with the state; the statistic
    // (median or slope) is recomputed only when a bucket closes
    std::deque<std::pair<util::micros, double>> series;
    util::micros series_step = 0;
    open_bucket filling;
    std::optional<double> series_stat;
    bool series_stat_fresh = false;

    persisted_fields fields() const {
        return {
            current,
            pending,
            pending_since,
            lower_since,
            streak,
            baseline,
            last_trigger,
            series.empty() ? std::nullopt : std::optional<util::micros>(series.back().first)};
    }
    void restore(const persisted_fields& f) {
        current = f.current;
        pending = f.pending;
        pending_since = f.pending_since;
        lower_since = f.lower_since;
        streak = f.streak;
        baseline = f.baseline;
        last_trigger = f.last_trigger;
    }
    /// The persisted part as JSON, and back.
    nlohmann::json persisted() const;
    static eval_state from_persisted(const nlohmann::json& j);
};

/// The effect of one reading (or one timer tick) on a rule's condition.
struct outcome {
    enum class change { none, raised, escalated, deescalated, cleared, repeated, review } what = change::none;
    level lvl = level::blue;   ///< the level after the change (raised, escalated, deescalated, repeated, review)
    double value = 0;          ///< the evaluated quantity (the reading, or the rate / cumulative change)
    std::string note;          ///< e.g. "rate 3.4 per 86400 s", "no baseline: needs review"
    bool bad_reading = false;  ///< fault rules: this reading is implausible and must not drive process rules
};

/// Evaluates one reading for a threshold, rate, cumulative or event rule. `levels` are the
/// rule's levels resolved for this sensor (resolve_levels), `sensor_limits` the sensor's own
/// limits (for a cumulative baseline). Readings older than state.last_ts must not be passed
/// (the engine filters them).
outcome evaluate(
    const rule& r,
    const std::vector<resolved_level>& levels,
    const nlohmann::json& sensor_limits,
    eval_state& state,
    util::micros ts,
    double value
);

/// How far before its latest reading a rule looks (span 0: it keeps no history), and the
/// spacing of the samples it keeps (the store need not send readings closer than `step`).
/// After a restart the engine feeds the stored readings of that span back through remember(),
/// so the first new reading is judged as without the restart.
struct history_need {
    util::micros span = 0;
    util::micros step = 0;
};
/// `interval_s`: the sensor's reporting interval, for tests counted in readings.
history_need history_needed(const rule& r, std::int32_t interval_s);
/// Feeds one stored reading into the windows the rule keeps, without judging it. Readings in
/// time order, none newer than the latest already evaluated.
void remember(const rule& r, const nlohmann::json& sensor_limits, eval_state& s, util::micros ts, double value);

/// True for a fault rule with no spike or stuck test (it keeps no state but its level) when
/// `value` lies within its range: evaluating it could change nothing but a raised fault.
bool plausible_by_range(const rule& r, const nlohmann::json& sensor_limits, double value);

/// Applies a rule's on-delay and off-delay to a level decided elsewhere (compound rules: the
/// engine evaluates the condition over the site). `target` nullopt: the condition does not hold.
outcome settle_level(const rule& r, eval_state& s, std::optional<level> target, util::micros at);

/// Timer for event rules with clear_after_s: clears the condition when no trigger came for
/// that long (compared with `now`).
outcome expire(const rule& r, eval_state& state, util::micros now);

}  // namespace cityguard::rules
