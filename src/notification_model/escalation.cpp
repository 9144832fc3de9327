#include "cityguard/notification_model/escalation.hpp"

#include <algorithm>

namespace cityguard::notification_model {
namespace {

constexpr util::micros kSecond = 1'000'000;

unsigned bit(tier t) noexcept { return 1u << static_cast<unsigned>(t); }

bool has(const std::vector<alarm_model::event>& events, std::string_view type) {
    return std::any_of(events.begin(), events.end(), [&](const alarm_model::event& e) { return e.type == type; });
}

/// Still calls for people: the condition holds and nobody has resolved or closed it.
bool needs_action(const alarm_model::alarm& a) noexcept {
    return a.cond == alarm_model::condition::active && a.state != alarm_model::status::resolved &&
           a.state != alarm_model::status::closed;
}

std::string tier_list(unsigned told) {
    std::string out;
    for (auto t : kTiers)
        if (told & bit(t)) {
            if (!out.empty()) out += ", ";
            out += to_string(t);
        }
    return out;
}

}  // namespace

std::string_view to_string(notice_kind k) noexcept {
    switch (k) {
        case notice_kind::raised:
            return "raised";
        case notice_kind::level_up:
            return "level_up";
        case notice_kind::escalated:
            return "escalated";
        case notice_kind::reminder:
            return "reminder";
        case notice_kind::cleared:
            return "cleared";
        case notice_kind::closed:
            return "closed";
    }
    return "raised";
}

std::optional<notice_kind> parse_notice_kind(std::string_view text) noexcept {
    for (auto k :
         {notice_kind::raised,
          notice_kind::level_up,
          notice_kind::escalated,
          notice_kind::reminder,
          notice_kind::cleared,
          notice_kind::closed})
        if (to_string(k) == text) return k;
    return std::nullopt;
}

std::optional<tier> deadline_state::highest_told() const noexcept {
    std::optional<tier> out;
    for (auto t : kTiers)
        if (told & bit(t)) out = t;
    return out;
}

// The state comes from the alarm's columns as the last commit left them: a restart neither
// forgets a deadline nor fires one twice (an escalation already told is in `told`).
void escalation::restore(const alarm_model::alarm& a, const deadline_state& state) {
    if (a.state == alarm_model::status::closed) return;
    tracked_[a.id] = entry{a, district_of_(a.site), state};
}

// The before-image is taken once per change, at the first touch: a rollback restores what the
// last commit left, however often the entry changed since.
escalation::entry& escalation::stage(std::int64_t id) {
    auto it = tracked_.find(id);
    if (!undo_.count(id)) undo_[id] = it == tracked_.end() ? std::nullopt : std::optional<entry>(it->second);
    return tracked_[id];
}

void escalation::assign_ids(const std::vector<std::pair<std::int64_t, std::int64_t>>& provisional_to_real) {
    for (const auto& [provisional, real] : provisional_to_real) {
        undo_.erase(provisional);  // it did not exist before this change: nothing to restore
        auto it = tracked_.find(provisional);
        if (it == tracked_.end()) continue;  // raised and closed in the same change
        entry e = std::move(it->second);
        tracked_.erase(it);
        e.alarm.id = real;
        // Staged under the real id: a rollback forgets it again (or restores what that id held,
        // when the insert merged into another process's open alarm).
        stage(real) = std::move(e);
    }
}

void escalation::commit() { undo_.clear(); }

void escalation::rollback() {
    for (auto& [id, before] : undo_) {
        if (before)
            tracked_[id] = std::move(*before);
        else
            tracked_.erase(id);
    }
    undo_.clear();
}

std::optional<deadline_state> escalation::state_of(std::int64_t alarm) const {
    auto it = tracked_.find(alarm);
    if (it == tracked_.end()) return std::nullopt;
    return it->second.state;
}

void escalation::set_silences(std::vector<silence> silences) { silences_ = std::move(silences); }

// A put replaces the silence of the same id: ending one early is a put with an earlier end.
void escalation::put_silence(const silence& s) {
    // Newest last: most puts are new silences, and an end early names a recent one.
    for (auto it = silences_.rbegin(); it != silences_.rend(); ++it)
        if (it->id == s.id) {
            *it = s;
            return;
        }
    silences_.push_back(s);
}

// Every escalation step is an event of the alarm, so its history shows who was told and why,
// beside what people and rules did.
void escalation::record(std::int64_t id, alarm_model::event ev, escalation_output& out) const {
    ev.actor = "escalation";
    out.events.push_back({id, std::move(ev)});
}

void escalation::tell(const entry& e, tier t, notice_kind kind, escalation_output& out) const {
    out.notices.push_back({e.alarm.id, e.alarm.site, kind, t, e.alarm.lvl});
}

// Acknowledgement is due only while nobody has acknowledged; disposal is due whatever the status
// until it is resolved (a level's policy may set neither: yellow and blue often do not).
void escalation::set_deadlines(entry& e, util::micros now) const {
    const auto& p = policy_of(e);
    e.state.ack_due = p.ack_s && e.alarm.state == alarm_model::status::open
                          ? std::optional<util::micros>(now + *p.ack_s * kSecond)
                          : std::nullopt;
    e.state.dispose_due = p.dispose_s ? std::optional<util::micros>(now + *p.dispose_s * kSecond) : std::nullopt;
}

// Raised or a level up: the level's tiers are told and its deadlines start now.
void escalation::start(entry& e, util::micros now, notice_kind kind, escalation_output& out) {
    const auto& p = policy_of(e);
    set_deadlines(e, now);
    if (e.state.suppressed) {
        e.state.raise_pending = true;  // told when the silence or inhibition ends
        return;
    }
    e.state.raise_pending = false;
    unsigned now_told = 0;
    for (auto t : p.notify) {
        tell(e, t, kind, out);
        now_told |= bit(t);
    }
    e.state.told |= now_told;
    if (now_told) {
        alarm_model::event ev;
        ev.type = "notified";
        ev.at = now;
        ev.lvl = e.alarm.lvl;
        ev.note = tier_list(now_told);
        record(e.alarm.id, std::move(ev), out);
    }
}

// The first silence in force whose every given matcher names the alarm. Silences are few
// (silences.max_active), so a scan costs less than an index would to keep.
const silence* escalation::matching_silence(const entry& e, util::micros now) const {
    const auto& a = e.alarm;
    for (const auto& s : silences_) {
        if (!s.active_at(now)) continue;
        if (s.site && *s.site != a.site) continue;
        if (s.sensor && *s.sensor != a.sensor) continue;
        if (s.rule && *s.rule != a.rule) continue;
        if (s.domain && *s.domain != a.domain) continue;
        if (s.district && *s.district != e.district) continue;
        return &s;
    }
    return nullptr;
}

// A silence or an inhibition holds the alarm's notices and deadlines; both are recorded as
// events when they start and end, so an operator can see why nobody was told.
void escalation::check_suppression(entry& e, util::micros now, escalation_output& out) {
    const silence* holding = matching_silence(e, now);
    const std::optional<std::int64_t> silence_id = holding ? std::optional(holding->id) : std::nullopt;
    const bool suppressed = holding || e.alarm.inhibited_by.has_value();
    if (silence_id != e.state.silence) {
        alarm_model::event ev;
        ev.type = silence_id ? "silenced" : "unsilenced";
        ev.at = now;
        ev.note = "silence " + std::to_string(silence_id ? *silence_id : *e.state.silence);
        record(e.alarm.id, std::move(ev), out);
        e.state.silence = silence_id;
    }
    if (suppressed == e.state.suppressed) return;
    e.state.suppressed = suppressed;
    if (suppressed) return;
    // Nobody could act while it was held: its deadlines start now, and if it was never told,
    // the telling starts now too (Alertmanager would wait for its repeat interval).
    if (e.state.raise_pending && needs_action(e.alarm)) {
        start(e, now, notice_kind::raised, out);
    } else {
        e.state.raise_pending = false;
        if (needs_action(e.alarm)) set_deadlines(e, now);
    }
}

// A missed acknowledgement tells the next tier up (enterprise → district → city) and starts its
// own deadline; a missed disposal reminds the tier responsible now and escalates once more.
void escalation::check_deadlines(entry& e, util::micros now, escalation_output& out) {
    if (e.state.suppressed) return;
    const auto& p = policy_of(e);
    const auto escalate = [&](std::string reason) -> std::optional<tier> {
        const auto highest = e.state.highest_told();
        const auto next = highest ? policy_->next_after(*highest) : std::optional<tier>(policy_->chain.front());
        if (!next) return std::nullopt;
        tell(e, *next, notice_kind::escalated, out);
        e.state.told |= bit(*next);
        alarm_model::event ev;
        ev.type = "escalated_to";
        ev.at = now;
        ev.lvl = e.alarm.lvl;
        ev.note = std::string(to_string(*next)) + ": " + reason;
        record(e.alarm.id, std::move(ev), out);
        return next;
    };
    if (e.state.ack_due && now >= *e.state.ack_due) {
        e.state.ack_due.reset();
        if (e.alarm.state == alarm_model::status::open && needs_action(e.alarm)) {
            const auto reached = escalate("not acknowledged in time");
            if (reached && policy_->next_after(*reached) && p.ack_s) e.state.ack_due = now + *p.ack_s * kSecond;
        }
    }
    if (e.state.dispose_due && now >= *e.state.dispose_due && needs_action(e.alarm)) {
        const auto responsible = e.state.highest_told().value_or(tier::enterprise);
        tell(e, responsible, notice_kind::reminder, out);
        e.state.told |= bit(responsible);
        alarm_model::event ev;
        ev.type = "disposal_overdue";
        ev.at = now;
        ev.lvl = e.alarm.lvl;
        ev.note = std::string(to_string(responsible)) + " reminded";
        record(e.alarm.id, std::move(ev), out);
        escalate("not disposed of in time");
        // Reminded again after another period while it stays undisposed (R13 re_alarm).
        e.state.dispose_due = p.dispose_s ? std::optional<util::micros>(now + *p.dispose_s * kSecond) : std::nullopt;
    }
}

// Reacts to what the engine and operators changed, by the events each write carries: a raise
// or level up tells, an acknowledgement or resolution stops the clocks, a clear or close tells
// those already told that it is over.
escalation_output escalation::observe(const alarm_model::changes& written, util::micros now) {
    escalation_output out;
    for (const auto& w : written.alarms) {
        const auto& a = w.after;
        if (a.id == 0) continue;  // given no id, not even a provisional one: not to be written
        const bool known = tracked_.count(a.id) > 0;
        if (!known && a.state == alarm_model::status::closed) continue;
        auto& e = stage(a.id);
        const auto before = e.state;
        e.alarm = a;
        if (!known) e.district = district_of_(a.site);
        check_suppression(e, now, out);
        if (has(w.events, "raised")) {
            start(e, now, notice_kind::raised, out);
        } else if (has(w.events, "escalated")) {
            // Deadlines restart on a level change upward, and the new level's tiers are told.
            start(e, now, notice_kind::level_up, out);
        }
        if (has(w.events, "acknowledged")) e.state.ack_due.reset();
        if (has(w.events, "resolved")) {
            e.state.ack_due.reset();
            e.state.dispose_due.reset();
        }
        const bool closed = a.state == alarm_model::status::closed;
        const auto ended = closed                     ? std::optional(notice_kind::closed)
                           : has(w.events, "cleared") ? std::optional(notice_kind::cleared)
                                                      : std::nullopt;
        if (ended && !e.state.suppressed)
            for (auto t : kTiers)
                if (e.state.told & bit(t)) tell(e, t, *ended, out);
        if (closed) {
            e.state.ack_due.reset();
            e.state.dispose_due.reset();
            e.state.raise_pending = false;
        }
        if (!(e.state == before) || !known) out.states.emplace_back(a.id, e.state);
        if (closed) tracked_.erase(a.id);
    }
    return out;
}

// The tick's filter: without it every tick would copy every open alarm's entry to find the few
// whose deadline or silence changed.
bool escalation::may_change(const entry& e, util::micros now) const {
    const auto& st = e.state;
    const silence* holding = matching_silence(e, now);
    if ((holding ? std::optional(holding->id) : std::nullopt) != st.silence) return true;
    if ((holding || e.alarm.inhibited_by.has_value()) != st.suppressed) return true;
    if (st.suppressed) return false;
    return (st.ack_due && now >= *st.ack_due) || (st.dispose_due && now >= *st.dispose_due && needs_action(e.alarm));
}

escalation_output escalation::tick(util::micros now) {
    escalation_output out;
    // Expired silences match nothing any more: dropping them keeps matching as cheap as the
    // silences in force (bounded by silences.max_active).
    std::erase_if(silences_, [now](const silence& s) { return s.ends_at <= now; });
    // Only entries that change are staged: a tick usually changes none of them.
    for (auto& [id, current] : tracked_) {
        if (!may_change(current, now)) continue;
        entry probe = current;
        escalation_output step;
        check_suppression(probe, now, step);
        check_deadlines(probe, now, step);
        if (probe.state == current.state && step.empty()) continue;
        stage(id) = std::move(probe);
        out.states.emplace_back(id, tracked_[id].state);
        for (auto& ev : step.events) out.events.push_back(std::move(ev));
        for (auto& n : step.notices) out.notices.push_back(std::move(n));
    }
    return out;
}

}  // namespace cityguard::notification_model
