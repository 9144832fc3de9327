#include "cityguard/alarm_model/alarm.hpp"

#include <algorithm>
#include <array>

namespace cityguard::alarm_model {

using json = nlohmann::json;

std::string_view to_string(condition c) noexcept {
    switch (c) {
        case condition::active:
            return "active";
        case condition::cleared:
            return "cleared";
        case condition::unknown:
            return "unknown";
    }
    return "unknown";
}

std::string_view to_string(status s) noexcept {
    switch (s) {
        case status::open:
            return "open";
        case status::acknowledged:
            return "acknowledged";
        case status::handling:
            return "handling";
        case status::resolved:
            return "resolved";
        case status::closed:
            return "closed";
    }
    return "open";
}

std::optional<condition> parse_condition(std::string_view t) noexcept {
    for (auto c : {condition::active, condition::cleared, condition::unknown})
        if (to_string(c) == t) return c;
    return std::nullopt;
}

std::optional<status> parse_status(std::string_view t) noexcept {
    for (auto s : {status::open, status::acknowledged, status::handling, status::resolved, status::closed})
        if (to_string(s) == t) return s;
    return std::nullopt;
}

std::optional<action> parse_action(std::string_view t) noexcept {
    if (t == "acknowledge") return action::acknowledge;
    if (t == "handle") return action::handle;
    if (t == "resolve") return action::resolve;
    if (t == "close") return action::close;
    if (t == "comment") return action::comment;
    if (t == "assign") return action::assign;
    return std::nullopt;
}

namespace {
json opt_time(const std::optional<util::micros>& t) { return t ? json(util::format_rfc3339(*t)) : json(nullptr); }
template <class T>
json opt(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}
}  // namespace

std::string_view to_string(category c) noexcept {
    switch (c) {
        case category::process:
            return "process";
        case category::fault:
            return "fault";
        case category::offline:
            return "offline";
    }
    return "process";
}

std::optional<category> parse_category(std::string_view t) noexcept {
    if (t == "process") return category::process;
    if (t == "fault") return category::fault;
    if (t == "offline") return category::offline;
    return std::nullopt;
}

// Device alarms (offline, fault) are shown and counted apart from process alarms: they send a
// technician, not an evacuation.
category category_of(const rules::rule& r) noexcept {
    if (r.kind == rules::rule_kind::fault) return category::fault;
    if (r.kind == rules::rule_kind::offline) return category::offline;
    return category::process;
}

json notification_json(const alarm::notification_view& n) {
    json told = json::array();
    // Bits as stored (notification_model::tier), listed in escalation order.
    static constexpr std::pair<unsigned, const char*> kTierBits[] = {
        {0, "enterprise"}, {1, "district"}, {3, "sector"}, {2, "city"}};
    for (const auto& [bit, name] : kTierBits)
        if (n.told & (1u << bit)) told.push_back(name);
    return {
        {"told", std::move(told)},
        {"ack_due", opt_time(n.ack_due)},
        {"dispose_due", opt_time(n.dispose_due)},
        {"silenced", n.silence.has_value()},
        {"silence", n.silence ? json(*n.silence) : json(nullptr)},
        {"suppressed", n.suppressed}};
}

json to_json(const alarm& a) {
    return {
        {"id", a.id},
        {"rule", a.rule},
        {"site", a.site},
        {"sensor", a.sensor},
        {"domain", a.domain},
        {"category", to_string(a.cat)},
        {"level", rules::to_string(a.lvl)},
        {"peak_level", rules::to_string(a.peak)},
        {"condition", to_string(a.cond)},
        {"status", to_string(a.state)},
        {"title", {{"zh", a.title.zh}, {"en", a.title.en}}},
        {"advice", {{"zh", a.advice.zh}, {"en", a.advice.en}}},
        {"value", opt(a.value)},
        {"peak_value", opt(a.peak_value)},
        {"first_ts", util::format_rfc3339(a.first_ts)},
        {"last_ts", util::format_rfc3339(a.last_ts)},
        {"cleared_ts", opt_time(a.cleared_ts)},
        {"count", a.count},
        {"opened_at", util::format_rfc3339(a.opened_at)},
        {"closed_at", opt_time(a.closed_at)},
        {"close_reason", a.close_reason.empty() ? json(nullptr) : json(a.close_reason)},
        {"members", members_json(a.members)},
        {"inhibited_by", a.inhibited_by ? json(*a.inhibited_by) : json(nullptr)},
        {"assignee", a.assignee.empty() ? json(nullptr) : json(a.assignee)},
        {"evidence", a.evidence},
        {"notification", notification_json(a.notification)}};
}

// Stored as JSON on the compound's row: what made it true stays readable after its members close.
json members_json(const std::vector<rules::member>& members) {
    json out = json::array();
    for (const auto& m : members) {
        json j{{"sensor", m.sensor}};
        if (!m.rule.empty()) {
            j["rule"] = m.rule;
            j["alarm"] = m.alarm;
            j["level"] = m.lvl ? json(rules::to_string(*m.lvl)) : json(nullptr);
        }
        out.push_back(std::move(j));
    }
    return out;
}

std::vector<rules::member> members_from(const json& j) {
    std::vector<rules::member> out;
    if (!j.is_array()) return out;
    for (const auto& m : j) {
        if (!m.is_object()) continue;
        rules::member x;
        x.sensor = m.value("sensor", "");
        x.rule = m.value("rule", "");
        x.alarm = m.value("alarm", std::int64_t{0});
        if (m.contains("level") && m["level"].is_string()) x.lvl = rules::parse_level(m["level"].get<std::string>());
        out.push_back(std::move(x));
    }
    return out;
}

json to_json(const event& e) {
    json j{
        {"seq", e.seq},
        {"type", e.type},
        {"at", util::format_rfc3339(e.at)},
        {"reading_ts", opt_time(e.reading_ts)},
        {"actor", e.actor},
        {"level", e.lvl ? json(rules::to_string(*e.lvl)) : json(nullptr)},
        {"value", opt(e.value)},
        {"note", e.note},
        {"evidence", e.evidence}};
    if (e.actor_user > 0) {
        j["actor_user"] = e.actor_user;
        j["actor_name"] = e.actor_name;
    }
    return j;
}

// The workflow table (docs/alarms.md). A close of an alarm whose condition still holds needs an
// admin and a note: closing a live gas leak is a decision someone must sign.
std::variant<event, refusal> apply(alarm& a, const action_request& req, util::micros now) {
    auto refuse = [&](std::string message) -> std::variant<event, refusal> {
        return refusal{errc::invalid_transition, std::move(message)};
    };
    const auto from = std::string(to_string(a.state));
    event e;
    e.at = now;
    e.actor = req.actor;
    e.actor_user = req.actor_user;
    e.actor_name = req.actor_name;
    e.lvl = a.lvl;
    e.value = a.value;
    e.note = req.note;
    switch (req.what) {
        case action::comment:
            // On record at any status the engine still holds (every one but closed).
            if (req.note.empty()) return refusal{errc::validation_failed, "a comment needs a note"};
            e.type = "commented";
            return e;
        case action::assign:
            if (a.state == status::closed) return refuse("a closed alarm is nobody's to take on");
            if (req.assignee == a.assignee)
                return refuse(
                    a.assignee.empty() ? "the alarm is assigned to nobody already"
                                       : "the alarm is assigned to " + a.assignee + " already"
                );
            a.assignee = req.assignee;
            e.type = "assigned";
            // The note says to whom: the event has no column of its own for it.
            e.note = (req.assignee.empty() ? std::string("nobody") : "user:" + req.assignee) +
                     (req.note.empty() ? "" : " — " + req.note);
            return e;
        case action::acknowledge:
            if (a.state != status::open) return refuse("acknowledge needs an open alarm; this one is " + from);
            a.state = status::acknowledged;
            e.type = "acknowledged";
            return e;
        case action::handle:
            if (a.state != status::acknowledged)
                return refuse("handle needs an acknowledged alarm; this one is " + from);
            a.state = status::handling;
            e.type = "handling";
            return e;
        case action::resolve:
            if (a.state != status::handling) return refuse("resolve needs an alarm being handled; this one is " + from);
            a.state = status::resolved;
            e.type = "resolved";
            return e;
        case action::close: {
            static constexpr std::array<std::string_view, 4> direct{"false_alarm", "device_fault", "test", "duplicate"};
            const bool direct_reason = std::find(direct.begin(), direct.end(), req.reason) != direct.end();
            if (a.state == status::closed) return refuse("the alarm is closed already");
            if (a.state == status::handling) return refuse("resolve the alarm before closing it");
            if ((a.state == status::open || a.state == status::acknowledged) && !direct_reason)
                return refuse(
                    "closing a " + from + " alarm directly needs a reason: false_alarm, device_fault, test or duplicate"
                );
            if (a.state == status::resolved && !req.reason.empty() && req.reason != "resolved" && !direct_reason)
                return refusal{errc::validation_failed, "unknown close reason '" + req.reason + "'"};
            if (a.cond == condition::active) {
                if (!req.force)
                    return refuse("the condition is still active: close it with \"force\": true and a note (admin)");
                if (!req.actor_is_admin)
                    return refusal{errc::forbidden, "only an admin may force-close an active alarm"};
                if (req.note.empty()) return refusal{errc::validation_failed, "a forced close needs a note"};
            }
            a.state = status::closed;
            a.closed_at = now;
            a.close_reason = req.reason.empty() ? "resolved" : req.reason;
            e.type = "closed";
            if (e.note.empty()) e.note = a.close_reason;
            return e;
        }
    }
    return refuse("unknown action");
}

}  // namespace cityguard::alarm_model
