#pragma once

#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cityguard/rules/compound.hpp"

/// Alarm rules and rule packs. Pure: no I/O beyond parsing the JSON it is given.
namespace cityguard::rules {

/// What a rescue team does: a rule's responders name these, a team resource is one of them
/// (docs/resources.md).
inline constexpr std::array<std::string_view, 8> kTeamKinds{
    "fire", "hazmat", "gas_repair", "medical", "rescue", "electric", "water", "structural"};

/// Who and what an incident of a rule wants on site, most relevant first: team kinds, and kinds
/// of material (a warehouse's stock, such as "gas_detector"). Part of a rule's advice.
struct responders {
    std::vector<std::string> teams;
    std::vector<std::string> materials;
    bool empty() const noexcept { return teams.empty() && materials.empty(); }
};

/// Normalised severity, most severe first: red (重大) = 1 ... blue (低) = 4.
enum class level : int { red = 1, orange = 2, yellow = 3, blue = 4 };

std::string_view to_string(level l) noexcept;
/// The level's Chinese name as warnings use it: 红色, 橙色, 黄色, 蓝色.
std::string_view chinese_name(level l) noexcept;
std::optional<level> parse_level(std::string_view text) noexcept;
/// True when a is more severe than b.
inline bool more_severe(level a, level b) noexcept { return static_cast<int>(a) < static_cast<int>(b); }

/// Text shown to people, in both languages the platform speaks: each client shows the one its
/// operator chose, so the two are never joined into one string.
struct text {
    std::string zh;
    std::string en;
    bool operator==(const text&) const = default;
};

enum class rule_kind { threshold, rate, cumulative, event, offline, fault, compound, baseline, trend };
std::string_view to_string(rule_kind k) noexcept;

/// One level of a multi-level rule. The limit is `value`, or the sensor's own
/// `limits[limit]` when the sensor has it, or `fraction` × the sensor's `limits[of]`.
struct level_spec {
    level lvl = level::yellow;
    std::optional<double> value;
    std::optional<std::string> limit;
    std::optional<double> fraction;
    std::optional<std::string> of;
    double deadband = 0;                  ///< hysteresis for clearing (threshold, rate)
    std::optional<double> rate;           ///< cumulative: rate limit per day for this level
    std::optional<double> rate_fraction;  ///< cumulative: rate = rate_fraction × limits[rate_of]
    std::optional<std::string> rate_of;
};

/// Sensor-fault tests (R8, R9): what makes a reading implausible or a sensor stuck. Each part
/// is optional; a fault rule has at least one.
struct fault_spec {
    std::optional<double> min, max;       ///< physical range: outside it a reading is bad
    std::optional<double> max_step;       ///< the largest plausible change from the last good reading
    double spike_window_s = 0;            ///< > 0: robust spike test against the window's median
    double spike_k = 5;                   ///< ... a reading beyond k × 1.4826 × MAD from it is a spike
    double spike_min_dev = 0;             ///< ... and beyond this at least (a flat series has MAD 0)
    std::optional<double> stuck_epsilon;  ///< set: stuck when max − min ≤ epsilon ...
    int stuck_count = 0;                  ///< ... over at least this many readings (0: any)
    double stuck_for_s = 0;               ///< ... spanning at least this long (0: any)
    bool has_spike() const noexcept { return max_step.has_value() || spike_window_s > 0; }
};

/// Baseline deviation (R5) and trend (R6) rules judge a series of bucket means: each bucket's
/// mean is taken over the first reading of each of its kSeriesSamples aligned sub-steps, so a
/// fast sensor costs no more than a slow one and a restart can rebuild the open bucket exactly
/// from thinned stored readings.
struct series_spec {
    double bucket_s = 3600;
    double span_s = 0;                     ///< baseline: the median's look-back; trend: the regression window
    double min_history_s = 0;              ///< closed buckets must cover this much before the rule judges
    std::optional<std::string> reference;  ///< baseline: a sensor limit used as the reference
    bool relative = false;                 ///< baseline: deviation as a fraction of the reference
};
inline constexpr int kSeriesSamples = 96;

enum class direction { high, low };
enum class rate_direction { rising, falling, absolute };

struct rule {
    std::string id;
    std::string name_zh;
    std::string name_en;
    std::string domain;
    std::vector<std::string> kinds;  ///< sensor kinds; "video.*" matches every video kind
    rule_kind kind = rule_kind::threshold;

    std::vector<level_spec> levels;  ///< most severe first (validated)
    direction dir = direction::high;
    double for_s = 0;        ///< on-delay before raising
    double clear_for_s = 0;  ///< off-delay before lowering or clearing

    // rate
    double window_s = 0;
    double per_s = 3600;  ///< the rate's unit: change per this many seconds
    rate_direction rate_dir = rate_direction::rising;
    int consecutive = 1;

    // cumulative
    double warning_fraction = 0.7;
    std::optional<level> warning_level;
    bool baseline_from_limits = false;  ///< baseline must come from limits.baseline (else first reading)

    // event
    level event_level = level::yellow;
    double clear_after_s = 0;  ///< 0: only a 0 reading clears

    // offline
    double multiplier = 3;
    level offline_level = level::blue;

    // baseline, trend (rate_dir: rising = above the baseline, falling = below, absolute = either)
    series_spec series;

    // fault
    fault_spec fault;
    level fault_level = level::yellow;

    // compound: the alarm belongs to the site; `kinds` lists the sensor kinds it reads
    std::optional<condition_node> when;
    level compound_level = level::red;
    bool one_above_members = false;         ///< level: one above the most severe member alarm
    std::vector<std::string> member_rules;  ///< the rules whose alarms it reads
    /// Where it looks: the sensors of one site, or (scope "group") the sensors of one named
    /// registry group, wherever their sites are. A group's alarm belongs to "group:NAME".
    bool per_group = false;

    std::map<level, text> advice;  ///< what the operator should do, per level
    responders wanted;             ///< the rule's own `responders`, else its pack's
    std::string source;            ///< the standard or reasoning behind the numbers
    nlohmann::json definition;     ///< as written in the pack, for GET /api/v1/rules

    /// Kept by the engine after a reload removed it, or at start-up for an open alarm of a rule no
    /// pack has: it judges nothing, but operators can still act on its open alarms.
    bool retired = false;

    bool applies_to(std::string_view domain, std::string_view sensor_kind) const noexcept;
    /// The title of an alarm of this rule at a level.
    text title(level l) const;
    /// The advice at a level (empty when the rule has none for it).
    text advice_at(level l) const;
};

/// A refused pack: what() is "FILE: rule ID: reason".
class pack_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Parses and checks one pack (a JSON object with "domain" and "rules"). Throws pack_error.
std::vector<rule> parse_pack(const nlohmann::json& pack, const std::string& file);

/// Checks what compound rules refer to: every rule they read exists in their domain and is
/// not a compound that reads them back (no cycles). `file_of` names a rule's file. Throws
/// pack_error "FILE: rule ID: reason".
void check_references(const std::vector<rule>& rules, const std::map<std::string, std::string>& file_of);

/// True when a rule's or bundle item's kind pattern covers a sensor kind: the kind itself, "*",
/// or a prefix ending in "*" ("video.*").
bool kind_matches(std::string_view pattern, std::string_view sensor_kind) noexcept;

/// Every *.json file of `dir`, parsed, by file name in name order. Throws pack_error for an
/// unreadable or empty directory and for a file that is not JSON.
std::vector<std::pair<std::string, nlohmann::json>> read_packs(const std::string& dir);

/// All rules of every *.json pack in `dir`, in file then rule order. Throws pack_error
/// (including for duplicate rule ids across packs).
std::vector<rule> load_packs(const std::string& dir);

/// A level resolved against one sensor's limits.
struct resolved_level {
    level lvl;
    double limit;
    double deadband;
    std::optional<double> rate;  ///< cumulative only
    /// Where the limit came from: "" the pack's own number, else the sensor's registry entry
    /// ("limits.low", "0.8 × limits.design"); the alarm's event says which was used.
    std::string from{};
};

/// The levels of `r` that can be evaluated for a sensor with `limits`, most severe first.
/// Levels whose limit depends on a missing sensor limit are left out.
std::vector<resolved_level> resolve_levels(const rule& r, const nlohmann::json& limits);

}  // namespace cityguard::rules
