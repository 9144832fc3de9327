#include "cityguard/alarm_model/alarm.hpp"

#include <gtest/gtest.h>

#include "cityguard/alarm_model/engine.hpp"

using namespace cityguard::alarm_model;
using cityguard::rules::level;
using nlohmann::json;

namespace {

std::string outcome_of(
    status from,
    condition cond,
    action what,
    const std::string& reason = "",
    bool force = false,
    bool admin = false,
    const std::string& note = ""
) {
    cityguard::alarm_model::alarm a;  // qualified: POSIX has an alarm() too
    a.state = from;
    a.cond = cond;
    action_request req{what, "op1", admin, note, reason, force};
    auto r = apply(a, req, 1000);
    if (auto* no = std::get_if<refusal>(&r)) return std::string(cityguard::to_code(no->code));
    return std::string(to_string(a.state));
}

}  // namespace

TEST(Workflow, TheWholeTransitionTable) {
    const auto cleared = condition::cleared;
    struct row {
        status from;
        action what;
        std::string expect;
    };
    const std::vector<row> table{
        {status::open, action::acknowledge, "acknowledged"},
        {status::open, action::handle, "invalid_transition"},
        {status::open, action::resolve, "invalid_transition"},
        {status::open, action::close, "invalid_transition"},
        {status::acknowledged, action::acknowledge, "invalid_transition"},
        {status::acknowledged, action::handle, "handling"},
        {status::acknowledged, action::resolve, "invalid_transition"},
        {status::acknowledged, action::close, "invalid_transition"},
        {status::handling, action::acknowledge, "invalid_transition"},
        {status::handling, action::handle, "invalid_transition"},
        {status::handling, action::resolve, "resolved"},
        {status::handling, action::close, "invalid_transition"},
        {status::resolved, action::acknowledge, "invalid_transition"},
        {status::resolved, action::handle, "invalid_transition"},
        {status::resolved, action::resolve, "invalid_transition"},
        {status::resolved, action::close, "closed"},
        {status::closed, action::acknowledge, "invalid_transition"},
        {status::closed, action::handle, "invalid_transition"},
        {status::closed, action::resolve, "invalid_transition"},
        {status::closed, action::close, "invalid_transition"},
    };
    for (const auto& r : table)
        EXPECT_EQ(outcome_of(r.from, cleared, r.what), r.expect)
            << to_string(r.from) << " + action " << static_cast<int>(r.what);
}

TEST(Workflow, ACommentAndAnAssignmentLeaveTheStatusAlone) {
    for (auto from : {status::open, status::acknowledged, status::handling, status::resolved}) {
        EXPECT_EQ(
            outcome_of(from, condition::active, action::comment, "", false, false, "called the station"),
            std::string(to_string(from))
        );
        EXPECT_EQ(outcome_of(from, condition::active, action::comment), "validation_failed")
            << "a comment needs a note";
    }
    cityguard::alarm_model::alarm a;
    action_request take{action::assign, "user:lead", false, "", "", false, "ann"};
    auto r = apply(a, take, 1000);
    ASSERT_TRUE(std::holds_alternative<event>(r));
    EXPECT_EQ(std::get<event>(r).type, "assigned");
    EXPECT_EQ(std::get<event>(r).note, "user:ann");
    EXPECT_EQ(a.assignee, "ann");
    EXPECT_EQ(a.state, status::open);
    EXPECT_EQ(to_json(a)["assignee"], "ann");
    EXPECT_TRUE(std::holds_alternative<refusal>(apply(a, take, 1001))) << "assigned to ann already";
    action_request drop{action::assign, "user:lead", false, "back to the desk", "", false, ""};
    r = apply(a, drop, 1002);
    ASSERT_TRUE(std::holds_alternative<event>(r));
    EXPECT_EQ(std::get<event>(r).note, "nobody — back to the desk");
    EXPECT_TRUE(to_json(a)["assignee"].is_null());
    EXPECT_EQ(parse_action("comment"), action::comment);
    EXPECT_EQ(parse_action("assign"), action::assign);
}

TEST(Workflow, DirectCloseNeedsOneOfTheReasons) {
    for (const char* reason : {"false_alarm", "device_fault", "test", "duplicate"}) {
        EXPECT_EQ(outcome_of(status::open, condition::cleared, action::close, reason), "closed") << reason;
        EXPECT_EQ(outcome_of(status::acknowledged, condition::cleared, action::close, reason), "closed") << reason;
    }
    EXPECT_EQ(outcome_of(status::open, condition::cleared, action::close, "bored"), "invalid_transition");
    EXPECT_EQ(outcome_of(status::handling, condition::cleared, action::close, "false_alarm"), "invalid_transition");
}

TEST(Workflow, ClosingAnActiveConditionNeedsForceNoteAndAdmin) {
    EXPECT_EQ(outcome_of(status::resolved, condition::active, action::close), "invalid_transition");
    EXPECT_EQ(outcome_of(status::resolved, condition::active, action::close, "", true, false, "why"), "forbidden");
    EXPECT_EQ(outcome_of(status::resolved, condition::active, action::close, "", true, true, ""), "validation_failed");
    EXPECT_EQ(
        outcome_of(status::resolved, condition::active, action::close, "", true, true, "sensor replaced"), "closed"
    );
    EXPECT_EQ(
        outcome_of(status::open, condition::active, action::close, "device_fault", true, true, "dead probe"), "closed"
    );
    EXPECT_EQ(outcome_of(status::resolved, condition::unknown, action::close), "closed");
}

namespace {

std::vector<cityguard::rules::rule> gas_rules(double for_s = 0) {
    json pack{
        {"domain", "gas_station"},
        {"rules",
         {{{"id", "gas"},
           {"name", {{"zh", "气"}, {"en", "gas"}}},
           {"kinds", {"gas_lel"}},
           {"kind", "threshold"},
           {"params",
            {{"levels", {{{"level", "orange"}, {"value", 50}}, {{"level", "yellow"}, {"value", 25}}}},
             {"for_s", for_s}}},
           {"advice", {{"yellow", {{"zh", "a"}, {"en", "a"}}}, {"orange", {{"zh", "b"}, {"en", "b"}}}}},
           {"source", "s"}},
          {{"id", "off"},
           {"name", {{"zh", "离线"}, {"en", "offline"}}},
           {"kinds", {"*"}},
           {"kind", "offline"},
           {"params", {{"level", "blue"}, {"multiplier", 3}}},
           {"advice", {{"blue", {{"zh", "x"}, {"en", "x"}}}}},
           {"source", "s"}}}}};
    return cityguard::rules::parse_pack(pack, "t.json");
}

constexpr std::int64_t kMinute = 60'000'000;

struct bench {
    engine e;
    sensor_facts s{"S1", 7, "SITE", "gas_station", "gas_lel", 60, json::object(), 1};
    explicit bench(double for_s = 0) : e(gas_rules(for_s), 0) {}
    changes post(std::int64_t minute, double value, bool commit = true) {
        std::vector<reading> rows{{7, minute * kMinute, value}};
        auto ch = e.evaluate(
            rows, {true}, [this](std::int32_t k) { return k == 7 ? &s : nullptr; }, minute * kMinute
        );
        std::vector<std::int64_t> ids;
        for (const auto& w : ch.alarms)
            if (w.after.id == 0) ids.push_back(next_id++);
        e.assign_ids(ids);
        if (commit)
            e.commit();
        else
            e.rollback();
        return ch;
    }
    std::int64_t next_id = 1;
};

std::vector<std::string> types(const changes& ch) {
    std::vector<std::string> out;
    for (const auto& w : ch.alarms)
        for (const auto& ev : w.events) out.push_back(ev.type);
    return out;
}

}  // namespace

TEST(Engine, RampGivesOneAlarmWithItsEpisode) {
    bench b;
    EXPECT_TRUE(b.post(0, 0).empty());
    EXPECT_EQ(types(b.post(1, 30)), std::vector<std::string>{"raised"});
    EXPECT_EQ(types(b.post(2, 55)), std::vector<std::string>{"escalated"});
    EXPECT_EQ(types(b.post(3, 10)), std::vector<std::string>{"cleared"});
    auto open = b.e.open_alarms();
    ASSERT_EQ(open.size(), 1u);
    EXPECT_EQ(open[0].peak, level::orange);
    EXPECT_EQ(open[0].peak_value, 55);
    EXPECT_EQ(open[0].cond, condition::cleared);
    EXPECT_EQ(types(b.post(4, 31)), std::vector<std::string>{"reactivated"}) << "not closed yet: the same alarm";
    EXPECT_EQ(b.e.open_alarms().size(), 1u);
    EXPECT_EQ(b.e.open_alarms()[0].count, 2);
}

TEST(Engine, RolledBackChangesLeaveNoTrace) {
    bench b;
    b.post(1, 30, /*commit=*/false);
    EXPECT_TRUE(b.e.open_alarms().empty());
    EXPECT_EQ(types(b.post(2, 30)), std::vector<std::string>{"raised"})
        << "raised again, as if the first never happened";
}

TEST(Engine, LateAndDuplicateReadingsDoNotDriveState) {
    bench b;
    b.post(5, 30);
    EXPECT_TRUE(b.post(4, 0).empty()) << "older than the last evaluated reading";
    std::vector<reading> rows{{7, 6 * kMinute, 0}};
    auto ch = b.e.evaluate(
        rows, {false}, [&](std::int32_t) { return &b.s; }, 0
    );
    EXPECT_TRUE(ch.empty()) << "a duplicate is never evaluated";
}

TEST(Engine, OfflineMakesValueAlarmsUnknownAndRecovers) {
    bench b;
    b.post(0, 30);
    auto ch = b.e.tick({&b.s}, 3 * kMinute);
    EXPECT_TRUE(ch.empty()) << "exactly 3 intervals is still online";
    ch = b.e.tick({&b.s}, 3 * kMinute + 1);
    auto t = types(ch);
    EXPECT_EQ(std::count(t.begin(), t.end(), "raised"), 1);
    EXPECT_EQ(std::count(t.begin(), t.end(), "unknown"), 1);
    b.e.assign_ids({b.next_id++});
    b.e.commit();
    EXPECT_TRUE(b.e.tick({&b.s}, 10 * kMinute).empty()) << "one offline alarm, not one per tick";
    t = types(b.post(11, 30));
    EXPECT_NE(std::find(t.begin(), t.end(), "cleared"), t.end()) << "offline recovers";
    EXPECT_NE(std::find(t.begin(), t.end(), "reactivated"), t.end()) << "the value alarm is known again";
}

TEST(Engine, RestartInTheMiddleOfAnOnDelay) {
    bench before(120);
    before.post(0, 30);
    auto ch = before.post(1, 30);
    ASSERT_EQ(ch.states.size(), 0u) << "nothing persisted changes while the on-delay merely runs";
    // What the database holds after the first reading: the state written then.
    bench first(120);
    auto first_changes = first.post(0, 30);
    ASSERT_EQ(first_changes.states.size(), 1u);
    bench after(120);
    after.e.restore_state(first_changes.states[0].rule, after.s, first_changes.states[0].state);
    after.e.restore_last_reading(after.s, kMinute, 30);
    EXPECT_TRUE(after.post(1, 30).empty()) << "minute 1 was already evaluated before the restart";
    EXPECT_EQ(types(after.post(2, 30)), std::vector<std::string>{"raised"}) << "fires on time, not two minutes later";
}

TEST(Engine, ARestartRefillsRateWindowsFromStoredReadings) {
    json pack{
        {"domain", "gas_pipeline"},
        {"rules",
         {{{"id", "rise"},
           {"name", {{"zh", "升"}, {"en", "rise"}}},
           {"kinds", {"gas_lel"}},
           {"kind", "rate"},
           {"params", {{"levels", {{{"level", "yellow"}, {"value", 1}}}}, {"window_s", 600}, {"per_s", 60}}},
           {"advice", {{"yellow", {{"zh", "a"}, {"en", "a"}}}}},
           {"source", "s"}},
          {{"id", "off"},
           {"name", {{"zh", "离线"}, {"en", "offline"}}},
           {"kinds", {"*"}},
           {"kind", "offline"},
           {"params", {{"level", "blue"}}},
           {"advice", {{"blue", {{"zh", "x"}, {"en", "x"}}}}},
           {"source", "s"}}}}};
    sensor_facts s{"S1", 7, "SITE", "gas_pipeline", "gas_lel", 60, json::object(), 1};
    auto post = [&](engine& e, std::int64_t minute) {
        std::vector<reading> rows{{7, minute * kMinute, 2.0 * minute}};  // rising 2 %LEL per minute
        auto ch = e.evaluate(
            rows, {true}, [&](std::int32_t) { return &s; }, minute * kMinute
        );
        e.commit();
        return ch;
    };
    engine live(cityguard::rules::parse_pack(pack, "t.json"), 0);
    for (int m = 0; m < 5; ++m) EXPECT_TRUE(types(post(live, m)).empty());
    EXPECT_EQ(types(post(live, 5)), std::vector<std::string>{"raised"}) << "half the window covered";

    engine restarted(cityguard::rules::parse_pack(pack, "t.json"), 4 * kMinute + 1);
    const auto need = restarted.history_needed(s);
    EXPECT_GE(need.span, 10 * kMinute);
    EXPECT_GT(need.step, 0);
    std::vector<std::pair<std::int64_t, double>> stored;
    for (int m = 0; m < 5; ++m) stored.emplace_back(m * kMinute, 2.0 * m);
    restarted.restore_history(s, stored);
    restarted.restore_last_reading(s, 4 * kMinute, 8);
    EXPECT_EQ(types(post(restarted, 5)), std::vector<std::string>{"raised"})
        << "the same minute as without the restart, not half a window later";

    engine forgetful(cityguard::rules::parse_pack(pack, "t.json"), 4 * kMinute + 1);
    forgetful.restore_last_reading(s, 4 * kMinute, 8);
    EXPECT_TRUE(types(post(forgetful, 5)).empty()) << "without the history the rate would come late";
}

TEST(Engine, ARestartGivesSilentSensorsTheirIntervalsBeforeOffline) {
    // The server was down from minute 1 to minute 10; the gateway could not deliver meanwhile.
    engine e(gas_rules(0), 10 * kMinute);
    sensor_facts s{"S1", 7, "SITE", "gas_station", "gas_lel", 60, json::object(), 1};
    e.restore_last_reading(s, kMinute, 3);
    EXPECT_TRUE(e.tick({&s}, 10 * kMinute + 1).empty()) << "no offline flood at start-up";
    EXPECT_TRUE(e.tick({&s}, 13 * kMinute).empty());
    EXPECT_EQ(types(e.tick({&s}, 13 * kMinute + 1)), std::vector<std::string>{"raised"})
        << "three intervals after the restart without a reading: offline";
}

TEST(Engine, ActionsAndClose) {
    bench b;
    b.post(1, 30);
    const auto id = b.e.open_alarms()[0].id;
    auto r = b.e.act(id, {action::resolve, "op", false, "", "", false}, 0);
    EXPECT_TRUE(std::holds_alternative<refusal>(r));
    r = b.e.act(id, {action::acknowledge, "op", false, "seen", "", false}, 0);
    ASSERT_TRUE(std::holds_alternative<changes>(r));
    b.e.commit();
    EXPECT_EQ(b.e.find(id)->state, status::acknowledged);
    b.post(2, 0);
    r = b.e.act(id, {action::close, "op", false, "", "false_alarm", false}, 0);
    ASSERT_TRUE(std::holds_alternative<changes>(r));
    b.e.commit();
    EXPECT_FALSE(b.e.find(id));
    EXPECT_TRUE(
        std::holds_alternative<engine::not_found>(b.e.act(id, {action::acknowledge, "op", false, "", "", false}, 0))
    );
    EXPECT_EQ(types(b.post(3, 30)), std::vector<std::string>{"raised"}) << "after close, a new alarm";
    EXPECT_NE(b.e.open_alarms()[0].id, id);
}

TEST(Engine, AFaultyReadingRaisesAFaultAlarmNotAProcessAlarm) {
    auto rules = gas_rules(0);
    json fault{
        {"domain", "gas_station"},
        {"rules",
         {{{"id", "lel_fault"},
           {"name", {{"zh", "故障"}, {"en", "fault"}}},
           {"kinds", {"gas_lel"}},
           {"kind", "fault"},
           {"params", {{"range", {{"min", 0}, {"max", 100}}}}},
           {"advice", {{"yellow", {{"zh", "send a technician"}, {"en", "send a technician"}}}}},
           {"source", "s"}},
          {{"id", "off2"},
           {"name", {{"zh", "离线"}, {"en", "offline"}}},
           {"kinds", {"x"}},
           {"kind", "offline"},
           {"advice", {{"blue", {{"zh", "x"}, {"en", "x"}}}}},
           {"source", "s"}}}}};
    for (auto& r : cityguard::rules::parse_pack(fault, "f.json")) rules.push_back(std::move(r));
    engine e(std::move(rules), 0);
    sensor_facts s{"S1", 7, "SITE", "gas_station", "gas_lel", 60, json::object(), 1};
    std::int64_t next_id = 1;
    auto post = [&](std::int64_t minute, double value) {
        std::vector<reading> rows{{7, minute * kMinute, value}};
        auto ch = e.evaluate(
            rows, {true}, [&](std::int32_t) { return &s; }, minute * kMinute
        );
        std::vector<std::int64_t> ids;
        for (const auto& w : ch.alarms)
            if (w.after.id == 0) ids.push_back(next_id++);
        e.assign_ids(ids);
        e.commit();
        return ch;
    };
    auto of_rule = [&](const std::string& rule) -> std::optional<cityguard::alarm_model::alarm> {
        for (const auto& a : e.open_alarms())
            if (a.rule == rule) return a;
        return std::nullopt;
    };
    // 150 %LEL is impossible: a fault, and the gas rule never sees it (no red "explosion").
    auto ch = post(0, 150);
    ASSERT_EQ(ch.alarms.size(), 1u);
    EXPECT_EQ(ch.alarms[0].after.rule, "lel_fault");
    EXPECT_EQ(ch.alarms[0].after.cat, category::fault);
    EXPECT_FALSE(of_rule("gas"));

    post(1, 0);  // plausible again: the fault clears
    EXPECT_EQ(of_rule("lel_fault")->cond, condition::cleared);
    post(2, 30);  // a real gas alarm
    EXPECT_EQ(of_rule("gas")->cat, category::process);
    EXPECT_EQ(of_rule("gas")->cond, condition::active);

    ch = post(3, -5);  // the sensor fails while the gas alarm is active
    EXPECT_EQ(of_rule("gas")->cond, condition::unknown) << "a faulty sensor cannot confirm it";
    EXPECT_EQ(of_rule("lel_fault")->cond, condition::active);
    EXPECT_EQ(types(ch), (std::vector<std::string>{"reactivated", "unknown"}));

    ch = post(4, 30);  // plausible and still over the limit
    EXPECT_EQ(of_rule("gas")->cond, condition::active);
    EXPECT_EQ(of_rule("lel_fault")->cond, condition::cleared);
    EXPECT_EQ(types(ch), (std::vector<std::string>{"cleared", "reactivated"}));
}
