#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "cityguard/alarm_model/alarm.hpp"
#include "cityguard/rules/evaluator.hpp"
#include "cityguard/rules/reading.hpp"
#include "cityguard/rules/rule.hpp"

namespace cityguard::alarm_model {

/// What the engine needs to know about a sensor.
struct sensor_facts {
    std::string id;
    std::int32_t key = 0;
    std::string site;
    std::string domain;
    std::string kind;
    std::int32_t interval_s = 60;
    nlohmann::json limits = nlohmann::json::object();
    std::uint64_t version = 0;           ///< changes whenever any field above changes (cached levels follow it)
    std::optional<double> lat{}, lon{};  ///< for correlation rules' distances
    std::vector<std::string> groups{};   ///< named groups: correlation rules scoped to groups count them
};

using reading = rules::reading;

/// The in-memory rule engine and the not-closed alarms. Pure: no clock, no I/O.
///
/// Every mutating call stages its changes; commit() makes them current once the store has
/// committed them, rollback() forgets them when it has not. So memory never runs ahead of the
/// database. Not thread-safe: one owner thread (the ingest writer thread) calls everything.
class engine {
  public:
    using sensor_lookup = std::function<const sensor_facts*(std::int32_t key)>;

    explicit engine(std::vector<rules::rule> rules, util::micros started_at);

    /// A pack reload: an engine with `rules` that takes over what `previous` knows (sensors,
    /// sites, latest readings, open alarms). A rule whose judgement did not change (its
    /// definition apart from name, advice and source) keeps its slots exactly: alarms, reading
    /// windows, on-delays, look-back. A changed rule keeps its open alarms and persisted state,
    /// as after a restart, and its windows start afresh. A removed rule's open alarms stay,
    /// under the rule retired (see retire_removed). `previous` must have nothing staged.
    engine(std::vector<rules::rule> rules, engine&& previous);

    /// What the last reload did, by rule id.
    struct reload_summary {
        std::vector<std::string> added, changed, removed;
        std::size_t unchanged = 0;
    };
    const reload_summary& last_reload() const noexcept { return reload_; }
    /// Marks the active open alarms of removed rules `unknown` (their rule no longer judges
    /// them); the operator closes them. Staged: write and commit like any change set.
    changes retire_removed(util::micros now);

    /// Every rule, retired ones included (those are flagged `retired`).
    const std::vector<rules::rule>& rules() const noexcept { return rules_; }

    // Start-up restore, before anything else runs. Alarms and states of sensors or rules that
    // no longer exist are ignored.
    void restore_alarm(alarm a, const sensor_facts& sensor);
    void restore_state(const std::string& rule, const sensor_facts& sensor, const nlohmann::json& persisted);
    /// A compound alarm (its `sensor` is empty: it belongs to its site) and a compound's state.
    void restore_site_alarm(alarm a);
    void restore_site_state(const std::string& rule, const std::string& site, const nlohmann::json& persisted);
    /// The rule_state subject of a compound rule at a site (rule states are keyed by rule and
    /// subject; a sensor's subject is its id).
    static std::string site_subject(const std::string& site) { return "site:" + site; }
    void restore_last_reading(const sensor_facts& sensor, util::micros ts, double value);
    /// How far before its latest reading the rules of `sensor` look (span 0: not at all), and
    /// the spacing of the samples they keep: the store need not send readings closer than that.
    rules::history_need history_needed(const sensor_facts& sensor);
    /// The stored readings of that span, oldest first, fed back into the rules' windows.
    void restore_history(const sensor_facts& sensor, const std::vector<std::pair<util::micros, double>>& readings);

    /// Evaluates new readings (`rows` sorted by sensor then ts; `inserted[i]` false for
    /// duplicates, which are skipped). A reading not newer than the last one evaluated for its
    /// rule and sensor is stored but does not drive alarm state.
    changes evaluate(
        const std::vector<reading>& rows,
        const std::vector<bool>& inserted,
        const sensor_lookup& sensors,
        util::micros now
    );

    /// Time-driven rules: offline detection over `all_sensors`, event expiry.
    changes tick(const std::vector<const sensor_facts*>& all_sensors, util::micros now);

    struct not_found {};
    /// An operator's action on a not-closed alarm. not_found when no such alarm is open here.
    std::variant<changes, refusal, not_found> act(std::int64_t alarm_id, const action_request& req, util::micros now);

    /// The ids the store gave the new alarms of the last staged changes, in their order.
    void assign_ids(const std::vector<std::int64_t>& ids);
    void commit();
    void rollback();

    std::vector<alarm> open_alarms() const;
    std::optional<alarm> find(std::int64_t id) const;

  private:
    using slot_key = std::uint64_t;  ///< rule index << 32 | sensor key

    /// What a slot was before the change set in progress touched it, so rollback() can put it
    /// back. Small: no reading windows are copied.
    struct undo_entry {
        bool existed = false;
        rules::persisted_fields fields;
        std::optional<util::micros> last_ts;
        std::optional<double> last_value;
        std::optional<alarm> open;
        bool touched = false;  ///< has an alarm write in this change set
        rules::condition_memory memory;
        rules::open_bucket filling;  ///< baseline / trend: the bucket being filled
    };

    struct slot {
        rules::eval_state state;
        std::optional<alarm> open;  ///< the alarm of this (rule, sensor) that is not closed
        std::uint64_t levels_version = ~0ULL;
        std::vector<rules::resolved_level> levels;  ///< the rule's levels for this sensor, cached
        std::uint64_t generation = 0;               ///< the change set that last saved `undo`
        undo_entry undo;
        rules::condition_memory memory;  ///< compound slots: the condition's look-back
    };

    /// A site, for compound rules: its slots are keyed by a negative number, never a sensor key.
    /// A named registry group is a site too ("group:NAME", one per domain), for the compounds
    /// scoped to groups: its sensors are the group's members, wherever their sites are.
    struct site_info {
        std::int32_t key = 0;
        std::string id;
        std::string domain;
        bool is_group = false;
        std::string map_key;  ///< its key in sites_: the id, or for a group the id and domain
        struct member_sensor {
            std::string id, kind;
            std::optional<std::pair<double, double>> position;
            std::vector<std::string> groups;
        };
        std::unordered_map<std::int32_t, member_sensor> sensors;
        /// The same sensors by kind: a compound asks for "the site's gas_lel sensors" on every
        /// reading it judges, and a site of a hundred sensors must not be scanned for them.
        std::unordered_map<std::string, std::vector<std::int32_t>> by_kind;
        void put(std::int32_t key, member_sensor member);
        void remove(std::int32_t key);
        /// The site's clock: the newest reading time seen, and the server time it was seen at.
        /// Timer ticks advance it by the server time elapsed since, so a site's compounds run
        /// on reading time even when its gateway posts late (or a test posts the past).
        util::micros reading_clock = 0, server_clock = 0;
    };

    using rule_list = std::vector<std::uint32_t>;  ///< indexes into rules_
    const rule_list& rules_for(const sensor_facts& sensor);
    /// The rules that judge a sensor's readings (offline, fault, process) and the compound rules
    /// its readings may change (members before the compounds that read them), cached per sensor.
    struct sensor_rules {
        std::uint64_t version = ~0ULL;
        const rule_list* rules = nullptr;
        const rule_list* compounds = nullptr;           ///< every compound a reading may change
        const rule_list* compounds_by_value = nullptr;  ///< those naming its kind (its value matters)
        /// Those reading its alarms whose answer also changes with reading time (a delay or a
        /// look-back): judged by its readings while their on- or off-delay runs.
        const rule_list* compounds_by_time = nullptr;
        bool any_per_group = false;
    };
    struct compound_lists {
        rule_list all, by_value, by_time;
        bool any_per_group = false;  ///< some are scoped to named groups
    };
    const sensor_rules& rules_of(const sensor_facts& sensor);
    /// The compounds a reading that moved no alarm must judge: those reading its value, and
    /// those judged over time whose slot at one of `sites` is pending or raised. In order.
    const rule_list& compounds_due(const sensor_rules& applicable, const std::vector<const site_info*>& sites);
    rule_list due_scratch_;  // compounds_due's answer, reused
    /// The site (or "group:NAME" pseudo-site) of that id in that domain, created on first use.
    site_info& site_named(const std::string& id, const std::string& domain);
    /// Keeps a sensor listed in its site and in the pseudo-sites of its named groups.
    void place_sensor(const sensor_facts& sensor);
    static std::string group_site(const std::string& group) { return "group:" + group; }
    /// Re-evaluates `compounds` at the sensor's site, at time `at`.
    void evaluate_site(site_info& site, const rule_list& compounds, util::micros at, util::micros now);
    rules::site_facts facts_of(const site_info& site) const;
    void tick_compounds(util::micros now);
    std::optional<std::pair<double, util::micros>> latest(std::int32_t sensor) const;
    static slot_key key_of(std::uint32_t rule, std::int32_t sensor) noexcept {
        return (static_cast<std::uint64_t>(rule) << 32) | static_cast<std::uint32_t>(sensor);
    }
    std::optional<std::uint32_t> rule_index(const std::string& id) const;
    /// The index of `id`, or of a retired stand-in added for it (an open alarm of a rule that
    /// no pack has any more must stay reachable by operators).
    std::uint32_t rule_index_or_retired(const std::string& id, const std::string& domain);
    void index_rules();
    /// The live slot, after saving what rollback() needs to restore it (first touch only).
    slot& stage(slot_key key);
    util::micros last_seen(std::int32_t sensor) const;

    alarm& touch(slot_key key, slot& s);
    void add_event(slot_key key, event e);
    void record_state(
        const rules::rule& r, const std::string& sensor, const rules::persisted_fields& before, const slot& s
    );
    void apply_outcome(
        const rules::rule& r,
        const sensor_facts& sensor,
        slot_key key,
        slot& s,
        const rules::outcome& o,
        util::micros ts,
        util::micros now
    );
    void raise(
        const rules::rule& r,
        const sensor_facts& sensor,
        slot_key key,
        slot& s,
        rules::level lvl,
        condition cond,
        double value,
        const std::string& note,
        util::micros ts,
        util::micros now
    );
    void set_unknown(std::int32_t sensor, slot_key except, util::micros now, const char* note);
    /// Sets an open alarm's condition unknown, with the event saying why.
    void mark_unknown(slot_key key, slot& s, util::micros now, const char* note);
    /// Inhibition (R14): marks the member alarms of a compound alarm that holds (condition
    /// active) and releases those it no longer contains, or all when it stops holding.
    void mark_members(slot& group, const site_info& site, util::micros now);
    /// The alarms a group alarm contains: those it names, and the active process alarms of the
    /// sensors it read by value.
    std::vector<std::int64_t> member_alarms(const alarm& group, const site_info& site) const;
    /// True while that group alarm is open here and active: it holds the members it marked.
    bool holds_members(std::int64_t group) const;
    changes take_staged_changes();
    void end_change_set();

    std::vector<rules::rule> rules_;
    util::micros started_at_;
    reload_summary reload_;
    std::unordered_map<std::string, rule_list> rules_by_kind_;  ///< domain + kind → rules
    std::unordered_map<std::int32_t, sensor_rules> rules_by_sensor_;
    std::unordered_map<slot_key, slot> slots_;
    std::unordered_map<std::int64_t, slot_key> slot_of_alarm_;
    /// Group alarm id → the member alarms it marked. An index only: each entry is checked
    /// against the member's inhibited_by before use, so a rolled-back change set leaves it safe.
    std::unordered_map<std::int64_t, std::vector<std::int64_t>> marked_by_;
    std::unordered_map<std::int32_t, util::micros> last_seen_;
    std::unordered_map<std::int32_t, std::vector<slot_key>> slots_of_sensor_;
    std::unordered_map<std::string, std::int32_t> sensor_keys_;  ///< sensor id → key, for restore

    // Compound rules (R12): per site, what its sensors last read and which alarms are active.
    rule_list compound_order_;  ///< every compound, members before the compounds that read them
    std::unordered_map<std::string, compound_lists> compounds_by_kind_;  ///< domain + kind → compounds
    std::uint64_t events_added_ = 0;  ///< counts add_event(): did a reading move an alarm
    std::unordered_map<std::string, site_info> sites_;
    std::unordered_map<std::int32_t, std::string> site_by_key_;
    std::unordered_map<std::string, std::uint32_t> rule_ids_;
    std::unordered_map<std::int32_t, std::string> site_of_sensor_;
    std::unordered_map<std::int32_t, std::vector<std::string>> groups_of_sensor_;  ///< sites_ keys
    std::unordered_map<std::int32_t, std::pair<double, util::micros>> latest_;     ///< last good reading per sensor
    std::vector<slot_key> compound_slots_;

    // The change set in progress: slots are changed in place, each keeping in `undo` what it
    // was when this generation first touched it.
    std::uint64_t generation_ = 1;
    std::vector<slot_key> staged_keys_;
    std::unordered_map<std::int32_t, util::micros> staged_seen_;
    std::unordered_map<std::int32_t, std::pair<double, util::micros>> staged_latest_;
    std::vector<slot_key> touched_;  ///< slots with alarm writes, first-touch order
    std::unordered_map<slot_key, std::vector<event>> staged_events_;
    std::vector<changes::state_write> staged_states_;
    std::vector<slot_key> new_alarm_keys_;  ///< slots whose alarm awaits an id
};

}  // namespace cityguard::alarm_model
