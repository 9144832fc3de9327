#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/alarm_model/alarm.hpp"
#include "cityguard/notification_model/policy.hpp"
#include "cityguard/util/time.hpp"

/// Deadlines, escalation and who is told, per open alarm (docs/notifications.md). Pure: it runs
/// on the writer thread beside the rule engine, sees every change set the engine wrote (with
/// ids), and returns what to write in the same transaction: escalation events, notices (one per
/// tier told; the store turns a notice into one outbox row per contact and channel) and the
/// alarms' deadline state. Staged like the engine: commit() after the transaction committed,
/// rollback() after it failed.
namespace cityguard::notification_model {

/// Why a tier is told.
enum class notice_kind { raised, level_up, escalated, reminder, cleared, closed };
std::string_view to_string(notice_kind k) noexcept;
std::optional<notice_kind> parse_notice_kind(std::string_view text) noexcept;

struct notice {
    std::int64_t alarm = 0;
    std::string site;
    notice_kind kind = notice_kind::raised;
    tier to = tier::enterprise;
    rules::level lvl = rules::level::blue;
};

/// A silence or maintenance window: matching alarms are recorded and shown, not notified and
/// not escalated. Empty matchers match anything; all given ones must match.
struct silence {
    std::int64_t id = 0;
    std::optional<std::string> site, sensor, rule, domain, district;
    util::micros starts_at = 0;
    util::micros ends_at = 0;

    bool active_at(util::micros now) const noexcept { return starts_at <= now && now < ends_at; }
};

/// The persisted part of one alarm's notification state (columns of the alarm).
struct deadline_state {
    std::optional<util::micros> ack_due;      ///< not acknowledged by then: the next tier is told
    std::optional<util::micros> dispose_due;  ///< still active and unresolved by then: reminder + next tier
    unsigned told = 0;                        ///< tiers told so far: bit 1 << tier
    std::optional<tier> highest_told() const noexcept;
    bool suppressed = false;              ///< silenced or inhibited: nothing sent, nothing escalated
    bool raise_pending = false;           ///< raised while suppressed: told when that ends
    std::optional<std::int64_t> silence;  ///< the silence holding it, if one does

    bool operator==(const deadline_state&) const = default;
};

struct escalation_output {
    struct alarm_event {
        std::int64_t alarm = 0;
        alarm_model::event what;
    };
    std::vector<alarm_event> events;
    std::vector<notice> notices;
    std::vector<std::pair<std::int64_t, deadline_state>> states;  ///< alarms whose state changed
    bool empty() const noexcept { return events.empty() && notices.empty() && states.empty(); }
};

class escalation {
  public:
    /// `district_of(site)`: the site's district ("" when unknown), for silences by district.
    escalation(const policy& p, std::function<std::string(const std::string&)> district_of)
        : policy_(&p), district_of_(std::move(district_of)) {}

    /// At start-up: an open alarm and its stored state.
    void restore(const alarm_model::alarm& a, const deadline_state& state);
    /// The engine's change set before it is written: new alarms carry provisional ids (below
    /// zero, alarms::alarm_transaction gives them), which the output names too.
    escalation_output observe(const alarm_model::changes& written, util::micros now);
    /// The database's ids for the provisional ones, once the change set is written: what was
    /// staged under a provisional id moves to the real one. Before commit() or rollback().
    void assign_ids(const std::vector<std::pair<std::int64_t, std::int64_t>>& provisional_to_real);
    /// Deadlines and silences that start or end: call on every timer step.
    escalation_output tick(util::micros now);
    /// The silences in force and to come (replaces the set): what is observed next is matched
    /// against them; alarms already tracked follow at the next tick.
    void set_silences(std::vector<silence> silences);
    /// One silence created, or ended early (the same id with its new end). O(1) to add.
    void put_silence(const silence& s);

    void commit();
    void rollback();

    std::optional<deadline_state> state_of(std::int64_t alarm) const;
    std::size_t tracked() const noexcept { return tracked_.size(); }

  private:
    struct entry {
        alarm_model::alarm alarm;
        std::string district;
        deadline_state state;
    };

    entry& stage(std::int64_t id);  ///< remembers the entry's value before the first change
    void set_deadlines(entry& e, util::micros now) const;
    void start(entry& e, util::micros now, notice_kind kind, escalation_output& out);
    bool may_change(const entry& e, util::micros now) const;  ///< cheap: whether tick() has work for it
    void tell(const entry& e, tier t, notice_kind kind, escalation_output& out) const;
    void record(std::int64_t id, alarm_model::event ev, escalation_output& out) const;
    void check_suppression(entry& e, util::micros now, escalation_output& out);
    void check_deadlines(entry& e, util::micros now, escalation_output& out);
    const silence* matching_silence(const entry& e, util::micros now) const;
    const level_policy& policy_of(const entry& e) const { return policy_->for_alarm(e.alarm.lvl, e.alarm.domain); }

    const policy* policy_;
    std::function<std::string(const std::string&)> district_of_;
    std::map<std::int64_t, entry> tracked_;
    std::vector<silence> silences_;
    std::map<std::int64_t, std::optional<entry>> undo_;  ///< before-images of staged entries
};

}  // namespace cityguard::notification_model
