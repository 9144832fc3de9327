#include "cityguard/rules/evaluator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
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

// The median, not the mean: one spike in a baseline's history must not move the baseline.
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

// For notes people read: "12.5", not "12.500000".
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

// Out of the sensor's physical range, a spike no process could make, or the same value for too
// long: each means the device, not the process, is reporting.
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

// Series keep one sample per bucket: memory per sensor is bounded by span / bucket, whatever the
// reading rate.
micros bucket_us(const rule& r) {
    return std::max<micros>(static_cast<micros>(r.series.bucket_s * kMicrosPerSecond), 1);
}
micros sample_us(const rule& r) { return std::max<micros>(bucket_us(r) / kSeriesSamples, 1); }

/// Adds a reading to the series: the first reading of each aligned sub-step counts towards its
/// bucket's mean; a reading in a later bucket closes the open one. Readings of buckets already
/// closed are ignored (a restart's history overlaps the persisted series).
void add_to_series(const rule& r, eval_state& s, micros ts, double v) {
    const micros width = bucket_us(r);
    const micros start = ts - ts % width;
    if (!s.series.empty() && start <= s.series.back().first) return;
    open_bucket& b = s.filling;
    if (b.count > 0 && start != b.start) {
        if (start < b.start) return;
        s.series.emplace_back(b.start, b.sum / b.count);
        s.series_step = width;
        b = {};
        const auto span = static_cast<micros>(r.series.span_s * kMicrosPerSecond);
        while (!s.series.empty() && s.series.front().first < start - span) s.series.pop_front();
        s.series_stat_fresh = false;
    }
    const micros sample = ts / sample_us(r);
    if (b.count == 0) {
        b = {start, sample, v, 1};
    } else if (sample > b.last_sample) {
        b.last_sample = sample;
        b.sum += v;
        ++b.count;
    }
}

/// How much time the closed buckets cover (gaps do not count).
double covered_s(const rule& r, const eval_state& s) {
    return static_cast<double>(s.series.size()) * r.series.bucket_s;
}

std::optional<double> limit_value(const json& limits, const std::string& key) {
    if (!limits.is_object()) return std::nullopt;
    auto it = limits.find(key);
    return it != limits.end() && it->is_number() ? std::optional<double>(it->get<double>()) : std::nullopt;
}

/// The baseline a reading is compared with: the median of the closed buckets once they cover
/// min_history_s, else the sensor's reference limit if the rule names one.
std::optional<double> baseline_of(const rule& r, const json& limits, eval_state& s) {
    if (r.series.span_s > 0 && !s.series_stat_fresh) {
        s.series_stat.reset();
        if (!s.series.empty() && covered_s(r, s) >= r.series.min_history_s) {
            std::vector<double> values;
            values.reserve(s.series.size());
            for (const auto& [t, x] : s.series) values.push_back(x);
            s.series_stat = median_of(values);
        }
        s.series_stat_fresh = true;
    }
    if (s.series_stat) return s.series_stat;
    return r.series.reference ? limit_value(limits, *r.series.reference) : std::nullopt;
}

/// The least-squares slope of the closed buckets per second, once their first and last cover
/// min_history_s.
std::optional<double> slope_of(const rule& r, eval_state& s) {
    if (s.series_stat_fresh) return s.series_stat;
    s.series_stat_fresh = true;
    s.series_stat.reset();
    if (s.series.size() < 3) return std::nullopt;
    const micros t0 = s.series.front().first;
    if (static_cast<double>(s.series.back().first - t0) / kMicrosPerSecond + r.series.bucket_s < r.series.min_history_s)
        return std::nullopt;
    double st = 0, sv = 0, stt = 0, stv = 0;
    const double n = static_cast<double>(s.series.size());
    for (const auto& [t, v] : s.series) {
        const double x = static_cast<double>(t - t0) / kMicrosPerSecond;
        st += x;
        sv += v;
        stt += x * x;
        stv += x * v;
    }
    const double den = n * stt - st * st;
    if (den <= 0) return std::nullopt;
    s.series_stat = (n * stv - st * sv) / den;
    return s.series_stat;
}

// Rising rules judge x, falling ones -x, either-way ones |x|: the levels are always "high".
double directed(rate_direction d, double x) {
    return d == rate_direction::rising ? x : d == rate_direction::falling ? -x : std::abs(x);
}

}  // namespace

// Only what a restart needs to continue a rule where it was (pending-since times, streaks, the
// baseline); windows of samples are rebuilt from stored readings instead.
json eval_state::persisted() const {
    json j{
        {"current", opt_level(current)},
        {"pending", opt_level(pending)},
        {"pending_since", opt(pending_since)},
        {"lower_since", opt(lower_since)},
        {"streak", streak},
        {"baseline", opt(baseline)},
        {"last_trigger", opt(last_trigger)}};
    if (!series.empty()) {
        // Aligned buckets: a start and a step, with null for the buckets a silence left empty,
        // keep a year of daily means to a few kilobytes.
        json values = json::array();
        micros t = series.front().first;
        for (const auto& [start, v] : series) {
            for (; t < start; t += series_step) values.push_back(nullptr);
            values.push_back(v);
            t = start + series_step;
        }
        j["series"] = {{"from", series.front().first}, {"step", series_step}, {"v", std::move(values)}};
    }
    return j;
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
    auto series = j.find("series");
    if (series != j.end() && series->is_object()) {
        const auto from = series->value("from", micros{0});
        const auto step = series->value("step", micros{0});
        auto values = series->find("v");
        if (step > 0 && values != series->end() && values->is_array()) {
            s.series_step = step;
            micros t = from;
            for (const auto& v : *values) {
                if (v.is_number()) s.series.emplace_back(t, v.get<double>());
                t += step;
            }
        }
    }
    return s;
}

namespace {

/// A level for the value itself.
/// Which limit judged the level: the pack's number or the sensor's own (per-sensor limits, e.g.
/// an enterprise's DCS settings), so the alarm says what it was measured against.
std::string limit_note(const std::vector<resolved_level>& levels, level lvl) {
    for (const auto& l : levels)
        if (l.lvl == lvl) {
            std::ostringstream text;
            text << "limit " << l.limit << " from " << (l.from.empty() ? "the rule pack" : "the sensor's " + l.from);
            return text.str();
        }
    return "";
}

outcome evaluate_threshold(
    const rule& r, const std::vector<resolved_level>& levels, eval_state& s, micros ts, double value
) {
    if (levels.empty()) return {};
    auto o = settle(r, s, classify(levels, r.dir == direction::high, value, s.current), ts, value);
    if (o.what == outcome::change::raised || o.what == outcome::change::escalated ||
        o.what == outcome::change::deescalated)
        o.note = limit_note(levels, o.lvl);
    return o;
}

/// A level for the change per `per_s` over the rule's window (rising, falling or either way).
outcome evaluate_rate(
    const rule& r, const std::vector<resolved_level>& levels, eval_state& s, micros ts, double value
) {
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
        o.note = "rate " + std::to_string(*rate) + " per " + std::to_string(static_cast<long long>(r.per_s)) + " s" +
                 (o.what == outcome::change::cleared ? "" : "; " + limit_note(levels, o.lvl));
    return o;
}

/// A level for the movement since a baseline and its daily rate (settlement, tilt, cracks).
outcome evaluate_cumulative(
    const rule& r, const std::vector<resolved_level>& levels, const json& limits, eval_state& s, micros ts, double value
) {
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
        o.note =
            "cumulative " + std::to_string(cum) + (per_day ? ", rate " + std::to_string(*per_day) + " per day" : "");
    return o;
}

/// A detection (video analysis, a switch): raised while reported, cleared when it stops.
outcome evaluate_event(const rule& r, eval_state& s, micros ts, double value) {
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

/// A level for the deviation from a reference: the sensor's limits or its own recent history.
outcome evaluate_baseline(
    const rule& r, const std::vector<resolved_level>& levels, const json& limits, eval_state& s, micros ts, double value
) {
    if (levels.empty()) return {};
    if (r.series.span_s > 0) add_to_series(r, s, ts, value);
    const auto base = baseline_of(r, limits, s);
    if (!base) return {};  // too little history and no reference: nothing to judge against
    double dev = value - *base;
    if (r.series.relative) {
        if (*base == 0) return {};
        dev /= std::abs(*base);
    }
    const double x = directed(r.rate_dir, dev);
    auto o = settle(r, s, classify(levels, true, x, s.current), ts, x);
    if (o.what != outcome::change::repeated && o.what != outcome::change::none)
        o.note = "baseline " + number_text(*base) + ", deviation " + number_text(dev) +
                 (r.series.relative ? " (fraction)" : "");
    return o;
}

/// A level for the slope of the recent series (a slow rise a threshold would see too late).
outcome evaluate_trend(
    const rule& r, const std::vector<resolved_level>& levels, eval_state& s, micros ts, double value
) {
    if (levels.empty()) return {};
    add_to_series(r, s, ts, value);
    const auto slope = slope_of(r, s);
    if (!slope) return {};
    const double per = *slope * r.per_s;
    const double x = directed(r.rate_dir, per);
    auto o = settle(r, s, classify(levels, true, x, s.current), ts, x);
    if (o.what != outcome::change::repeated && o.what != outcome::change::none)
        o.note = "trend " + number_text(per) + " per " + std::to_string(static_cast<long long>(r.per_s)) + " s over " +
                 std::to_string(s.series.size()) + " buckets";
    return o;
}

/// The device, not the process: readings out of range, spikes or a stuck value.
outcome evaluate_fault(const rule& r, const json& limits, eval_state& s, micros ts, double value) {
    auto q = judge_quality(r.fault, limits, s, ts, value);
    std::optional<level> target;
    if (q.bad || q.stuck) target = r.fault_level;
    auto o = settle(r, s, target, ts, value);
    o.bad_reading = q.bad;
    if (o.what != outcome::change::repeated && o.what != outcome::change::none)
        o.note = target ? q.reason : "plausible readings again";
    return o;
}

}  // namespace

outcome evaluate(
    const rule& r, const std::vector<resolved_level>& levels, const json& limits, eval_state& s, micros ts, double value
) {
    // A NaN compares false with every limit and would read as "normal": never let it near a rule.
    if (!std::isfinite(value)) return {};
    s.last_ts = ts;
    s.last_value = value;
    switch (r.kind) {
        case rule_kind::threshold:
            return evaluate_threshold(r, levels, s, ts, value);
        case rule_kind::rate:
            return evaluate_rate(r, levels, s, ts, value);
        case rule_kind::cumulative:
            return evaluate_cumulative(r, levels, limits, s, ts, value);
        case rule_kind::event:
            return evaluate_event(r, s, ts, value);
        case rule_kind::baseline:
            return evaluate_baseline(r, levels, limits, s, ts, value);
        case rule_kind::trend:
            return evaluate_trend(r, levels, s, ts, value);
        case rule_kind::offline:
        case rule_kind::compound:
            return {};  // driven by the engine (timer; the site's facts), not by one reading
        case rule_kind::fault:
            return evaluate_fault(r, limits, s, ts, value);
    }
    return {};
}

// The engine's shortcut: a range-only fault rule with a plausible value and nothing raised has
// nothing to do, so the reading skips staging for it.
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

// What a rule's window needs from stored readings after a restart, so its first judgement is as
// good as if the server had never stopped.
history_need history_needed(const rule& r, std::int32_t interval_s) {
    if (r.kind == rule_kind::rate || r.kind == rule_kind::cumulative) {
        // One sampling step more than the window: the oldest sample kept is the last one at
        // least a window old, which lies just beyond it.
        const auto span = static_cast<micros>(r.window_s * kMicrosPerSecond);
        return {span + span / 64, std::max<micros>(span / 130, 1)};
    }
    if ((r.kind == rule_kind::baseline && r.series.span_s > 0) || r.kind == rule_kind::trend) {
        // The closed buckets come back with the persisted state; only the open one is rebuilt,
        // from one reading per sub-step (the ones it counted).
        const micros width = bucket_us(r);
        return {width + width / 64, sample_us(r)};
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
    if ((r.kind == rule_kind::baseline && r.series.span_s > 0) || r.kind == rule_kind::trend)
        add_to_series(r, s, ts, value);
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
