#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cityguard/rules/rule.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/time.hpp"

/// Alarms and their lifecycle. Pure: no I/O.
namespace cityguard::alarm_model {

using rules::level;

/// What an alarm is about: the monitored process, or the device that monitors it (offline,
/// fault). Device alarms call for a technician, not an evacuation, and are shown apart.
enum class category { process, fault, offline };
std::string_view to_string(category c) noexcept;
std::optional<category> parse_category(std::string_view) noexcept;
/// The category of the alarms a rule raises.
category category_of(const rules::rule& r) noexcept;

/// Set by the rule engine.
enum class condition { active, cleared, unknown };
/// Set by people: open → acknowledged → handling → resolved → closed.
enum class status { open, acknowledged, handling, resolved, closed };

std::string_view to_string(condition c) noexcept;
std::string_view to_string(status s) noexcept;
std::optional<condition> parse_condition(std::string_view) noexcept;
std::optional<status> parse_status(std::string_view) noexcept;

struct alarm {
    std::int64_t id = 0;  ///< 0 until stored
    std::string rule;
    std::string site;
    std::string sensor;
    std::string domain;
    category cat = category::process;
    level lvl = level::blue;
    level peak = level::blue;
    condition cond = condition::active;
    status state = status::open;
    rules::text title;
    rules::text advice;
    std::optional<double> value;
    std::optional<double> peak_value;
    util::micros first_ts = 0;
    util::micros last_ts = 0;
    std::optional<util::micros> cleared_ts;
    std::int64_t count = 1;
    util::micros opened_at = 0;
    std::optional<util::micros> closed_at;
    std::string close_reason;
    /// Compound alarms: what made the condition true (member alarms and sensor readings). The
    /// alarm of a compound belongs to its site: `sensor` is empty.
    std::vector<rules::member> members;
    /// Inhibition (R14): the active compound or group alarm this one is part of. The board and
    /// notifiers show that one incident; this alarm stays recorded and acts normally.
    std::optional<std::int64_t> inhibited_by;
    /// The person the alarm is assigned to (a login; empty: nobody). Set by the assign action only.
    std::string assignee;
    /// Notification state as stored (notification_model::escalation owns it; reads fill it, the engine
    /// never writes it): deadlines, tiers told (bit 0 enterprise, 1 district, 2 city, 3 sector), held.
    struct notification_view {
        std::optional<util::micros> ack_due;
        std::optional<util::micros> dispose_due;
        unsigned told = 0;
        bool suppressed = false;
        std::optional<std::int64_t> silence;
        bool raise_pending = false;
    } notification;
    /// The newest video evidence (camera, snapshot, clip) of a reading behind this alarm's
    /// events; null: none. Attached by alarms::alarm_transaction, never by the engine.
    nlohmann::json evidence{};
};

/// One entry of an alarm's history. `seq` is assigned by the store.
struct event {
    std::int64_t seq = 0;
    std::string type;                        ///< raised, escalated, deescalated, cleared, reactivated, unknown,
                                             ///< acknowledged, handling, resolved, closed, commented, assigned
    util::micros at = 0;                     ///< when it happened (server time)
    std::optional<util::micros> reading_ts;  ///< the reading that caused it, if any
    std::string actor;                       ///< rule id, key name or "user:<login>"
    std::optional<level> lvl;
    std::optional<double> value;
    std::string note;
    std::int64_t actor_user{};  ///< the person's user id (0: a rule, a key, the escalation)
    std::string actor_name{};   ///< the person's display name when they acted
    nlohmann::json evidence{};  ///< what a camera showed with the reading that caused it (null: nothing)
};

nlohmann::json to_json(const alarm& a);
/// A compound alarm's members as stored and sent: [{"sensor", "rule", "alarm", "level"}].
nlohmann::json members_json(const std::vector<rules::member>& members);
std::vector<rules::member> members_from(const nlohmann::json& j);
nlohmann::json to_json(const event& e);

/// Everything one batch, tick or action changed, to be written in one transaction. The
/// store writes exactly this; the model never sees how.
struct changes {
    struct alarm_write {
        alarm after;                ///< id 0: a new alarm to insert
        std::vector<event> events;  ///< in order
    };
    struct state_write {
        std::string rule;
        std::string sensor;
        nlohmann::json state;
    };
    std::vector<alarm_write> alarms;
    std::vector<state_write> states;
    bool empty() const noexcept { return alarms.empty() && states.empty(); }
};

/// An operator's request to move an alarm along its workflow.
/// Workflow steps, and two that leave the status alone: a comment (a note on record) and an
/// assignment (who takes it on).
enum class action { acknowledge, handle, resolve, close, comment, assign };
std::optional<action> parse_action(std::string_view text) noexcept;

struct action_request {
    action what = action::acknowledge;
    std::string actor;
    bool actor_is_admin = false;
    std::string note;
    std::string reason;         ///< close: false_alarm, device_fault, test, duplicate (or resolved)
    bool force = false;         ///< close while the condition is still active
    std::string assignee{};     ///< assign: the person's login (empty: unassign)
    std::int64_t actor_user{};  ///< a person's user id, 0 for a key
    std::string actor_name{};   ///< a person's display name, kept on the event
};

/// Why a transition was refused: a stable code and a message for the operator.
/// Why an action is refused: the API answers with this code (409, 403, 422) and message.
struct refusal {
    errc code = errc::invalid_transition;  ///< invalid_transition, forbidden or validation_failed
    std::string message;
};

/// The workflow table. Applies `req` to `a` (status, closed_at, close_reason) and returns the
/// event to record, or the reason it is refused. The transition rules:
///   acknowledge: open → acknowledged;  handle: acknowledged → handling;
///   resolve: handling → resolved;      close: resolved → closed;
///   close from open or acknowledged only with reason false_alarm | device_fault | test | duplicate;
///   closing while the condition is active needs force, a note and an admin.
std::variant<event, refusal> apply(alarm& a, const action_request& req, util::micros now);

}  // namespace cityguard::alarm_model
