#include "cityguard/rules/evaluator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace cityguard::rules {

using json = nlohmann::json;
using util::micros;

namespace {

constexpr double kMicrosPerSecond = 1e6;

json opt_level(const std::optional<level>& l) { return l ? json(to_string(*l)) : json(nullptr); }
std::optional<level> level_from(const json& j) {
    if (!j.is_string()) return std::nullopt;
    return parse_level(j.get<std::string>());
}
template <class T>
json opt(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}
template <class T>
std::optional<T> opt_from(const json& j) {
    if (j.is_null()) return std::nullopt;
    return j.get<T>();
}

/// The level a quantity asks for: the most severe level whose limit it reaches; levels at or
/// below the current one also hold while within their deadband (hysteresis against chatter).
std::optional<level> classify(
    const std::vector<resolved_level>& levels, bool high, double x, const std::optional<level>& current
) {
    for (const auto& l : levels) {
        const bool on = high ? x >= l.limit : x <= l.limit;
        const bool held_range = current && !more_severe(l.lvl, *current);
        const bool held = held_range && (high ? x >= l.limit - l.deadband : x <= l.limit + l.deadband);
        if (on || held) return l.lvl;
    }
    return std::nullopt;
}

/// Applies on-delay, consecutive count and off-delay to a target level. Shared by threshold,
/// rate and cumulative rules.
outcome settle(const rule& r, eval_state& s, std::optional<level> target, micros ts, double x) {
    outcome o;
    o.value = x;
    const auto for_us = static_cast<micros>(r.for_s * kMicrosPerSecond);
    const auto clear_us = static_cast<micros>(r.clear_for_s * kMicrosPerSecond);
    if (!s.current) {
        if (!target) {
            s.pending.reset();
            s.pending_since.reset();
            s.streak = 0;
            return o;
        }
        s.streak = std::min(s.streak + 1, r.consecutive);  // capped: counting on would rewrite state per reading
        if (!s.pending_since) s.pending_since = ts;
        s.pending = target;
        if (s.streak < r.consecutive || ts - *s.pending_since < for_us) return o;
        s.current = target;
        s.pending.reset();
        s.pending_since.reset();
        s.lower_since.reset();
        o.what = outcome::change::raised;
        o.lvl = *target;
        return o;
    }
    s.pending.reset();
    s.pending_since.reset();
    if (target && more_severe(*target, *s.current)) {
        // Escalation is never delayed: the more severe level is the one people must see now.
        s.current = target;
        s.lower_since.reset();
        s.streak = r.consecutive;
        o.what = outcome::change::escalated;
        o.lvl = *target;
        return o;
    }
    if (target && *target == *s.current) {
        s.lower_since.reset();
        o.what = outcome::change::repeated;
        o.lvl = *target;
        return o;
    }
    // The target is lower than the current level (or none): wait for the off-delay.
    if (!s.lower_since) s.lower_since = ts;
    if (ts - *s.lower_since < clear_us) {
        o.what = outcome::change::repeated;
        o.lvl = *s.current;
        return o;
    }
    s.lower_since.reset();
    s.streak = 0;
    if (!target) {
        s.current.reset();
        o.what = outcome::change::cleared;
        return o;
    }
    s.current = target;
    o.what = outcome::change::deescalated;
    o.lvl = *target;
    return o;
}

/// Keeps `window` to samples at least span/128 apart, dropping those a newer sample has made
/// older than `span`. Shared by evaluation and the restore after a restart, so both keep the
/// same samples.
void keep_sample(eval_state& s, micros ts, double value, micros span) {
    if (s.window.empty() || ts - s.window.back().first >= span / 128) s.window.emplace_back(ts, value);
    while (s.window.size() > 2 && ts - s.window[1].first >= span) s.window.pop_front();
}

/// Keeps the window (keep_sample) and returns the change rate per `per_s` against the oldest
/// sample, once the samples cover at least half the span.
std::optional<double> rate_over(eval_state& s, micros ts, double value, double span_s, double per_s) {
    const auto span = static_cast<micros>(span_s * kMicrosPerSecond);
    keep_sample(s, ts, value, span);
    const auto& [t0, v0] = s.window.front();
    if (ts - t0 < span / 2 || ts == t0) return std::nullopt;
    return (value - v0) / (static_cast<double>(ts - t0) / kMicrosPerSecond) * per_s;
}

constexpr std::size_t kMaxSpikeSamples = 64;  // bounds the median's cost per reading

double median_of(std::vector<double>& v) {
    const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
}

/// What the fault tests make of one reading: bad (this reading is implausible), stuck (the
/// sensor has not moved for too long), and why, for the alarm's note.
struct quality {
    bool bad = false;
    bool stuck = false;
    std::string reason;
};

std::string number_text(double x) {
    std::string t = std::to_string(x);
    while (t.size() > 1 && t.back() == '0') t.pop_back();
    if (!t.empty() && t.back() == '.') t.pop_back();
    return t;
}

/// The spike test. A reading far from the good readings before it is suspect; a second one
/// close to it confirms a real level shift (a gas leak can jump), so a shift costs one reading
/// of delay and is never hidden for longer.
bool is_spike(const fault_spec& f, eval_state& s, micros ts, double v, std::string& reason) {
    if (!f.has_spike() || s.window.empty()) return false;
    double limit = std::numeric_limits<double>::infinity();
    double centre = s.window.back().second;
    if (f.max_step) limit = *f.max_step;
    if (f.spike_window_s > 0 && s.window.size() >= 5) {
        std::vector<double> values;
        values.reserve(s.window.size());
        for (const auto& [t, x] : s.window) values.push_back(x);
        const double med = median_of(values);
        for (auto& x : values) x = std::abs(x - med);
        const double robust = std::max(f.spike_k * 1.4826 * median_of(values), f.spike_min_dev);
        if (std::abs(v - med) > robust && (!f.max_step || robust < limit)) {
            limit = robust;
            centre = med;
        }
    }
    if (std::abs(v - centre) <= limit) {
        s.suspect.reset();
        return false;
    }
    if (s.suspect && std::abs(v - *s.suspect) <= limit) {
        // Two readings agree on the new level: it is real. Judge from here on against it.
        s.window.clear();
        s.window.emplace_back(ts, *s.suspect);
        s.suspect.reset();
        return false;
    }
    s.suspect = v;
    reason =
        "spike: " + number_text(v) + " against " + number_text(centre) + " (plausible ±" + number_text(limit) + ")";
    return true;
}

/// A sensor's own measuring range (limits.range_min / range_max) overrides the rule's: the
/// instrument, not the kind, decides what it can report.
std::optional<double> range_end(const json& limits, const char* key, const std::optional<double>& fallback) {
    if (!limits.is_object() || limits.empty()) return fallback;
    auto it = limits.find(key);
    return it != limits.end() && it->is_number() ? std::optional<double>(it->get<double>()) : fallback;
}

quality judge_quality(const fault_spec& f, const json& limits, eval_state& s, micros ts, double v) {
    quality q;
    const auto lo = range_end(limits, "range_min", f.min);
    const auto hi = range_end(limits, "range_max", f.max);
    if ((lo && v < *lo) || (hi && v > *hi)) {
        q.bad = true;
        q.reason = "outside the physical range [" + (lo ? number_text(*lo) : std::string("-∞")) + ", " +
                   (hi ? number_text(*hi) : std::string("∞")) + "]: " + number_text(v);
        return q;  // an impossible value says nothing about spikes or a stuck sensor
    }
    if (f.stuck_epsilon) {
        if (s.run_count == 0 || std::max(s.run_max, v) - std::min(s.run_min, v) > *f.stuck_epsilon) {
            s.run_since = ts;
            s.run_min = s.run_max = v;
            s.run_count = 1;
        } else {
            s.run_min = std::min(s.run_min, v);
            s.run_max = std::max(s.run_max, v);
            s.run_count = std::min(s.run_count + 1, 1 << 30);
        }
        const bool by_count = f.stuck_count == 0 || s.run_count >= f.stuck_count;
        const bool by_time =
            f.stuck_for_s <= 0 || ts - *s.run_since >= static_cast<micros>(f.stuck_for_s * kMicrosPerSecond);
        q.stuck = by_count && by_time && s.run_count >= 2;
    }
    if (is_spike(f, s, ts, v, q.reason)) {
        q.bad = true;
        return q;  // a spike stays out of the window it is judged against
    }
    if (f.has_spike()) {
        s.window.emplace_back(ts, v);
        const auto span = static_cast<micros>(f.spike_window_s * kMicrosPerSecond);
        while (s.window.size() > 1 && (s.window.size() > kMaxSpikeSamples || ts - s.window.front().first > span))
            s.window.pop_front();
    }
    if (q.stuck)
        q.reason = "no change beyond " + number_text(*f.stuck_epsilon) + " for " + std::to_string(s.run_count) +
                   " readings over " + std::to_string((ts - *s.run_since) / 1'000'000) + " s";
    return q;
}

}  // namespace

json eval_state::persisted() const {
    return {
        {"current", opt_level(current)},
        {"pending", opt_level(pending)},
        {"pending_since", opt(pending_since)},
        {"lower_since", opt(lower_since)},
        {"streak", streak},
        {"baseline", opt(baseline)},
        {"last_trigger", opt(last_trigger)}};
}

eval_state eval_state::from_persisted(const json& j) {
    eval_state s;
    s.current = level_from(j.value("current", json()));
    s.pending = level_from(j.value("pending", json()));
    s.pending_since = opt_from<micros>(j.value("pending_since", json()));
    s.lower_since = opt_from<micros>(j.value("lower_since", json()));
    s.streak = j.value("streak", 0);
    s.baseline = opt_from<double>(j.value("baseline", json()));
    s.last_trigger = opt_from<micros>(j.value("last_trigger", json()));
    return s;
}

outcome evaluate(
    const rule& r, const std::vector<resolved_level>& levels, const json& limits, eval_state& s, micros ts, double value
) {
    // A NaN compares false with every limit and would read as "normal": never let it near a rule.
    if (!std::isfinite(value)) return {};
    s.last_ts = ts;
    s.last_value = value;
    switch (r.kind) {
        case rule_kind::threshold: {
            if (levels.empty()) return {};
            return settle(r, s, classify(levels, r.dir == direction::high, value, s.current), ts, value);
        }
        case rule_kind::rate: {
            if (levels.empty()) return {};
            auto rate = rate_over(s, ts, value, r.window_s, r.per_s);
            if (!rate) return {};
            const double x = r.rate_dir == rate_direction::rising    ? *rate
                             : r.rate_dir == rate_direction::falling ? -*rate
                                                                     : std::abs(*rate);
            auto o = settle(r, s, classify(levels, true, x, s.current), ts, x);
            // Notes go into events only; formatting a double on every reading would cost more
            // than the whole evaluation.
            if (o.what != outcome::change::repeated && o.what != outcome::change::none)
                o.note =
                    "rate " + std::to_string(*rate) + " per " + std::to_string(static_cast<long long>(r.per_s)) + " s";
            return o;
        }
        case rule_kind::cumulative: {
            if (!s.baseline) {
                if (r.baseline_from_limits) {
                    auto it = limits.is_object() ? limits.find("baseline") : limits.end();
                    if (limits.is_object() && it != limits.end() && it->is_number()) {
                        s.baseline = it->get<double>();
                    } else {
                        // A missing baseline must never read as "normal": ask a person to look.
                        outcome o;
                        o.what = s.current ? outcome::change::repeated : outcome::change::review;
                        s.current = s.current ? s.current : std::optional<level>(level::blue);
                        o.lvl = *s.current;
                        o.value = value;
                        o.note = "no baseline: set limits.baseline for this sensor; needs review";
                        return o;
                    }
                } else {
                    s.baseline = value;  // the first reading is the zero of all later changes
                }
            }
            if (levels.empty()) return {};
            const double cum = value - *s.baseline;
            const auto per_day = rate_over(s, ts, value, r.window_s, 86400.0);
            std::optional<level> target;
            // Settlement standards (GB 50497) alarm on either the total or the daily rate, and
            // on movement in both directions (heave as much as settlement): hence abs and "or".
            for (const auto& l : levels) {
                if (std::abs(cum) >= l.limit || (per_day && l.rate && std::abs(*per_day) >= *l.rate)) {
                    target = l.lvl;
                    break;
                }
            }
            if (!target && r.warning_level && std::abs(cum) >= r.warning_fraction * levels.back().limit)
                target = r.warning_level;
            auto o = settle(r, s, target, ts, cum);
            if (o.what != outcome::change::repeated && o.what != outcome::change::none)
                o.note = "cumulative " + std::to_string(cum) +
                         (per_day ? ", rate " + std::to_string(*per_day) + " per day" : "");
            return o;
        }
        case rule_kind::event: {
            // Video analysis reports a detection as 1 and its absence as 0; anything from 0.5 up
            // counts as a detection, so a gateway that forwards a confidence score still works.
            outcome o;
            o.value = value;
            if (value >= 0.5) {
                s.last_trigger = ts;
                o.lvl = r.event_level;
                o.what = s.current ? outcome::change::repeated : outcome::change::raised;
                s.current = r.event_level;
                return o;
            }
            if (s.current) {
                s.current.reset();
                o.what = outcome::change::cleared;
            }
            return o;
        }
        case rule_kind::offline:
        case rule_kind::compound:
            return {};  // driven by the engine (timer; the site's facts), not by one reading
        case rule_kind::fault: {
            auto q = judge_quality(r.fault, limits, s, ts, value);
            std::optional<level> target;
            if (q.bad || q.stuck) target = r.fault_level;
            auto o = settle(r, s, target, ts, value);
            o.bad_reading = q.bad;
            if (o.what != outcome::change::repeated && o.what != outcome::change::none)
                o.note = target ? q.reason : "plausible readings again";
            return o;
        }
    }
    return {};
}

bool plausible_by_range(const rule& r, const json& limits, double v) {
    const fault_spec& f = r.fault;
    if (r.kind != rule_kind::fault || f.has_spike() || f.stuck_epsilon) return false;
    const auto lo = range_end(limits, "range_min", f.min);
    const auto hi = range_end(limits, "range_max", f.max);
    return !(lo && v < *lo) && !(hi && v > *hi);
}

outcome settle_level(const rule& r, eval_state& s, std::optional<level> target, micros at) {
    return settle(r, s, target, at, target ? 1.0 : 0.0);
}

history_need history_needed(const rule& r, std::int32_t interval_s) {
    if (r.kind == rule_kind::rate || r.kind == rule_kind::cumulative) {
        // One sampling step more than the window: the oldest sample kept is the last one at
        // least a window old, which lies just beyond it.
        const auto span = static_cast<micros>(r.window_s * kMicrosPerSecond);
        return {span + span / 64, std::max<micros>(span / 130, 1)};
    }
    if (r.kind == rule_kind::fault) {
        const fault_spec& f = r.fault;
        double seconds = f.spike_window_s;
        if (f.max_step) seconds = std::max(seconds, 2.0 * interval_s);
        if (f.stuck_epsilon)
            seconds = std::max({seconds, f.stuck_for_s, 2.0 * interval_s * std::max(f.stuck_count, 1)});
        // Stuck runs need every reading: a skipped one might have been the change.
        return {static_cast<micros>(seconds * kMicrosPerSecond), 1};
    }
    return {};
}

void remember(const rule& r, const json& limits, eval_state& s, micros ts, double value) {
    if (!std::isfinite(value)) return;
    if (r.kind == rule_kind::rate || r.kind == rule_kind::cumulative)
        keep_sample(s, ts, value, static_cast<micros>(r.window_s * kMicrosPerSecond));
    if (r.kind == rule_kind::fault) judge_quality(r.fault, limits, s, ts, value);
}

// A detection is a moment, not a state: without this, a camera that stops reporting would leave
// its alarm active for ever. clear_after_s without a new detection clears it.
outcome expire(const rule& r, eval_state& s, micros now) {
    outcome o;
    if (r.kind != rule_kind::event || r.clear_after_s <= 0 || !s.current || !s.last_trigger) return o;
    if (now - *s.last_trigger < static_cast<micros>(r.clear_after_s * kMicrosPerSecond)) return o;
    s.current.reset();
    o.what = outcome::change::cleared;
    o.note = "no detection for " + std::to_string(static_cast<long long>(r.clear_after_s)) + " s";
    return o;
}

}  // namespace cityguard::rules
