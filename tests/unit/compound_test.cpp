#include "cityguard/rules/compound.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "cityguard/alarm_model/engine.hpp"
#include "cityguard/rules/rule.hpp"

using namespace cityguard::rules;
using cityguard::util::micros;
using nlohmann::json;

namespace {

using cityguard::util::kMicrosPerSecond;

/// A site whose sensor values and alarms the test sets directly.
struct fake_site {
    std::map<std::string, double> values;  ///< kind → value (one sensor per kind)
    std::map<std::string, level> alarms;   ///< rule → level of its active alarm
    condition_memory memory;
    site_facts facts() {
        site_facts f;
        f.sensors = [this](const std::string& kind, const std::function<void(const std::string&, double)>& each) {
            if (auto it = values.find(kind); it != values.end()) each("S-" + kind, it->second);
        };
        f.alarms = [this](const std::string& rule, const std::function<void(const member&)>& each) {
            if (auto it = alarms.find(rule); it != alarms.end()) each({"S", rule, 7, it->second});
        };
        return f;
    }
    bool at(double seconds, const condition_node& n) {
        return evaluate_condition(n, facts(), memory, static_cast<micros>(seconds * kMicrosPerSecond)).holds;
    }
};

condition_node cond(const json& j) { return parse_condition(j); }

}  // namespace

TEST(Compound, AllAndAnyAndNot) {
    auto n = cond({{"all", {{{"sensor", "video.unloading"}}, {{"not", {{"sensor", "static_ground_ok"}}}}}}});
    fake_site s;
    s.values = {{"video.unloading", 1}, {"static_ground_ok", 1}};
    EXPECT_FALSE(s.at(0, n));
    s.values["static_ground_ok"] = 0;
    EXPECT_TRUE(s.at(1, n));
    s.values["video.unloading"] = 0;
    EXPECT_FALSE(s.at(2, n));
    auto any = cond({{"any", {{{"alarm", "lel"}, {"level", "orange"}}, {{"sensor", "tank_level"}, {"above", 90}}}}});
    s.alarms = {{"lel", level::yellow}};
    s.values = {{"tank_level", 89.9}};
    EXPECT_FALSE(s.at(3, any)) << "yellow is below orange; 89.9 below 90";
    s.values["tank_level"] = 90;
    EXPECT_TRUE(s.at(4, any));
}

TEST(Compound, AAndBWithinWExactlyAtWAndOneReadingOutside) {
    auto n = cond({{"all", {{{"sensor", "a"}}, {{"sensor", "b"}}}}, {"within_s", 60}});
    fake_site s;
    s.values = {{"a", 1}, {"b", 0}};
    EXPECT_FALSE(s.at(0, n));
    s.values["a"] = 0;
    EXPECT_FALSE(s.at(10, n));
    s.values["b"] = 1;
    EXPECT_TRUE(s.at(60, n)) << "A was true at 0, B at 60: exactly within 60 s";
    fake_site late;
    late.values = {{"a", 1}, {"b", 0}};
    late.at(0, n);
    late.values["a"] = 0;
    late.at(10, n);
    late.values["b"] = 1;
    EXPECT_FALSE(late.at(60.001, n)) << "one moment outside the window";
}

TEST(Compound, AThenBIsNotBThenA) {
    auto n = cond({{"then", {{{"sensor", "a"}}, {{"sensor", "b"}}}}, {"within_s", 120}});
    fake_site ab;
    ab.values = {{"a", 1}, {"b", 0}};
    EXPECT_FALSE(ab.at(0, n));
    ab.values["b"] = 1;
    EXPECT_TRUE(ab.at(30, n)) << "A then B within 120 s";
    ab.values["a"] = 0;
    EXPECT_TRUE(ab.at(40, n)) << "holds while B holds, whatever A does next";
    ab.values["b"] = 0;
    EXPECT_FALSE(ab.at(50, n));

    fake_site ba;
    ba.values = {{"a", 0}, {"b", 1}};
    EXPECT_FALSE(ba.at(0, n));
    ba.values["a"] = 1;
    EXPECT_FALSE(ba.at(30, n)) << "B then A is not A then B";

    fake_site slow;
    slow.values = {{"a", 1}, {"b", 0}};
    slow.at(0, n);
    slow.values["b"] = 1;
    EXPECT_FALSE(slow.at(121, n)) << "B came more than 120 s after A";
}

TEST(Compound, MembersAreWhatMadeItTrue) {
    auto n = cond({{"all", {{{"sensor", "video.unloading"}}, {{"alarm", "gas_station.lel"}, {"level", "yellow"}}}}});
    fake_site s;
    s.values = {{"video.unloading", 1}};
    s.alarms = {{"gas_station.lel", level::orange}};
    auto r = evaluate_condition(n, s.facts(), s.memory, 0);
    ASSERT_TRUE(r.holds);
    ASSERT_EQ(r.members.size(), 2u);
    EXPECT_EQ(r.members[0].sensor, "S-video.unloading");
    EXPECT_EQ(r.members[1].rule, "gas_station.lel");
    EXPECT_EQ(r.members[1].alarm, 7);
}

TEST(Compound, RefusedConditionsAndReferences) {
    auto refused = [](const json& params, json extra = json::array()) -> std::string {
        json rules = json::array(
            {{{"id", "x.c"},
              {"name", {{"zh", "组合"}, {"en", "compound"}}},
              {"kind", "compound"},
              {"params", params},
              {"advice",
               {{"red", {{"zh", "a"}, {"en", "a"}}},
                {"orange", {{"zh", "a"}, {"en", "a"}}},
                {"yellow", {{"zh", "a"}, {"en", "a"}}}}},
              {"source", "s"}},
             {{"id", "x.off"},
              {"name", {{"zh", "离线"}, {"en", "offline"}}},
              {"kinds", {"*"}},
              {"kind", "offline"},
              {"advice", {{"blue", {{"zh", "x"}, {"en", "x"}}}}},
              {"source", "s"}}}
        );
        for (auto& e : extra) rules.push_back(e);
        try {
            parse_pack({{"domain", "x"}, {"rules", rules}}, "x.json");
        } catch (const pack_error& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_NE(
        refused({{"level", "red"}, {"when", {{"alarm", "x.nope"}}}}
        ).find("x.json: rule x.c: its condition names rule 'x.nope'"),
        std::string::npos
    );
    EXPECT_NE(
        refused({{"level", "red"}, {"when", {{"then", {{{"sensor", "a"}}}}, {"within_s", 5}}}}).find("exactly two"),
        std::string::npos
    );
    EXPECT_NE(
        refused({{"level", "red"}, {"when", {{"sensor", "a"}, {"bogus", 1}}}}).find("unknown field 'bogus'"),
        std::string::npos
    );
    EXPECT_NE(refused({{"level", "one_above"}, {"when", {{"sensor", "a"}}}}).find("one_above"), std::string::npos);
    json loop{
        {"id", "x.d"},
        {"name", {{"zh", "组合"}, {"en", "compound"}}},
        {"kind", "compound"},
        {"params", {{"level", "red"}, {"when", {{"alarm", "x.c"}}}}},
        {"advice", {{"red", {{"zh", "a"}, {"en", "a"}}}}},
        {"source", "s"}};
    EXPECT_NE(
        refused({{"level", "red"}, {"when", {{"alarm", "x.d"}}}}, json::array({loop}))
            .find("cycle between compound rules"),
        std::string::npos
    );
    EXPECT_EQ(refused({{"level", "red"}, {"when", {{"sensor", "a"}}}}), "");
}

namespace {

using namespace cityguard::alarm_model;

std::vector<rule> unloading_pack() {
    json adv = {{"zh", "停止卸油"}, {"en", "stop unloading"}};
    json pack{
        {"domain", "gas_station"},
        {"rules",
         {{{"id", "gs.static_ground"},
           {"name", {{"zh", "静电接地报警"}, {"en", "Static grounding fault"}}},
           {"kinds", {"static_ground"}},
           {"kind", "event"},
           {"params", {{"level", "orange"}}},
           {"advice", {{"orange", adv}}},
           {"source", "s"}},
          {{"id", "gs.unloading_without_grounding"},
           {"name", {{"zh", "卸油时静电接地异常"}, {"en", "Unloading without static grounding"}}},
           {"kind", "compound"},
           {"params",
            {{"level", "red"},
             {"when", {{"all", {{{"sensor", "video.unloading"}}, {{"alarm", "gs.static_ground"}}}}}},
             {"for_s", 30}}},
           {"advice", {{"red", adv}}},
           {"source", "s"}},
          {{"id", "gs.off"},
           {"name", {{"zh", "离线"}, {"en", "offline"}}},
           {"kinds", {"*"}},
           {"kind", "offline"},
           {"advice", {{"blue", adv}}},
           {"source", "s"}}}}};
    return parse_pack(pack, "gs.json");
}

struct station {
    engine e{unloading_pack(), 0};
    sensor_facts video{"GS-V", 1, "GS", "gas_station", "video.unloading", 60, json::object(), 1};
    sensor_facts ground{"GS-G", 2, "GS", "gas_station", "static_ground", 60, json::object(), 1};
    std::int64_t next_id = 1;
    changes post(const sensor_facts& s, double seconds, double value) {
        const auto ts = static_cast<micros>(seconds * kMicrosPerSecond);
        std::vector<reading> rows{{s.key, ts, value}};
        auto ch = e.evaluate(
            rows, {true}, [&](std::int32_t k) { return k == 1 ? &video : &ground; }, ts
        );
        std::vector<std::int64_t> ids;
        for (const auto& w : ch.alarms)
            if (w.after.id == 0) ids.push_back(next_id++);
        e.assign_ids(ids);
        e.commit();
        return ch;
    }
    std::optional<cityguard::alarm_model::alarm> compound() {
        for (const auto& a : e.open_alarms())
            if (a.rule == "gs.unloading_without_grounding") return a;
        return std::nullopt;
    }
};

}  // namespace

TEST(CompoundEngine, UnloadingWithoutGroundingForThirtySecondsIsRed) {
    station s;
    s.post(s.video, 0, 1);
    s.post(s.ground, 1, 1);  // the grounding monitor reports a fault while unloading
    s.post(s.video, 30, 1);
    EXPECT_FALSE(s.compound()) << "29 s of the condition: the on-delay runs";
    s.post(s.video, 31, 1);
    auto a = s.compound();
    ASSERT_TRUE(a) << "30 s";
    EXPECT_EQ(a->lvl, level::red);
    EXPECT_EQ(a->sensor, "") << "the alarm belongs to the site";
    EXPECT_EQ(a->site, "GS");
    ASSERT_EQ(a->members.size(), 2u);
    EXPECT_EQ(a->members[0].sensor, "GS-V");
    EXPECT_EQ(a->members[1].rule, "gs.static_ground");
    EXPECT_EQ(a->title.en, "Unloading without static grounding [red]");
    s.post(s.ground, 40, 0);  // grounding restored
    EXPECT_EQ(s.compound()->cond, condition::cleared);
}

TEST(CompoundEngine, AGroupAlarmMarksItsMembersWhileItHolds) {
    station s;
    s.post(s.video, 0, 1);
    s.post(s.ground, 1, 1);
    s.post(s.video, 31, 1);  // the compound is raised: its id comes from the store after this
    auto group = s.compound();
    ASSERT_TRUE(group);
    auto ground_alarm = [&] {
        for (const auto& a : s.e.open_alarms())
            if (a.rule == "gs.static_ground") return a;
        return cityguard::alarm_model::alarm{};
    };
    EXPECT_FALSE(ground_alarm().inhibited_by) << "marked once the group alarm has its id";
    auto ch = s.post(s.video, 32, 1);
    EXPECT_EQ(ground_alarm().inhibited_by, group->id);
    bool recorded = false;
    for (const auto& w : ch.alarms)
        for (const auto& e : w.events)
            if (w.after.rule == "gs.static_ground" && e.type == "inhibited") recorded = true;
    EXPECT_TRUE(recorded) << "the marking is on the member's record";
    for (const auto& w : s.post(s.video, 33, 1).alarms)
        EXPECT_NE(w.after.rule, "gs.static_ground") << "a group that still holds changes its members no more";
    ch = s.post(s.ground, 40, 0);  // grounding restored: the member clears, the group stops holding
    EXPECT_EQ(s.compound()->cond, condition::cleared);
    EXPECT_FALSE(ground_alarm().inhibited_by) << "released with the group";
    bool released = false;
    for (const auto& w : ch.alarms)
        for (const auto& e : w.events)
            if (w.after.rule == "gs.static_ground" && e.type == "released") released = true;
    EXPECT_TRUE(released);
}

TEST(CompoundEngine, NotForTInterruptedAtTMinusOneStartsOver) {
    station s;
    s.post(s.video, 0, 1);
    s.post(s.ground, 0, 1);
    s.post(s.ground, 29, 0);  // fixed at T - 1
    s.post(s.ground, 30, 1);  // faulty again: the 30 s start over
    s.post(s.video, 59, 1);
    EXPECT_FALSE(s.compound());
    s.post(s.video, 60, 1);
    EXPECT_TRUE(s.compound());
}

TEST(CompoundEngine, TheTimerCompletesTheOnDelayWithoutNewReadings) {
    station s;
    s.post(s.video, 0, 1);
    s.post(s.ground, 0, 1);
    EXPECT_TRUE(s.e.tick({&s.video, &s.ground}, 29 * kMicrosPerSecond).alarms.empty());
    s.e.commit();
    auto ch = s.e.tick({&s.video, &s.ground}, 31 * kMicrosPerSecond);
    ASSERT_EQ(ch.alarms.size(), 1u) << "gateways report on change only: the tick must fire it";
    EXPECT_EQ(ch.alarms[0].after.rule, "gs.unloading_without_grounding");
}

TEST(CompoundEngine, RestartInTheMiddleOfTheOnDelay) {
    station before;
    before.post(before.video, 0, 1);
    auto ch = before.post(before.ground, 1, 1);
    // What the database holds: the compound's state, and the latest readings.
    json state;
    for (const auto& st : ch.states)
        if (st.rule == "gs.unloading_without_grounding") state = st.state;
    ASSERT_FALSE(state.is_null());
    EXPECT_EQ(ch.states.back().sensor, "site:GS");
    station after;
    after.e.restore_last_reading(after.video, 0, 1);
    after.e.restore_last_reading(after.ground, 1 * kMicrosPerSecond, 1);
    for (const auto& st : ch.states)
        if (st.sensor == "GS-G") after.e.restore_state(st.rule, after.ground, st.state);
    for (auto w : ch.alarms) {  // the grounding alarm, as stored
        w.after.id = 99;
        after.e.restore_alarm(w.after, after.ground);
    }
    after.e.restore_site_state("gs.unloading_without_grounding", "GS", state);
    EXPECT_TRUE(after.e.tick({&after.video, &after.ground}, 30 * kMicrosPerSecond).alarms.empty());
    after.e.commit();
    EXPECT_EQ(after.e.tick({&after.video, &after.ground}, 31 * kMicrosPerSecond).alarms.size(), 1u);
}

namespace {

/// A site of gas detectors whose alarms (level per sensor) and positions the test sets.
struct wells {
    std::map<std::string, level> alarms;
    std::map<std::string, std::pair<double, double>> where;
    std::map<std::string, std::vector<std::string>> groups;
    condition_memory memory;
    condition_result at(double seconds, const condition_node& n) {
        site_facts f;
        f.sensors = [](const std::string&, const std::function<void(const std::string&, double)>&) {};
        f.alarms = [this](const std::string& rule, const std::function<void(const member&)>& each) {
            std::int64_t id = 1;
            for (const auto& [sensor, lvl] : alarms) each({sensor, rule, id++, lvl});
        };
        f.position = [this](const std::string& s) -> std::optional<std::pair<double, double>> {
            auto it = where.find(s);
            return it == where.end() ? std::nullopt : std::optional(it->second);
        };
        f.groups = [this](const std::string& s) -> const std::vector<std::string>* {
            auto it = groups.find(s);
            return it == groups.end() ? nullptr : &it->second;
        };
        return evaluate_condition(n, f, memory, static_cast<micros>(seconds * kMicrosPerSecond));
    }
};

condition_node two_of(double within_s, double within_m = 0) {
    json j{{"count", {{"alarm", "lel"}, {"level", "orange"}}}, {"at_least", 2}, {"within_s", within_s}};
    if (within_m > 0) j["within_m"] = within_m;
    return parse_condition(j);
}

}  // namespace

TEST(Correlation, KMinusOneMembersIsNotEnough) {
    wells w;
    w.alarms = {{"W1", level::orange}, {"W2", level::yellow}};
    EXPECT_FALSE(w.at(0, two_of(1800)).holds) << "one well at orange, the other below";
    w.alarms["W2"] = level::red;
    auto r = w.at(1, two_of(1800));
    EXPECT_TRUE(r.holds);
    EXPECT_EQ(r.members.size(), 2u);
}

TEST(Correlation, ExactlyAtWAndOneMomentOutside) {
    auto n = two_of(1800);
    wells w;
    w.alarms = {{"W1", level::orange}};
    w.at(0, n);
    w.alarms = {{"W2", level::orange}};  // W1 cleared, W2 reaches orange 30 min later
    EXPECT_TRUE(w.at(1800, n).holds) << "both within 1800 s";
    wells late;
    late.alarms = {{"W1", level::orange}};
    late.at(0, n);
    late.alarms = {{"W2", level::orange}};
    EXPECT_FALSE(late.at(1800.001, n).holds);
}

TEST(Correlation, AMemberClearingWhileTheGroupHolds) {
    auto n = two_of(600);
    wells w;
    w.alarms = {{"W1", level::orange}, {"W2", level::orange}};
    EXPECT_TRUE(w.at(0, n).holds);
    w.alarms = {{"W2", level::orange}};  // W1's alarm clears
    EXPECT_TRUE(w.at(300, n).holds) << "W1 was at orange within the window: the group holds";
    EXPECT_FALSE(w.at(601, n).holds) << "the window has passed";
}

TEST(Correlation, OnlyAdjacentSensorsCount) {
    auto n = two_of(1800, 200);
    wells w;
    w.alarms = {{"W1", level::orange}, {"W2", level::orange}, {"W3", level::orange}};
    w.where = {{"W1", {22.5433, 114.0555}}, {"W2", {22.5400, 114.0555}}};  // 367 m apart; W3 unknown
    EXPECT_FALSE(w.at(0, n).holds) << "too far apart, and a sensor without a position proves nothing";
    w.where["W3"] = {22.5424, 114.0563};  // about 130 m from W1
    auto r = w.at(1, n);
    EXPECT_TRUE(r.holds);
    ASSERT_EQ(r.members.size(), 2u);
    EXPECT_EQ(r.members[0].sensor, "W1");
    EXPECT_EQ(r.members[1].sensor, "W3");
}

TEST(Correlation, ANamedGroupMakesSensorsAdjacentWhateverTheirDistance) {
    auto n = parse_condition(
        {{"count", {{"alarm", "lel"}, {"level", "orange"}}},
         {"at_least", 2},
         {"within_s", 1800},
         {"within_m", 200},
         {"same_group", true}}
    );
    wells w;
    w.alarms = {{"W1", level::orange}, {"W2", level::orange}};
    w.where = {{"W1", {22.5433, 114.0555}}, {"W2", {22.5400, 114.0555}}};  // 367 m apart
    w.groups = {{"W1", {"SEG-7"}}, {"W2", {"SEG-8"}}};
    EXPECT_FALSE(w.at(0, n).holds) << "too far apart, in different segments";
    wells same;
    same.alarms = w.alarms;
    same.where = w.where;
    same.groups = {{"W1", {"SEG-7"}}, {"W2", {"DISTRICT-3", "SEG-7"}}};
    auto r = same.at(0, n);
    EXPECT_TRUE(r.holds) << "one segment: adjacent along the pipe";
    EXPECT_EQ(r.members.size(), 2u);
    same.where.clear();
    EXPECT_TRUE(same.at(1, n).holds) << "a shared group needs no position";
}

TEST(Correlation, TheShippedPipelineRule) {
    auto all = load_packs(CITYGUARD_SOURCE_DIR "/config/rules");
    auto it = std::find_if(all.begin(), all.end(), [](const rule& r) { return r.id == "gas_pipeline.confirmed_leak"; });
    ASSERT_NE(it, all.end());
    EXPECT_EQ(it->kind, rule_kind::compound);
    EXPECT_EQ(it->compound_level, level::red);
    ASSERT_TRUE(it->when);
    EXPECT_EQ(it->when->what, condition_node::op::count);
    EXPECT_EQ(it->when->at_least, 2);
    EXPECT_EQ(it->member_rules, std::vector<std::string>{"gas_pipeline.manhole_lel"});
}

TEST(Correlation, RefusedParameters) {
    auto refused = [](json params) -> std::string {
        json rules = json::array(
            {{{"id", "x.lel"},
              {"name", {{"zh", "气"}, {"en", "gas"}}},
              {"kinds", {"gas_lel"}},
              {"kind", "threshold"},
              {"params", {{"levels", {{{"level", "orange"}, {"value", 20}}}}}},
              {"advice", {{"orange", {{"zh", "a"}, {"en", "a"}}}}},
              {"source", "s"}},
             {{"id", "x.group"},
              {"name", {{"zh", "组"}, {"en", "group"}}},
              {"kind", "correlation"},
              {"params", params},
              {"advice", {{"red", {{"zh", "a"}, {"en", "a"}}}}},
              {"source", "s"}},
             {{"id", "x.off"},
              {"name", {{"zh", "离线"}, {"en", "offline"}}},
              {"kinds", {"*"}},
              {"kind", "offline"},
              {"advice", {{"blue", {{"zh", "x"}, {"en", "x"}}}}},
              {"source", "s"}}}
        );
        try {
            parse_pack({{"domain", "x"}, {"rules", rules}}, "x.json");
        } catch (const pack_error& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_EQ(refused({{"rule", "x.lel"}, {"level", "orange"}, {"at_least", 2}, {"raise", "red"}}), "");
    EXPECT_NE(refused({{"rule", "x.lel"}, {"at_least", 1}, {"raise", "red"}}).find("at least 2"), std::string::npos);
    EXPECT_NE(refused({{"rule", "x.nope"}, {"at_least", 2}, {"raise", "red"}}).find("'x.nope'"), std::string::npos);
    EXPECT_NE(refused({{"rule", "x.lel"}, {"at_least", 2}}).find("'raise'"), std::string::npos);
    EXPECT_NE(
        refused({{"rule", "x.lel"}, {"at_least", 2}, {"raise", "red"}, {"within_m", -5}}).find("within_m"),
        std::string::npos
    );
}

namespace {

/// A rule of the gas_pipeline test pack: correlation or compound `params`, red.
json group_rule(const std::string& id, const std::string& kind, json params) {
    return {
        {"id", id},
        {"name", {{"zh", "组"}, {"en", id}}},
        {"kind", kind},
        {"params", std::move(params)},
        {"advice", {{"red", {{"zh", "处置"}, {"en", "act"}}}}},
        {"source", "s"}};
}

/// A pack with a gas threshold (orange at 20), an offline rule and `more`.
std::vector<rule> pipeline_pack(const std::vector<json>& more, double orange_at = 20) {
    json adv = {{"zh", "处置"}, {"en", "act"}};
    json p{
        {"domain", "gas_pipeline"},
        {"rules",
         {{{"id", "gp.lel"},
           {"name", {{"zh", "可燃气体"}, {"en", "gas"}}},
           {"kinds", {"gas_lel"}},
           {"kind", "threshold"},
           {"params", {{"levels", {{{"level", "orange"}, {"value", orange_at}}}}}},
           {"advice", {{"orange", adv}}},
           {"source", "s"}},
          {{"id", "gp.off"},
           {"name", {{"zh", "离线"}, {"en", "offline"}}},
           {"kinds", {"*"}},
           {"kind", "offline"},
           {"advice", {{"blue", adv}}},
           {"source", "s"}}}}};
    for (const auto& r : more) p["rules"].push_back(r);
    return parse_pack(p, "gp.json");
}

json two_at_orange(const char* scope) {
    return {
        {"rule", "gp.lel"},
        {"level", "orange"},
        {"at_least", 2},
        {"within_s", 1800},
        {"raise", "red"},
        {"scope", scope}};
}

/// A pipe segment's wells on three sites: two in the named group "SEG-7", one outside it.
struct segment {
    static std::vector<rule> pack(bool with_site_rule = false) {
        std::vector<json> more{group_rule("gp.segment_leak", "correlation", two_at_orange("group"))};
        if (with_site_rule) more.push_back(group_rule("gp.site_leak", "correlation", two_at_orange("site")));
        return pipeline_pack(more);
    }
    explicit segment(bool with_site_rule = false) : e(pack(with_site_rule), 0) {}
    engine e;
    std::vector<sensor_facts> wells{
        {"W1", 1, "S1", "gas_pipeline", "gas_lel", 60, json::object(), 1, {}, {}, {"SEG-7"}},
        {"W2", 2, "S2", "gas_pipeline", "gas_lel", 60, json::object(), 1, {}, {}, {"SEG-7", "DISTRICT-3"}},
        {"W3", 3, "S3", "gas_pipeline", "gas_lel", 60, json::object(), 1, {}, {}, {}}};
    std::int64_t next_id = 1;
    void post(std::int32_t key, double seconds, double value) {
        const auto ts = static_cast<micros>(seconds * kMicrosPerSecond);
        std::vector<reading> rows{{key, ts, value}};
        auto ch = e.evaluate(
            rows, {true}, [&](std::int32_t k) { return &wells[k - 1]; }, ts
        );
        std::vector<std::int64_t> ids;
        for (const auto& w : ch.alarms)
            if (w.after.id == 0) ids.push_back(next_id++);
        e.assign_ids(ids);
        e.commit();
    }
    std::vector<cityguard::alarm_model::alarm> group_alarms() {
        std::vector<cityguard::alarm_model::alarm> out;
        for (const auto& a : e.open_alarms())
            if (a.rule == "gp.segment_leak") out.push_back(a);
        return out;
    }
};

}  // namespace

TEST(Correlation, ANamedGroupCountsItsMembersAcrossSitesAndNoOthers) {
    segment s;
    s.post(1, 0, 25);
    s.post(3, 10, 25);
    EXPECT_TRUE(s.group_alarms().empty()) << "W3 is at orange too, but not in the group";
    s.post(2, 20, 25);
    auto g = s.group_alarms();
    ASSERT_EQ(g.size(), 1u) << "W1 and W2 share SEG-7, on different sites; DISTRICT-3 has one member";
    EXPECT_EQ(g[0].site, "group:SEG-7");
    EXPECT_EQ(g[0].sensor, "");
    EXPECT_EQ(g[0].lvl, level::red);
    std::vector<std::string> members;
    for (const auto& m : g[0].members) members.push_back(m.sensor);
    std::sort(members.begin(), members.end());
    EXPECT_EQ(members, (std::vector<std::string>{"W1", "W2"}));
}

TEST(Correlation, ASensorThatLeavesTheGroupNoLongerCounts) {
    segment s;
    s.wells[1].groups.clear();  // W2 was moved to another segment before anything was posted
    s.wells[1].version = 2;
    s.post(1, 0, 25);
    s.post(2, 20, 25);
    EXPECT_TRUE(s.group_alarms().empty());
    s.wells[1].groups = {"SEG-7"};
    s.wells[1].version = 3;
    s.post(2, 30, 26);  // no alarm moved, and no delay of the group runs: the timer looks again
    std::vector<const sensor_facts*> all{&s.wells[0], &s.wells[1], &s.wells[2]};
    auto ch = s.e.tick(all, 31 * kMicrosPerSecond);
    ASSERT_EQ(ch.alarms.size(), 1u);
    s.e.assign_ids({s.next_id++});
    s.e.commit();
    EXPECT_EQ(s.group_alarms().size(), 1u) << "back in the group: it counts again";
}

TEST(Correlation, ScopesAreCheckedAtLoad) {
    auto pack = segment::pack();
    EXPECT_TRUE(pack.back().per_group);
    auto refused = [&](json params) -> std::string {
        try {
            pipeline_pack(
                {group_rule("gp.site", "correlation", two_at_orange("site")), group_rule("gp.c", "compound", params)}
            );
        } catch (const pack_error& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_EQ(refused({{"level", "red"}, {"when", {{"alarm", "gp.site"}}}}), "");
    EXPECT_NE(
        refused({{"level", "red"}, {"when", {{"alarm", "gp.site"}}}, {"scope", "town"}}).find("'scope'"),
        std::string::npos
    );
    EXPECT_NE(
        refused({{"level", "red"}, {"when", {{"alarm", "gp.site"}}}, {"scope", "group"}}).find("scoped to a site"),
        std::string::npos
    );
}

TEST(Correlation, AnAlarmInTwoGroupsStaysWithTheFirstThatMarkedIt) {
    segment s(true);
    s.wells[1].site = "S1";  // W1 and W2: one site and one named group, so both rules hold
    for (int i = 0; i < 3; ++i) {
        s.post(1, i * 10, 25);
        s.post(2, i * 10 + 5, 25);
    }
    std::vector<const sensor_facts*> all{&s.wells[0], &s.wells[1], &s.wells[2]};
    auto tick = [&](double seconds) {
        auto ch = s.e.tick(all, static_cast<micros>(seconds * kMicrosPerSecond));
        s.e.commit();
        return ch;
    };
    tick(26);  // the group alarms have their ids: now they mark
    std::map<std::string, std::int64_t> groups;
    for (const auto& a : s.e.open_alarms())
        if (a.sensor.empty()) groups[a.rule] = a.id;
    ASSERT_EQ(groups.size(), 2u);
    auto marks = [&] {
        std::set<std::int64_t> by;
        for (const auto& a : s.e.open_alarms())
            if (a.rule == "gp.lel" && a.inhibited_by) by.insert(*a.inhibited_by);
        return by;
    };
    const auto first = marks();
    ASSERT_EQ(first.size(), 1u) << "one incident holds both members";
    std::vector<std::int64_t> ids;
    for (int i = 3; i < 6; ++i) {
        const auto ts = static_cast<micros>(i * 10 * kMicrosPerSecond);
        std::vector<reading> rows{{1, ts, 40.0 + i}, {2, ts + 1, 40.0 + i}};
        auto ch = s.e.evaluate(
            rows, {true, true}, [&](std::int32_t k) { return &s.wells[k - 1]; }, ts + 1
        );
        s.e.commit();
        auto timer = tick(i * 10 + 2);
        ch.alarms.insert(ch.alarms.end(), timer.alarms.begin(), timer.alarms.end());
        for (const auto& w : ch.alarms)
            for (const auto& e : w.events) EXPECT_NE(e.type, "inhibited") << "marks do not move between the two groups";
        EXPECT_EQ(marks(), first);
    }
}

namespace {

/// Two wells of one site, and an engine that can be reloaded with other rules.
struct reloadable {
    engine e{pipeline_pack({group_rule("gp.site_leak", "correlation", two_at_orange("site"))}), 0};
    std::vector<sensor_facts> wells{
        {"W1", 1, "S1", "gas_pipeline", "gas_lel", 60, json::object(), 1},
        {"W2", 2, "S1", "gas_pipeline", "gas_lel", 60, json::object(), 1}};
    std::int64_t next_id = 1;
    changes post(std::int32_t key, double seconds, double value) {
        const auto ts = static_cast<micros>(seconds * kMicrosPerSecond);
        std::vector<reading> rows{{key, ts, value}};
        return settle(e.evaluate(
            rows, {true}, [&](std::int32_t k) { return &wells[k - 1]; }, ts
        ));
    }
    changes settle(changes ch) {
        std::vector<std::int64_t> ids;
        for (const auto& w : ch.alarms)
            if (w.after.id == 0) ids.push_back(next_id++);
        e.assign_ids(ids);
        e.commit();
        return ch;
    }
    const engine::reload_summary& reload(const std::vector<json>& more) {
        e = engine(pipeline_pack(more), std::move(e));
        return e.last_reload();
    }
    std::optional<cityguard::alarm_model::alarm> open(const std::string& rule, const std::string& sensor = "") {
        for (const auto& a : e.open_alarms())
            if (a.rule == rule && a.sensor == sensor) return a;
        return std::nullopt;
    }
};

}  // namespace

TEST(Reload, AnUnchangedRuleKeepsItsLookBack) {
    reloadable f;
    f.post(1, 0, 25);  // W1 at orange ...
    f.post(1, 10, 3);  // ... and clear again
    auto reworded = group_rule("gp.site_leak", "correlation", two_at_orange("site"));
    reworded["advice"]["red"]["en"] = "act now";  // only the text changes
    const auto& summary = f.reload({reworded});
    EXPECT_EQ(summary.unchanged, 3u);
    EXPECT_TRUE(summary.changed.empty() && summary.added.empty() && summary.removed.empty());
    f.post(2, 20, 25);
    EXPECT_TRUE(f.open("gp.site_leak")) << "W1's orange 20 s ago still counts: the look-back survived";
}

TEST(Reload, AChangedRuleKeepsItsOpenAlarmAndJudgesItAnew) {
    reloadable f;
    f.post(1, 0, 25);
    const auto before = f.open("gp.lel", "W1");
    ASSERT_TRUE(before);
    // gp.lel now orange at 30: the 25 %LEL alarm is judged by the new level at the next reading.
    f.e = engine(pipeline_pack({group_rule("gp.site_leak", "correlation", two_at_orange("site"))}, 30), std::move(f.e));
    EXPECT_EQ(f.e.last_reload().changed, std::vector<std::string>{"gp.lel"});
    auto still = f.open("gp.lel", "W1");
    ASSERT_TRUE(still);
    EXPECT_EQ(still->id, before->id) << "the same alarm, not a second one";
    f.post(1, 60, 26);
    EXPECT_EQ(f.open("gp.lel", "W1")->cond, condition::cleared) << "26 is below the new orange level";
}

TEST(Reload, ARemovedRulesAlarmStaysForTheOperatorToClose) {
    reloadable f;
    f.post(1, 0, 25);
    f.post(2, 5, 25);
    f.post(2, 6, 26);  // the group alarm has its id now
    const auto group = f.open("gp.site_leak");
    ASSERT_TRUE(group);
    const auto& summary = f.reload({});
    EXPECT_EQ(summary.removed, std::vector<std::string>{"gp.site_leak"});
    auto ch = f.settle(f.e.retire_removed(100 * kMicrosPerSecond));
    ASSERT_EQ(ch.alarms.size(), 1u);
    EXPECT_EQ(ch.alarms[0].after.cond, condition::unknown);
    EXPECT_EQ(ch.alarms[0].events.at(0).type, "unknown");
    for (const auto& r : f.e.rules())
        if (r.id == "gp.site_leak") {
            EXPECT_TRUE(r.retired);
        }
    f.post(1, 110, 40);  // nothing judges it any more
    EXPECT_EQ(f.open("gp.site_leak")->cond, condition::unknown);
    action_request close{action::close, "op", true, "", "test", true};
    auto closed = f.e.act(group->id, close, 120 * kMicrosPerSecond);
    ASSERT_TRUE(std::holds_alternative<changes>(closed));
    f.settle(std::get<changes>(closed));
    EXPECT_FALSE(f.open("gp.site_leak"));
    EXPECT_TRUE(f.reload({}).removed.empty()) << "a retired rule without open alarms is gone";
}

TEST(Reload, AnAddedRuleJudgesTheNextReading) {
    reloadable f;
    f.post(1, 0, 25);
    f.post(2, 5, 25);
    EXPECT_FALSE(f.open("gp.other_leak"));
    auto added = group_rule("gp.other_leak", "correlation", two_at_orange("site"));
    const auto& summary = f.reload({group_rule("gp.site_leak", "correlation", two_at_orange("site")), added});
    EXPECT_EQ(summary.added, std::vector<std::string>{"gp.other_leak"});
    f.post(2, 10, 30);  // orange → still orange: no event, so the timer looks at the new compound
    f.settle(f.e.tick({&f.wells[0], &f.wells[1]}, 11 * kMicrosPerSecond));
    EXPECT_TRUE(f.open("gp.other_leak"));
    EXPECT_TRUE(f.open("gp.lel", "W1")) << "the members' alarms stayed";
}

TEST(Reload, AtStartUpAnOpenAlarmOfARuleNoPackHasCanStillBeClosed) {
    reloadable f;
    cityguard::alarm_model::alarm gone;
    gone.id = 77;
    gone.rule = "gp.gone";
    gone.site = "S1";
    gone.sensor = "W1";
    gone.domain = "gas_pipeline";
    gone.lvl = level::orange;
    f.e.restore_alarm(gone, f.wells[0]);
    gone.id = 78;
    gone.rule = "gp.gone_compound";
    gone.sensor = "";
    f.e.restore_site_alarm(gone);
    f.post(1, 10, 30);  // nothing judges them
    f.settle(f.e.tick({&f.wells[0], &f.wells[1]}, 11 * kMicrosPerSecond));
    EXPECT_EQ(f.open("gp.gone", "W1")->cond, condition::active);
    for (const std::int64_t id : {77, 78}) {
        action_request close{action::close, "op", true, "its rule is gone", "test", true};
        auto closed = f.e.act(id, close, 20 * kMicrosPerSecond);
        ASSERT_TRUE(std::holds_alternative<changes>(closed)) << id;
        f.settle(std::get<changes>(closed));
    }
    EXPECT_FALSE(f.open("gp.gone", "W1"));
    EXPECT_FALSE(f.open("gp.gone_compound"));
    for (const auto& r : f.e.rules())
        if (r.id.starts_with("gp.gone")) {
            EXPECT_TRUE(r.retired);
        }
}
