#include "cityguard/rules/compound.hpp"

#include <gtest/gtest.h>

#include <map>

#include "cityguard/alarm_model/engine.hpp"
#include "cityguard/rules/rule.hpp"

using namespace cityguard::rules;
using cityguard::util::micros;
using nlohmann::json;

namespace {

constexpr micros kSecond = 1'000'000;

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
        return evaluate_condition(n, facts(), memory, static_cast<micros>(seconds * kSecond)).holds;
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
        const auto ts = static_cast<micros>(seconds * kSecond);
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
    EXPECT_TRUE(s.e.tick({&s.video, &s.ground}, 29 * kSecond).alarms.empty());
    s.e.commit();
    auto ch = s.e.tick({&s.video, &s.ground}, 31 * kSecond);
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
    after.e.restore_last_reading(after.ground, 1 * kSecond, 1);
    for (const auto& st : ch.states)
        if (st.sensor == "GS-G") after.e.restore_state(st.rule, after.ground, st.state);
    for (auto w : ch.alarms) {  // the grounding alarm, as stored
        w.after.id = 99;
        after.e.restore_alarm(w.after, after.ground);
    }
    after.e.restore_site_state("gs.unloading_without_grounding", "GS", state);
    EXPECT_TRUE(after.e.tick({&after.video, &after.ground}, 30 * kSecond).alarms.empty());
    after.e.commit();
    EXPECT_EQ(after.e.tick({&after.video, &after.ground}, 31 * kSecond).alarms.size(), 1u);
}
