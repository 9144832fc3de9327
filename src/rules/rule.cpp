#include "cityguard/rules/rule.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace cityguard::rules {

using json = nlohmann::json;

std::string_view to_string(level l) noexcept {
    switch (l) {
        case level::red:
            return "red";
        case level::orange:
            return "orange";
        case level::yellow:
            return "yellow";
        case level::blue:
            return "blue";
    }
    return "blue";
}

std::string_view chinese_name(level l) noexcept {
    switch (l) {
        case level::red:
            return "红色";
        case level::orange:
            return "橙色";
        case level::yellow:
            return "黄色";
        case level::blue:
            return "蓝色";
    }
    return "蓝色";
}

std::optional<level> parse_level(std::string_view t) noexcept {
    if (t == "red") return level::red;
    if (t == "orange") return level::orange;
    if (t == "yellow") return level::yellow;
    if (t == "blue") return level::blue;
    return std::nullopt;
}

std::string_view to_string(rule_kind k) noexcept {
    switch (k) {
        case rule_kind::threshold:
            return "threshold";
        case rule_kind::rate:
            return "rate";
        case rule_kind::cumulative:
            return "cumulative";
        case rule_kind::event:
            return "event";
        case rule_kind::offline:
            return "offline";
        case rule_kind::fault:
            return "fault";
        case rule_kind::compound:
            return "compound";
        case rule_kind::baseline:
            return "baseline";
        case rule_kind::trend:
            return "trend";
    }
    return "threshold";
}

// "gas_*" style patterns: a pack names a family of sensor kinds once.
bool kind_matches(std::string_view pattern, std::string_view sensor_kind) noexcept {
    if (pattern == "*" || pattern == sensor_kind) return true;
    return pattern.size() > 2 && pattern.back() == '*' &&
           sensor_kind.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
}

bool rule::applies_to(std::string_view d, std::string_view sensor_kind) const noexcept {
    if (d != domain || retired) return false;
    return std::any_of(kinds.begin(), kinds.end(), [&](const std::string& k) { return kind_matches(k, sensor_kind); });
}

text rule::title(level l) const {
    static const std::map<level, std::string> zh{
        {level::red, "重大"}, {level::orange, "较大"}, {level::yellow, "一般"}, {level::blue, "低"}};
    return {name_zh + " [" + zh.at(l) + "]", name_en + " [" + std::string(to_string(l)) + "]"};
}

// Advice per level: what a duty officer does at orange is not what they do at red.
text rule::advice_at(level l) const {
    auto it = advice.find(l);
    return it == advice.end() ? text{} : it->second;
}

namespace {

class checker {
  public:
    checker(const std::string& file, const std::string& id) : file_(file), id_(id) {}
    [[noreturn]] void fail(const std::string& why) const {
        throw pack_error(file_ + ": rule " + (id_.empty() ? "?" : id_) + ": " + why);
    }
    double number(const json& o, const char* key, std::optional<double> fallback, double min = -1e300) const {
        auto it = o.find(key);
        if (it == o.end()) {
            if (!fallback) fail(std::string("missing parameter '") + key + "'");
            return *fallback;
        }
        if (!it->is_number()) fail(std::string("'") + key + "' must be a number");
        double v = it->get<double>();
        if (v < min) fail(std::string("'") + key + "' must be at least " + std::to_string(min));
        return v;
    }
    std::optional<std::string> opt_string(const json& o, const char* key) const {
        auto it = o.find(key);
        if (it == o.end()) return std::nullopt;
        if (!it->is_string()) fail(std::string("'") + key + "' must be a string");
        return it->get<std::string>();
    }
    level level_of(const json& o, const char* key, std::optional<level> fallback = std::nullopt) const {
        auto it = o.find(key);
        if (it == o.end()) {
            if (!fallback) fail(std::string("missing parameter '") + key + "'");
            return *fallback;
        }
        if (!it->is_string() || !parse_level(it->get<std::string>()))
            fail(std::string("'") + key + "' must be red, orange, yellow or blue");
        return *parse_level(it->get<std::string>());
    }

  private:
    const std::string& file_;
    const std::string& id_;
};

// An unknown key fails the pack: a misspelt "for_s" would otherwise leave a rule firing on the
// first reading over its threshold, which is exactly what on-delays are there to prevent.
void check_keys(const checker& c, const json& o, const std::set<std::string>& allowed, const char* what) {
    for (auto it = o.begin(); it != o.end(); ++it)
        if (!allowed.count(it.key())) c.fail(std::string("unknown ") + what + " '" + it.key() + "'");
}

level_spec parse_level_spec(const checker& c, const json& j, rule_kind kind) {
    if (!j.is_object()) c.fail("each level must be an object");
    check_keys(
        c,
        j,
        {"level", "value", "limit", "fraction", "of", "deadband", "rate", "rate_fraction", "rate_of"},
        "level field"
    );
    level_spec s;
    s.lvl = c.level_of(j, "level");
    if (j.contains("value")) s.value = c.number(j, "value", std::nullopt);
    s.limit = c.opt_string(j, "limit");
    if (j.contains("fraction")) s.fraction = c.number(j, "fraction", std::nullopt, 0);
    s.of = c.opt_string(j, "of");
    s.deadband = c.number(j, "deadband", 0.0, 0);
    if (j.contains("rate")) s.rate = c.number(j, "rate", std::nullopt, 0);
    if (j.contains("rate_fraction")) s.rate_fraction = c.number(j, "rate_fraction", std::nullopt, 0);
    s.rate_of = c.opt_string(j, "rate_of");
    if (s.fraction.has_value() != s.of.has_value()) c.fail("'fraction' and 'of' go together");
    if (s.rate_fraction.has_value() != s.rate_of.has_value()) c.fail("'rate_fraction' and 'rate_of' go together");
    if (!s.value && !s.limit && !s.fraction)
        c.fail("level " + std::string(to_string(s.lvl)) + " needs 'value', 'limit' or 'fraction'+'of'");
    if (kind != rule_kind::cumulative && (s.rate || s.rate_fraction)) c.fail("'rate' belongs to cumulative rules");
    return s;
}

/// For levels given as plain values, stricter levels must have stricter limits.
void check_order(const checker& c, const rule& r) {
    for (std::size_t i = 1; i < r.levels.size(); ++i) {
        const auto &prev = r.levels[i - 1], &cur = r.levels[i];
        if (!more_severe(prev.lvl, cur.lvl))
            c.fail("levels out of order: list them from most to least severe, each once");
        auto key = [](const level_spec& s) -> std::optional<double> {
            if (s.value && !s.limit) return s.value;
            if (s.fraction && !s.value && !s.limit) return s.fraction;
            return std::nullopt;
        };
        auto a = key(prev), b = key(cur);
        if (a && b && ((prev.fraction.has_value() == cur.fraction.has_value()))) {
            const bool ok = r.dir == direction::low && r.kind == rule_kind::threshold ? *a < *b : *a > *b;
            if (!ok)
                c.fail(
                    "levels out of order: " + std::string(to_string(prev.lvl)) + " must be beyond " +
                    std::string(to_string(cur.lvl))
                );
        }
    }
}

/// The fields every rule has: names, domain, sensor kinds, rule kind, source.
void parse_identity(const checker& c, const json& j, const std::string& pack_domain, rule& r) {
    auto name = j.find("name");
    if (name == j.end() || !name->is_object() || !name->contains("zh") || !name->contains("en") ||
        !(*name)["zh"].is_string() || !(*name)["en"].is_string())
        c.fail("'name' must be {\"zh\":\"...\",\"en\":\"...\"}");
    r.name_zh = (*name)["zh"];
    r.name_en = (*name)["en"];
    r.domain = c.opt_string(j, "domain").value_or(pack_domain);
    if (r.domain != pack_domain) c.fail("domain differs from the pack's domain '" + pack_domain + "'");
    const auto kind_text = c.opt_string(j, "kind");
    auto kinds = j.find("kinds");
    if (kind_text == "compound" || kind_text == "correlation") {
        // A compound reads what its condition names; a kinds list could only disagree with it.
        if (kinds != j.end()) c.fail("a " + *kind_text + " rule has no 'kinds': its condition names them");
    } else {
        if (kinds == j.end() || !kinds->is_array() || kinds->empty())
            c.fail("'kinds' must be a non-empty array of sensor kinds");
        for (const auto& k : *kinds) {
            if (!k.is_string()) c.fail("'kinds' must hold strings");
            r.kinds.push_back(k.get<std::string>());
        }
    }
    if (!kind_text) c.fail("missing 'kind'");
    static const std::map<std::string, rule_kind> kinds_by_name{
        {"threshold", rule_kind::threshold},
        {"rate", rule_kind::rate},
        {"cumulative", rule_kind::cumulative},
        {"event", rule_kind::event},
        {"offline", rule_kind::offline},
        {"fault", rule_kind::fault},
        {"compound", rule_kind::compound},
        {"baseline", rule_kind::baseline},
        {"trend", rule_kind::trend},
        // A correlation (R11) is a compound whose condition is one count: same engine, same
        // site alarm with its members.
        {"correlation", rule_kind::compound}};
    auto kit = kinds_by_name.find(*kind_text);
    if (kit == kinds_by_name.end()) c.fail("unknown kind '" + *kind_text + "'");
    r.kind = kit->second;
    // A number without its source cannot be defended in a review: every rule names one.
    r.source = c.opt_string(j, "source").value_or("");
    if (r.source.empty()) c.fail("missing 'source' (the standard or reasoning behind the numbers)");
}

// A series holds at most this many buckets: memory per (rule, sensor) stays bounded whatever
// window a pack asks for (a year of daily buckets fits).
constexpr double kMaxSeriesBuckets = 1024;

void parse_series_direction(
    const checker& c, const json& params, rule& r, const char* up, const char* down, const char* both
) {
    const auto d = c.opt_string(params, "direction").value_or(up);
    if (d == up)
        r.rate_dir = rate_direction::rising;
    else if (d == down)
        r.rate_dir = rate_direction::falling;
    else if (d == both)
        r.rate_dir = rate_direction::absolute;
    else
        c.fail(std::string("'direction' must be ") + up + ", " + down + " or " + both);
}

/// Baseline rules (R5): the reference is the median of the last span's bucket means, or a
/// sensor limit, or both (the limit until the median has enough history).
void parse_baseline_params(const checker& c, const json& params, rule& r) {
    auto b = params.find("baseline");
    if (b == params.end() || !b->is_object() || b->empty())
        c.fail(
            "missing parameter 'baseline' ({\"median_of_s\":..., \"bucket_s\":..., \"min_history_s\":...} and/or "
            "{\"limit\":\"...\"})"
        );
    check_keys(c, *b, {"median_of_s", "bucket_s", "min_history_s", "limit"}, "baseline field");
    series_spec& s = r.series;
    s.reference = c.opt_string(*b, "limit");
    if (b->contains("median_of_s")) {
        s.span_s = c.number(*b, "median_of_s", std::nullopt, 60);
        s.bucket_s = c.number(*b, "bucket_s", 3600.0, 1);
        s.min_history_s = c.number(*b, "min_history_s", s.span_s / 2, 0);
        if (s.bucket_s > s.span_s) c.fail("'bucket_s' must not exceed 'median_of_s'");
        if (s.span_s / s.bucket_s > kMaxSeriesBuckets)
            c.fail("'median_of_s' / 'bucket_s' must be at most 1024 buckets");
        if (s.min_history_s > s.span_s) c.fail("'min_history_s' must not exceed 'median_of_s'");
    } else if (!s.reference) {
        c.fail("'baseline' needs 'median_of_s' or 'limit'");
    } else if (b->contains("bucket_s") || b->contains("min_history_s")) {
        c.fail("'bucket_s' and 'min_history_s' belong with 'median_of_s'");
    }
    const auto dev = c.opt_string(params, "deviation").value_or("absolute");
    if (dev != "absolute" && dev != "relative") c.fail("'deviation' must be absolute or relative");
    s.relative = dev == "relative";
    parse_series_direction(c, params, r, "above", "below", "either");
    for (const auto& l : r.levels)
        if (!l.value) c.fail("baseline levels take a 'value' (the deviation)");
}

/// Trend rules (R6): the least-squares slope of the bucket means over a window, per `per_s`.
void parse_trend_params(const checker& c, const json& params, rule& r) {
    series_spec& s = r.series;
    s.span_s = c.number(params, "window_s", std::nullopt, 60);
    s.bucket_s = c.number(params, "bucket_s", 86400.0, 1);
    s.min_history_s = c.number(params, "min_history_s", s.span_s / 4, 0);
    if (s.bucket_s * 3 > s.span_s) c.fail("'window_s' must hold at least three buckets ('bucket_s')");
    if (s.span_s / s.bucket_s > kMaxSeriesBuckets) c.fail("'window_s' / 'bucket_s' must be at most 1024 buckets");
    if (s.min_history_s > s.span_s) c.fail("'min_history_s' must not exceed 'window_s'");
    r.per_s = c.number(params, "per_s", 31536000.0, 1);
    parse_series_direction(c, params, r, "rising", "falling", "absolute");
}

/// Threshold, rate and cumulative rules: graded levels plus the kind's own parameters.
void parse_leveled_params(const checker& c, const json& params, rule& r) {
    std::set<std::string> allowed{"levels", "for_s", "clear_for_s"};
    if (r.kind == rule_kind::threshold) allowed.insert("direction");
    if (r.kind == rule_kind::rate) allowed.insert({"window_s", "per_s", "direction", "consecutive"});
    if (r.kind == rule_kind::cumulative) allowed.insert({"window_s", "warning_fraction", "warning_level", "baseline"});
    if (r.kind == rule_kind::baseline) allowed.insert({"baseline", "deviation", "direction"});
    if (r.kind == rule_kind::trend) allowed.insert({"window_s", "bucket_s", "min_history_s", "per_s", "direction"});
    check_keys(c, params, allowed, "parameter");
    auto levels = params.find("levels");
    if (levels == params.end() || !levels->is_array() || levels->empty())
        c.fail("missing parameter 'levels' (a non-empty array)");
    for (const auto& l : *levels) r.levels.push_back(parse_level_spec(c, l, r.kind));
    r.for_s = c.number(params, "for_s", 0.0, 0);
    r.clear_for_s = c.number(params, "clear_for_s", 0.0, 0);
    if (r.kind == rule_kind::threshold) {
        const auto d = c.opt_string(params, "direction").value_or("high");
        if (d != "high" && d != "low") c.fail("'direction' must be high or low");
        r.dir = d == "high" ? direction::high : direction::low;
    }
    if (r.kind == rule_kind::rate) {
        r.window_s = c.number(params, "window_s", std::nullopt, 1);
        r.per_s = c.number(params, "per_s", 3600.0, 1);
        r.consecutive = static_cast<int>(c.number(params, "consecutive", 1.0, 1));
        const auto d = c.opt_string(params, "direction").value_or("rising");
        if (d == "rising")
            r.rate_dir = rate_direction::rising;
        else if (d == "falling")
            r.rate_dir = rate_direction::falling;
        else if (d == "absolute")
            r.rate_dir = rate_direction::absolute;
        else
            c.fail("'direction' must be rising, falling or absolute");
    }
    if (r.kind == rule_kind::cumulative) {
        // A day's window at least: settlement and deformation standards give daily rates.
        r.window_s = c.number(params, "window_s", 86400.0, 3600);
        r.warning_fraction = c.number(params, "warning_fraction", 0.7, 0);
        if (r.warning_fraction >= 1) c.fail("'warning_fraction' must be below 1");
        if (params.contains("warning_level")) r.warning_level = c.level_of(params, "warning_level");
        const auto b = c.opt_string(params, "baseline").value_or("first_reading");
        if (b != "first_reading" && b != "limits") c.fail("'baseline' must be first_reading or limits");
        r.baseline_from_limits = b == "limits";
        for (const auto& l : r.levels)
            if (!l.rate && !l.rate_fraction) c.fail("each cumulative level needs a 'rate' (per day)");
    }
    if (r.kind == rule_kind::baseline) parse_baseline_params(c, params, r);
    if (r.kind == rule_kind::trend) parse_trend_params(c, params, r);
    check_order(c, r);
    if (r.warning_level && !more_severe(r.levels.back().lvl, *r.warning_level))
        c.fail("'warning_level' must be less severe than every alarm level");
}

/// Fault rules: which of the range, spike and stuck tests apply, with what numbers.
void parse_fault_params(const checker& c, const json& params, rule& r) {
    check_keys(c, params, {"level", "range", "spike", "stuck", "for_s", "clear_for_s"}, "parameter");
    r.fault_level = c.level_of(params, "level", level::yellow);
    r.for_s = c.number(params, "for_s", 0.0, 0);
    r.clear_for_s = c.number(params, "clear_for_s", 0.0, 0);
    auto part = [&](const char* name) -> const json* {
        auto it = params.find(name);
        if (it == params.end()) return nullptr;
        if (!it->is_object() || it->empty()) c.fail(std::string("'") + name + "' must be a non-empty object");
        return &*it;
    };
    fault_spec& f = r.fault;
    if (const json* range = part("range")) {
        check_keys(c, *range, {"min", "max"}, "range field");
        if (range->contains("min")) f.min = c.number(*range, "min", std::nullopt);
        if (range->contains("max")) f.max = c.number(*range, "max", std::nullopt);
        if (f.min && f.max && !(*f.min < *f.max)) c.fail("empty range: 'min' must be below 'max'");
    }
    if (const json* spike = part("spike")) {
        check_keys(c, *spike, {"max_step", "window_s", "k", "min_dev"}, "spike field");
        if (spike->contains("max_step")) f.max_step = c.number(*spike, "max_step", std::nullopt, 0);
        f.spike_window_s = c.number(*spike, "window_s", 0.0, 0);
        f.spike_k = c.number(*spike, "k", 5.0, 1);
        f.spike_min_dev = c.number(*spike, "min_dev", 0.0, 0);
        if (!f.max_step && f.spike_window_s <= 0) c.fail("'spike' needs 'max_step' or 'window_s'");
        // Without a floor a flat series (MAD 0) would call every change a spike.
        if (f.spike_window_s > 0 && f.spike_min_dev <= 0) c.fail("'spike' with 'window_s' needs 'min_dev' > 0");
    }
    if (const json* stuck = part("stuck")) {
        check_keys(c, *stuck, {"epsilon", "count", "for_s"}, "stuck field");
        f.stuck_epsilon = c.number(*stuck, "epsilon", std::nullopt, 0);
        f.stuck_count = static_cast<int>(c.number(*stuck, "count", 0.0, 0));
        f.stuck_for_s = c.number(*stuck, "for_s", 0.0, 0);
        if (f.stuck_count < 2 && f.stuck_for_s <= 0) c.fail("'stuck' needs 'count' (at least 2) or 'for_s'");
    }
    if (!f.min && !f.max && !f.has_spike() && !f.stuck_epsilon)
        c.fail("a fault rule needs at least one of 'range', 'spike', 'stuck'");
}

/// Compound rules: the condition over the site's sensors and alarms, and the level it raises.
void parse_scope(const checker& c, const json& params, rule& r) {
    const auto scope = c.opt_string(params, "scope").value_or("site");
    if (scope != "site" && scope != "group") c.fail("'scope' must be site or group");
    r.per_group = scope == "group";
}

void parse_compound_params(const checker& c, const json& params, rule& r) {
    check_keys(c, params, {"level", "when", "for_s", "clear_for_s", "scope"}, "parameter");
    parse_scope(c, params, r);
    r.for_s = c.number(params, "for_s", 0.0, 0);
    r.clear_for_s = c.number(params, "clear_for_s", 0.0, 0);
    if (params.value("level", json()) == "one_above") {
        r.one_above_members = true;
    } else {
        r.compound_level = c.level_of(params, "level");
    }
    if (!params.contains("when")) c.fail("missing parameter 'when' (the condition)");
    try {
        r.when = parse_condition(params["when"]);
    } catch (const std::invalid_argument& e) {
        c.fail(std::string("'when': ") + e.what());
    }
    std::vector<std::string> kinds;
    referenced(*r.when, kinds, r.member_rules);
    r.kinds = kinds;
    if (r.one_above_members && r.member_rules.empty())
        c.fail("level 'one_above' needs an alarm in the condition to be one above");
}

/// Correlation rules (R11): at least k sensors of a site with an alarm of one rule at a level,
/// within a time window and a distance; written as a compound with one count.
void parse_correlation_params(const checker& c, const json& params, rule& r) {
    check_keys(
        c,
        params,
        {"rule", "level", "at_least", "within_s", "within_m", "same_group", "raise", "for_s", "clear_for_s", "scope"},
        "parameter"
    );
    const auto member_rule = c.opt_string(params, "rule");
    if (!member_rule || member_rule->empty()) c.fail("missing parameter 'rule' (the rule whose alarms are counted)");
    json count{{"alarm", *member_rule}};
    if (params.contains("level")) count["level"] = params["level"];
    json when{{"count", count}, {"at_least", params.value("at_least", json())}};
    for (const char* key : {"within_s", "within_m", "same_group"})
        if (params.contains(key)) when[key] = params[key];
    json as_compound{{"level", params.value("raise", json())}, {"when", when}};
    for (const char* key : {"for_s", "clear_for_s", "scope"})
        if (params.contains(key)) as_compound[key] = params[key];
    if (!params.contains("raise")) c.fail("missing parameter 'raise' (the group alarm's level, or one_above)");
    parse_compound_params(c, as_compound, r);
}

/// Handling advice per level. Every level the rule can raise needs some: an alarm without
/// advice leaves the operator guessing, which is what the platform exists to prevent.
void parse_advice(const checker& c, const json& j, rule& r) {
    auto advice = j.find("advice");
    if (advice == j.end() || !advice->is_object() || advice->empty())
        c.fail("missing 'advice' (what the operator should do, per level)");
    for (auto it = advice->begin(); it != advice->end(); ++it) {
        auto l = parse_level(it.key());
        if (!l) c.fail("'advice' keys must be levels");
        const json& v = *it;
        if (!v.is_object() || v.size() != 2 || !v.contains("zh") || !v.contains("en") || !v["zh"].is_string() ||
            !v["en"].is_string() || v["zh"].get<std::string>().empty() || v["en"].get<std::string>().empty())
            c.fail("advice for " + it.key() + " must be {\"zh\":\"...\",\"en\":\"...\"}, both non-empty");
        r.advice[*l] = {v["zh"].get<std::string>(), v["en"].get<std::string>()};
    }
    std::vector<level> used;
    if (r.kind == rule_kind::event)
        used.push_back(r.event_level);
    else if (r.kind == rule_kind::offline)
        used.push_back(r.offline_level);
    else if (r.kind == rule_kind::fault)
        used.push_back(r.fault_level);
    else if (r.kind == rule_kind::compound && r.one_above_members)
        used.insert(used.end(), {level::red, level::orange, level::yellow});
    else if (r.kind == rule_kind::compound)
        used.push_back(r.compound_level);
    else
        for (const auto& l : r.levels) used.push_back(l.lvl);
    if (r.warning_level) used.push_back(*r.warning_level);
    if (r.kind == rule_kind::cumulative && r.baseline_from_limits) used.push_back(level::blue);
    for (auto l : used)
        if (!r.advice.count(l)) c.fail("no advice for level " + std::string(to_string(l)));
}

// Responders' material kinds are matched against warehouse stock by tag: the same id syntax.
bool material_kind_ok(const std::string& kind) {
    if (kind.empty() || kind.size() > 64 || kind.front() < 'a' || kind.front() > 'z') return false;
    return std::all_of(kind.begin(), kind.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
    });
}

/// {"teams": [team kinds], "materials": [material kinds]}, most relevant first.
responders parse_responders(const checker& c, const json& j) {
    const char* usage = "'responders' must be {\"teams\":[team kinds],\"materials\":[material kinds]}";
    if (!j.is_object()) c.fail(usage);
    check_keys(c, j, {"teams", "materials"}, "responders field");
    responders out;
    const auto list = [&](const char* key, std::vector<std::string>& into, auto valid, const std::string& what) {
        auto it = j.find(key);
        if (it == j.end()) return;
        if (!it->is_array() || it->size() > 16) c.fail(usage);
        for (const auto& v : *it) {
            if (!v.is_string() || !valid(v.get<std::string>())) c.fail(std::string("responders.") + key + ": " + what);
            if (std::find(into.begin(), into.end(), v.get<std::string>()) == into.end())
                into.push_back(v.get<std::string>());
        }
    };
    list(
        "teams",
        out.teams,
        [](const std::string& k) { return std::find(kTeamKinds.begin(), kTeamKinds.end(), k) != kTeamKinds.end(); },
        "team kinds are fire, hazmat, gas_repair, medical, rescue, electric, water, structural"
    );
    list("materials", out.materials, material_kind_ok, "a material kind is a lower-case word with underscores");
    return out;
}

rule parse_rule(const json& j, const std::string& pack_domain, const std::string& file) {
    std::string id = j.is_object() && j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : "";
    checker c(file, id);
    if (!j.is_object()) c.fail("a rule must be an object");
    if (id.empty()) c.fail("missing 'id'");
    check_keys(c, j, {"id", "name", "domain", "kinds", "kind", "params", "advice", "responders", "source"}, "field");
    rule r;
    r.id = id;
    r.definition = j;
    parse_identity(c, j, pack_domain, r);

    const json params = j.value("params", json::object());
    if (!params.is_object()) c.fail("'params' must be an object");
    switch (r.kind) {
        case rule_kind::threshold:
        case rule_kind::rate:
        case rule_kind::cumulative:
        case rule_kind::baseline:
        case rule_kind::trend:
            parse_leveled_params(c, params, r);
            break;
        case rule_kind::event:
            check_keys(c, params, {"level", "clear_after_s"}, "parameter");
            r.event_level = c.level_of(params, "level");
            r.clear_after_s = c.number(params, "clear_after_s", 0.0, 0);
            break;
        case rule_kind::offline:
            check_keys(c, params, {"level", "multiplier"}, "parameter");
            r.offline_level = c.level_of(params, "level", level::blue);
            r.multiplier = c.number(params, "multiplier", 3.0, 1);
            break;
        case rule_kind::fault:
            parse_fault_params(c, params, r);
            break;
        case rule_kind::compound:
            if (j.value("kind", "") == "correlation")
                parse_correlation_params(c, params, r);
            else
                parse_compound_params(c, params, r);
            break;
    }
    parse_advice(c, j, r);
    if (auto it = j.find("responders"); it != j.end()) r.wanted = parse_responders(c, *it);
    return r;
}

}  // namespace

// A pack is one domain's rules; a rule's id must be unique within its pack and across all
// packs (checked by load_packs), since alarms and bundles name rules by id.
std::vector<rule> parse_pack(const json& pack, const std::string& file) {
    if (!pack.is_object() || !pack.contains("domain") || !pack["domain"].is_string() || !pack.contains("rules") ||
        !pack["rules"].is_array())
        throw pack_error(file + ": a pack must be {\"domain\":\"...\",\"rules\":[...]}");
    const std::string domain = pack["domain"];
    responders pack_wanted;
    if (auto it = pack.find("responders"); it != pack.end()) {
        const std::string whole_pack = "(pack)";
        pack_wanted = parse_responders(checker(file, whole_pack), *it);
    }
    std::vector<rule> out;
    std::set<std::string> ids;
    bool has_offline = false;
    for (const auto& j : pack["rules"]) {
        out.push_back(parse_rule(j, domain, file));
        // A rule's own responders, even an empty {} (a device fault calls no rescue team), win.
        if (!j.contains("responders")) out.back().wanted = pack_wanted;
        if (!ids.insert(out.back().id).second) throw pack_error(file + ": rule " + out.back().id + ": duplicate id");
        has_offline = has_offline || out.back().kind == rule_kind::offline;
    }
    if (!has_offline) throw pack_error(file + ": every pack needs an offline rule covering its sensor kinds");
    std::map<std::string, std::string> file_of;
    for (const auto& r : out) file_of[r.id] = file;
    check_references(out, file_of);
    return out;
}

// In file name order, so every instance and every reload sees the packs in the same order.
std::vector<std::pair<std::string, json>> read_packs(const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
    if (ec) throw pack_error(dir + ": cannot read rule pack directory: " + ec.message());
    if (files.empty()) throw pack_error(dir + ": no rule packs (*.json)");
    std::sort(files.begin(), files.end());
    std::vector<std::pair<std::string, json>> out;
    for (const auto& f : files) {
        std::ifstream in(f);
        std::stringstream text;
        text << in.rdbuf();
        json doc = json::parse(text.str(), nullptr, false, true);
        if (doc.is_discarded()) throw pack_error(f.string() + ": not valid JSON");
        out.emplace_back(f.filename().string(), std::move(doc));
    }
    return out;
}

// Every pack is read and checked before any is used: a bad file stops start-up (or is refused by
// a reload) with file, rule and reason, never half a rule set.
std::vector<rule> load_packs(const std::string& dir) {
    std::vector<rule> all;
    // Ids are global, not per pack: alarms and rule states are keyed by rule id alone.
    std::set<std::string> ids;
    std::map<std::string, std::string> file_of;
    for (const auto& [file, doc] : read_packs(dir)) {
        for (auto& r : parse_pack(doc, file)) {
            if (!ids.insert(r.id).second) throw pack_error(file + ": rule " + r.id + ": duplicate id");
            file_of[r.id] = file;
            all.push_back(std::move(r));
        }
    }
    check_references(all, file_of);
    return all;
}

// Compounds name other rules; one naming a rule that does not exist, or another domain's, could
// never hold: refused at load, with the file and rule named.
void check_references(const std::vector<rule>& rules, const std::map<std::string, std::string>& file_of) {
    std::map<std::string, const rule*> by_id;
    for (const auto& r : rules) by_id[r.id] = &r;
    for (const auto& r : rules) {
        if (r.kind != rule_kind::compound) continue;
        const std::string where = (file_of.count(r.id) ? file_of.at(r.id) : std::string("?")) + ": rule " + r.id + ": ";
        for (const auto& id : r.member_rules) {
            auto it = by_id.find(id);
            if (it == by_id.end())
                throw pack_error(where + "its condition names rule '" + id + "', which does not exist");
            if (it->second->domain != r.domain)
                throw pack_error(where + "rule '" + id + "' is of domain " + it->second->domain + ", not " + r.domain);
            // A compound's alarm lives where it looks: a site's cannot be read from a group.
            if (it->second->kind == rule_kind::compound && it->second->per_group != r.per_group)
                throw pack_error(
                    where + "rule '" + id + "' is scoped to a " + (it->second->per_group ? "group" : "site") +
                    ", this one to a " + (r.per_group ? "group" : "site")
                );
        }
        // A compound reading itself through other compounds would never settle: refuse cycles.
        std::vector<std::string> path{r.id};
        std::function<void(const rule&)> walk = [&](const rule& at) {
            for (const auto& id : at.member_rules) {
                const rule& next = *by_id.at(id);
                if (next.kind != rule_kind::compound) continue;
                if (std::find(path.begin(), path.end(), id) != path.end()) {
                    std::string cycle;
                    for (const auto& p : path) cycle += p + " -> ";
                    throw pack_error(where + "cycle between compound rules: " + cycle + id);
                }
                path.push_back(id);
                walk(next);
                path.pop_back();
            }
        };
        walk(r);
    }
}

// A rule's levels may name one of the sensor's own limits ("limit": "<key>") instead of a number:
// resolved once per sensor version, not per reading.
std::vector<resolved_level> resolve_levels(const rule& r, const json& limits) {
    auto limit_of = [&](const std::string& key) -> std::optional<double> {
        if (!limits.is_object()) return std::nullopt;
        auto it = limits.find(key);
        if (it == limits.end() || !it->is_number()) return std::nullopt;
        return it->get<double>();
    };
    // A level whose limit the sensor does not define is left out, not guessed: the sensor then
    // alarms on the levels it can be judged by.
    std::vector<resolved_level> out;
    for (const auto& s : r.levels) {
        std::optional<double> v;
        std::string from;
        if (s.limit && (v = limit_of(*s.limit))) from = "limits." + *s.limit;
        if (!v && s.fraction) {
            if (auto base = limit_of(*s.of)) {
                v = *s.fraction * *base;
                std::ostringstream text;
                text << *s.fraction << " × limits." << *s.of;
                from = text.str();
            }
        }
        if (!v && s.value) v = s.value;
        if (!v) continue;
        std::optional<double> rate = s.rate;
        if (s.rate_fraction)
            if (auto base = limit_of(*s.rate_of)) rate = *s.rate_fraction * *base;
        out.push_back({s.lvl, *v, s.deadband, rate, std::move(from)});
    }
    return out;
}

}  // namespace cityguard::rules
