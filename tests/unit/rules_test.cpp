#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "cityguard/rules/evaluator.hpp"

using namespace cityguard::rules;
using nlohmann::json;
using change = outcome::change;

namespace {

using cityguard::util::kMicrosPerSecond;

rule make(const json& j, const std::string& domain = "gas_station") {
    json pack{
        {"domain", domain},
        {"rules",
         json::array(
             {j,
              {{"id", "off"},
               {"name", {{"zh", "离线"}, {"en", "offline"}}},
               {"kinds", {"*"}},
               {"kind", "offline"},
               {"advice", {{"blue", {{"zh", "x"}, {"en", "x"}}}}},
               {"source", "s"}}}
         )}};
    return parse_pack(pack, "test.json").front();
}

json make_offline_json() {
    return {
        {"id", "off"},
        {"name", {{"zh", "离线"}, {"en", "offline"}}},
        {"kinds", {"*"}},
        {"kind", "offline"},
        {"advice", {{"blue", {{"zh", "x"}, {"en", "x"}}}}},
        {"responders", json::object()},
        {"source", "s"}};
}

json gas_rule(json params) {
    return {
        {"id", "gas"},
        {"name", {{"zh", "可燃气体"}, {"en", "gas"}}},
        {"kinds", {"gas_lel"}},
        {"kind", "threshold"},
        {"params", params},
        {"advice",
         {{"yellow", {{"zh", "a"}, {"en", "a"}}},
          {"orange", {{"zh", "b"}, {"en", "b"}}},
          {"red", {{"zh", "c"}, {"en", "c"}}},
          {"blue", {{"zh", "d"}, {"en", "d"}}}}},
        {"source", "GB/T 50493-2019"}};
}

/// Feeds readings one a minute (or at given seconds) and returns the changes in order.
struct runner {
    explicit runner(rule rule_under_test) : r(std::move(rule_under_test)) {}
    rule r;
    json limits = json::object();
    eval_state state;
    std::vector<resolved_level> levels() const { return resolve_levels(r, limits); }
    outcome at(double seconds, double value) {
        return evaluate(
            r, levels(), limits, state, static_cast<cityguard::util::micros>(seconds * kMicrosPerSecond), value
        );
    }
};

}  // namespace

TEST(Threshold, RaisesExactlyAtTheLimit) {
    runner t{
        make(gas_rule({{"levels", {{{"level", "orange"}, {"value", 50}}, {{"level", "yellow"}, {"value", 25}}}}}))};
    EXPECT_EQ(t.at(0, 24.999).what, change::none);
    auto o = t.at(60, 25);
    EXPECT_EQ(o.what, change::raised);
    EXPECT_EQ(o.lvl, level::yellow);
    o = t.at(120, 50);
    EXPECT_EQ(o.what, change::escalated);
    EXPECT_EQ(o.lvl, level::orange);
}

TEST(Threshold, DeadbandHoldsThenClears) {
    runner t{make(gas_rule({{"levels", {{{"level", "yellow"}, {"value", 25}, {"deadband", 2}}}}}))};
    EXPECT_EQ(t.at(0, 26).what, change::raised);
    EXPECT_EQ(t.at(60, 23).what, change::repeated) << "inside the deadband the level holds";
    EXPECT_EQ(t.at(120, 24.9).what, change::repeated);
    EXPECT_EQ(t.at(180, 22.9).what, change::cleared);
    EXPECT_EQ(t.at(240, 24).what, change::none) << "below the limit again does not re-raise";
}

TEST(Threshold, DeescalatesThroughTheDeadband) {
    runner t{make(gas_rule(
        {{"levels",
          {{{"level", "orange"}, {"value", 50}, {"deadband", 2}},
           {{"level", "yellow"}, {"value", 25}, {"deadband", 2}}}}}
    ))};
    t.at(0, 55);
    EXPECT_EQ(t.at(60, 49).what, change::repeated);
    auto o = t.at(120, 47);
    EXPECT_EQ(o.what, change::deescalated);
    EXPECT_EQ(o.lvl, level::yellow);
}

TEST(Threshold, OnDelayInterruptedJustBeforeItFires) {
    runner t{make(gas_rule({{"levels", {{{"level", "yellow"}, {"value", 25}}}}, {"for_s", 60}}))};
    EXPECT_EQ(t.at(0, 30).what, change::none);
    EXPECT_EQ(t.at(59, 30).what, change::none);
    EXPECT_EQ(t.at(59.5, 20).what, change::none) << "the condition stopped: the delay starts over";
    EXPECT_EQ(t.at(61, 30).what, change::none);
    EXPECT_EQ(t.at(120, 30).what, change::none);
    EXPECT_EQ(t.at(121, 30).what, change::raised);
}

TEST(Threshold, OffDelay) {
    runner t{make(gas_rule({{"levels", {{{"level", "yellow"}, {"value", 25}}}}, {"clear_for_s", 60}}))};
    t.at(0, 30);
    EXPECT_EQ(t.at(60, 10).what, change::repeated);
    EXPECT_EQ(t.at(90, 30).what, change::repeated) << "back above: the off-delay restarts";
    EXPECT_EQ(t.at(100, 10).what, change::repeated);
    EXPECT_EQ(t.at(159, 10).what, change::repeated);
    EXPECT_EQ(t.at(160, 10).what, change::cleared);
}

TEST(Threshold, LowDirectionAndSensorLimits) {
    auto j = gas_rule(
        {{"direction", "low"},
         {"levels", {{{"level", "red"}, {"limit", "low_low"}}, {{"level", "orange"}, {"limit", "low"}, {"value", 10}}}}}
    );
    runner t{make(j)};
    EXPECT_EQ(t.levels().size(), 1u) << "low_low has no default and the sensor gives none";
    t.limits = {{"low", 20}, {"low_low", 5}};
    EXPECT_EQ(t.at(0, 21).what, change::none);
    EXPECT_EQ(t.at(60, 20).lvl, level::orange);
    auto o = t.at(120, 4);
    EXPECT_EQ(o.what, change::escalated);
    EXPECT_EQ(o.lvl, level::red);
}

TEST(Threshold, FractionOfADesignLimit) {
    auto j = gas_rule(
        {{"levels",
          {{{"level", "red"}, {"fraction", 1.0}, {"of", "design"}},
           {{"level", "yellow"}, {"fraction", 0.6}, {"of", "design"}}}}}
    );
    runner t{make(j, "bridge")};
    EXPECT_TRUE(t.levels().empty()) << "no design value: the rule cannot judge this sensor";
    t.limits = {{"design", 80}};
    EXPECT_EQ(t.at(0, 47).what, change::none);
    EXPECT_EQ(t.at(60, 48).lvl, level::yellow);
    EXPECT_EQ(t.at(120, 80).lvl, level::red);
}

TEST(Threshold, NanNeverClears) {
    runner t{make(gas_rule({{"levels", {{{"level", "yellow"}, {"value", 25}}}}}))};
    t.at(0, 30);
    EXPECT_EQ(t.at(60, std::nan("")).what, change::none);
    EXPECT_TRUE(t.state.current.has_value());
}

TEST(Rate, RisingOverTheWindowTwiceInARow) {
    json j{
        {"id", "rise"},
        {"name", {{"zh", "上升"}, {"en", "rise"}}},
        {"kinds", {"gas_lel"}},
        {"kind", "rate"},
        {"params",
         {{"window_s", 600}, {"per_s", 60}, {"consecutive", 2}, {"levels", {{{"level", "yellow"}, {"value", 1}}}}}},
        {"advice", {{"yellow", {{"zh", "a"}, {"en", "a"}}}}},
        {"source", "s"}};
    runner t{make(j)};
    EXPECT_EQ(t.at(0, 0).what, change::none);
    EXPECT_EQ(t.at(120, 1).what, change::none) << "window not yet half covered";
    EXPECT_EQ(t.at(300, 6).what, change::none) << "first period over 1/min";
    EXPECT_EQ(t.at(360, 7).what, change::raised);
    EXPECT_EQ(t.at(1500, 7).what, change::cleared) << "flat again";
}

TEST(Cumulative, BaselineRateWarningAndAlarm) {
    json j{
        {"id", "set"},
        {"name", {{"zh", "沉降"}, {"en", "settlement"}}},
        {"kinds", {"settlement"}},
        {"kind", "cumulative"},
        {"params", {{"levels", {{{"level", "orange"}, {"value", 30}, {"rate", 3}}}}, {"warning_level", "yellow"}}},
        {"advice", {{"yellow", {{"zh", "a"}, {"en", "a"}}}, {"orange", {{"zh", "b"}, {"en", "b"}}}}},
        {"source", "GB 50497-2019"}};
    runner t{make(j, "ground")};
    const double hour = 3600;
    EXPECT_EQ(t.at(0, 100).what, change::none) << "first reading is the baseline";
    EXPECT_EQ(*t.state.baseline, 100);
    EXPECT_EQ(t.at(12 * hour, 101).what, change::none);
    auto o = t.at(24 * hour, 104);  // 4 mm in a day: rate exceeded
    EXPECT_EQ(o.what, change::raised);
    EXPECT_EQ(o.lvl, level::orange);
    runner w{make(j, "ground")};
    w.at(0, 0);
    for (int d = 1; d <= 12; ++d) w.at(d * 24 * hour, d * 1.8);  // 1.8 mm/d, below the rate limit
    EXPECT_EQ(w.state.current, level::yellow) << "21.6 mm ≥ 0.7 × 30 mm: warning band";
    auto a = w.at(17 * 24 * hour, 30.5);
    EXPECT_EQ(a.lvl, level::orange);
}

TEST(Cumulative, MissingBaselineNeedsReviewNeverNormal) {
    json j{
        {"id", "set"},
        {"name", {{"zh", "沉降"}, {"en", "settlement"}}},
        {"kinds", {"settlement"}},
        {"kind", "cumulative"},
        {"params", {{"baseline", "limits"}, {"levels", {{{"level", "orange"}, {"value", 30}, {"rate", 3}}}}}},
        {"advice", {{"orange", {{"zh", "b"}, {"en", "b"}}}, {"blue", {{"zh", "review"}, {"en", "review"}}}}},
        {"source", "GB 50497-2019"}};
    runner t{make(j, "ground")};
    auto o = t.at(0, 5);
    EXPECT_EQ(o.what, change::review);
    EXPECT_EQ(t.at(60, 5).what, change::repeated);
}

TEST(Event, RaisesRepeatsClearsAndExpires) {
    json j{
        {"id", "smoke"},
        {"name", {{"zh", "烟火"}, {"en", "fire"}}},
        {"kinds", {"video.*"}},
        {"kind", "event"},
        {"params", {{"level", "red"}, {"clear_after_s", 300}}},
        {"advice", {{"red", {{"zh", "a"}, {"en", "a"}}}}},
        {"source", "s"}};
    runner t{make(j)};
    EXPECT_TRUE(t.r.applies_to("gas_station", "video.fire_smoke"));
    EXPECT_FALSE(t.r.applies_to("gas_station", "gas_lel"));
    EXPECT_EQ(t.at(0, 1).what, change::raised);
    EXPECT_EQ(t.at(10, 1).what, change::repeated);
    EXPECT_EQ(t.at(20, 0).what, change::cleared);
    t.at(30, 1);
    EXPECT_EQ(expire(t.r, t.state, 329 * kMicrosPerSecond).what, change::none);
    EXPECT_EQ(expire(t.r, t.state, 330 * kMicrosPerSecond).what, change::cleared);
}

TEST(State, PersistedRoundTrip) {
    eval_state s;
    s.current = level::orange;
    s.pending_since = 42;
    s.baseline = 1.5;
    auto back = eval_state::from_persisted(s.persisted());
    EXPECT_EQ(back.fields(), s.fields());
}

TEST(Packs, RefusedWithFileRuleAndReason) {
    auto refused = [](json rule_json) -> std::string {
        try {
            make(rule_json);
        } catch (const pack_error& e) {
            return e.what();
        }
        return "";
    };
    auto j = gas_rule({{"levels", {{{"level", "yellow"}, {"value", 25}}}}});
    j["kind"] = "magic";
    EXPECT_NE(refused(j).find("test.json: rule gas: unknown kind"), std::string::npos);
    j = gas_rule(json::object());
    EXPECT_NE(refused(j).find("missing parameter 'levels'"), std::string::npos);
    j = gas_rule({{"levels", {{{"level", "yellow"}, {"value", 25}}, {{"level", "orange"}, {"value", 50}}}}});
    EXPECT_NE(refused(j).find("levels out of order"), std::string::npos);
    j = gas_rule({{"levels", {{{"level", "orange"}, {"value", 20}}, {{"level", "yellow"}, {"value", 25}}}}});
    EXPECT_NE(refused(j).find("levels out of order"), std::string::npos);
    j = gas_rule({{"levels", {{{"level", "yellow"}, {"value", 25}}}}});
    j["advice"] = {{"orange", {{"zh", "x"}, {"en", "x"}}}};
    EXPECT_NE(refused(j).find("no advice for level yellow"), std::string::npos);
    j = gas_rule({{"levels", {{{"level", "yellow"}, {"value", 25}}}}});
    j.erase("source");
    EXPECT_NE(refused(j).find("source"), std::string::npos);
    EXPECT_THROW(
        parse_pack(
            json{
                {"domain", "bridge"},
                {"rules", json::array({gas_rule({{"levels", {{{"level", "yellow"}, {"value", 1}}}}})})}},
            "x.json"
        ),
        pack_error
    ) << "a pack without an offline rule is refused";
}

TEST(Packs, RespondersComeFromTheRuleOrItsPack) {
    auto gas = gas_rule({{"levels", {{{"level", "yellow"}, {"value", 25}}}}});
    json pack{
        {"domain", "gas_station"},
        {"responders", {{"teams", {"fire", "gas_repair"}}, {"materials", {"foam"}}}},
        {"rules", json::array({gas, gas, make_offline_json()})}};
    pack["rules"][1]["id"] = "gas2";
    pack["rules"][1]["responders"] = {{"teams", {"hazmat", "hazmat", "medical"}}};
    const auto rules = parse_pack(pack, "p.json");
    EXPECT_EQ(rules[0].wanted.teams, (std::vector<std::string>{"fire", "gas_repair"})) << "the pack's";
    EXPECT_EQ(rules[0].wanted.materials, (std::vector<std::string>{"foam"}));
    EXPECT_EQ(rules[1].wanted.teams, (std::vector<std::string>{"hazmat", "medical"})) << "its own, repeats dropped";
    EXPECT_TRUE(rules[1].wanted.materials.empty()) << "its own replace the pack's whole";
    EXPECT_TRUE(rules[2].wanted.empty()) << "an explicit {} wants nobody";

    const auto refusal = [&](json responders) -> std::string {
        json p = pack;
        p["rules"][1]["responders"] = std::move(responders);
        try {
            parse_pack(p, "p.json");
        } catch (const pack_error& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_NE(refusal({{"teams", {"police"}}}).find("responders.teams: team kinds are fire"), std::string::npos);
    EXPECT_NE(refusal({{"materials", {"Gas Mask"}}}).find("responders.materials"), std::string::npos);
    EXPECT_NE(refusal({{"crew", json::array()}}).find("crew"), std::string::npos);
    EXPECT_NE(refusal(json::array()).find("'responders' must be"), std::string::npos);
    pack["responders"] = {{"teams", {"navy"}}};
    EXPECT_THROW(parse_pack(pack, "p.json"), pack_error) << "a pack's responders are checked too";
}

TEST(Packs, ShippedPacksLoad) {
    auto all = load_packs(CITYGUARD_SOURCE_DIR "/config/rules");
    std::set<std::string> domains;
    for (const auto& r : all) domains.insert(r.domain);
    EXPECT_EQ(domains.size(), 12u);
    EXPECT_GE(all.size(), 30u);
    for (const auto& r : all) {
        // Operators read the source: it names a standard, patent or practice, not our files.
        EXPECT_EQ(r.source.find(".md"), std::string::npos) << r.id << ": " << r.source;
        for (const auto& [lvl, advice] : r.advice) {
            EXPECT_EQ(advice.zh.find(" / "), std::string::npos) << r.id << ": one language per text";
            EXPECT_EQ(advice.en.find(" / "), std::string::npos) << r.id;
        }
    }
    // An alarm of a process rule says who should come; a device's own trouble calls nobody.
    for (const auto& r : all) {
        const bool device = r.kind == rule_kind::fault || r.kind == rule_kind::offline;
        if (device) {
            EXPECT_TRUE(r.wanted.empty()) << r.id;
        } else if (r.id.find("behaviour") == std::string::npos) {
            EXPECT_FALSE(r.wanted.teams.empty()) << r.id;
        }
    }
    // Every sensor kind a pack judges has a fault rule: no reading reaches a process rule untested.
    for (const auto& r : all) {
        if (r.kind == rule_kind::fault || r.kind == rule_kind::offline) continue;
        for (const auto& kind : r.kinds) {
            const std::string probe = kind == "video.*" ? "video.fire_smoke" : kind;
            const bool covered = std::any_of(all.begin(), all.end(), [&](const rule& f) {
                return f.kind == rule_kind::fault && f.applies_to(r.domain, probe);
            });
            EXPECT_TRUE(covered) << r.domain << " / " << kind << " has no fault rule";
        }
    }
}

namespace {

json fault_rule(json params) {
    return {
        {"id", "fault"},
        {"name", {{"zh", "传感器故障"}, {"en", "sensor fault"}}},
        {"kinds", {"pressure"}},
        {"kind", "fault"},
        {"params", params},
        {"advice", {{"yellow", {{"zh", "check the transmitter"}, {"en", "check the transmitter"}}}}},
        {"source", "QARTOD"}};
}

}  // namespace

TEST(Fault, RangeEdgesAreGoodValuesOutsideAreBad) {
    runner t{make(fault_rule({{"range", {{"min", 0}, {"max", 100}}}}))};
    EXPECT_EQ(t.at(0, 0).what, change::none);
    EXPECT_EQ(t.at(60, 100).what, change::none) << "exactly at the range's edge is plausible";
    auto o = t.at(120, 100.01);
    EXPECT_EQ(o.what, change::raised);
    EXPECT_TRUE(o.bad_reading);
    EXPECT_EQ(o.lvl, level::yellow);
    EXPECT_NE(o.note.find("physical range [0, 100]"), std::string::npos) << o.note;
    EXPECT_TRUE(t.at(180, -1).bad_reading);
    o = t.at(240, 50);
    EXPECT_EQ(o.what, change::cleared);
    EXPECT_FALSE(o.bad_reading);
    t.limits = {{"range_max", 40}};  // the instrument's own measuring range wins
    o = t.at(300, 50);
    EXPECT_TRUE(o.bad_reading);
    EXPECT_NE(o.note.find("[0, 40]"), std::string::npos) << o.note;
    o = t.at(360, 30);
    EXPECT_EQ(o.what, change::cleared);
    EXPECT_FALSE(o.bad_reading);
}

TEST(Fault, StuckForNMinusOneReadingsIsNoFaultNIs) {
    runner t{make(fault_rule({{"stuck", {{"epsilon", 0.001}, {"count", 5}}}}))};
    EXPECT_EQ(t.at(0, 3.0).what, change::none);
    for (int i = 1; i < 4; ++i) EXPECT_EQ(t.at(60 * i, 3.0005).what, change::none) << i;
    auto o = t.at(240, 3.0);  // the fifth reading within epsilon
    EXPECT_EQ(o.what, change::raised);
    EXPECT_FALSE(o.bad_reading) << "a stuck sensor's reading is not impossible, the sensor is suspect";
    EXPECT_NE(o.note.find("5 readings"), std::string::npos) << o.note;
    EXPECT_EQ(t.at(300, 3.01).what, change::cleared) << "any change beyond epsilon";
}

TEST(Fault, StuckRunIsMaxMinusMinNotDriftFromTheFirst) {
    runner t{make(fault_rule({{"stuck", {{"epsilon", 0.01}, {"count", 3}}}}))};
    t.at(0, 1.000);
    t.at(60, 1.008);
    // 1.016 is within epsilon of the reading before but 0.016 from the first: the run restarts.
    EXPECT_EQ(t.at(120, 1.016).what, change::none);
    EXPECT_EQ(t.at(180, 1.016).what, change::none);
    EXPECT_EQ(t.at(240, 1.016).what, change::raised);
}

TEST(Fault, StuckByTimeNeedsTheWholeDuration) {
    runner t{make(fault_rule({{"stuck", {{"epsilon", 0.0}, {"for_s", 600}}}}))};
    t.at(0, 5);
    EXPECT_EQ(t.at(599, 5).what, change::none);
    EXPECT_EQ(t.at(600, 5).what, change::raised);
}

TEST(Fault, ASpikeInsideALegitimateRamp) {
    runner t{make(fault_rule({{"spike", {{"window_s", 900}, {"k", 5}, {"min_dev", 0.5}}}}))};
    double v = 10;
    for (int i = 0; i < 10; ++i, v += 1.0) EXPECT_EQ(t.at(60 * i, v).what, change::none) << "the ramp is plausible";
    auto o = t.at(600, 60);
    EXPECT_EQ(o.what, change::raised) << "far beyond the ramp's spread";
    EXPECT_TRUE(o.bad_reading);
    EXPECT_NE(o.note.find("spike"), std::string::npos);
    o = t.at(660, v + 1);
    EXPECT_EQ(o.what, change::cleared) << "the ramp goes on; the spike stayed out of its window";
    EXPECT_FALSE(o.bad_reading);
}

TEST(Fault, ALevelShiftConfirmedByTheNextReadingIsReal) {
    // A gas leak can jump: a second reading close to the first suspect one makes it real.
    runner t{make(fault_rule({{"spike", {{"max_step", 20}}}}))};
    t.at(0, 1);
    t.at(60, 2);
    EXPECT_TRUE(t.at(120, 60).bad_reading);
    auto o = t.at(180, 62);
    EXPECT_FALSE(o.bad_reading) << "two readings agree: the level is real";
    EXPECT_FALSE(t.at(240, 63).bad_reading);
}

TEST(Fault, RestartInTheMiddleOfAStuckRunAndASpikeWindow) {
    auto r = make(fault_rule(
        {{"stuck", {{"epsilon", 0.001}, {"count", 6}}}, {"spike", {{"window_s", 900}, {"k", 5}, {"min_dev", 0.5}}}}
    ));
    runner live{r};
    for (int i = 0; i < 5; ++i) live.at(60 * i, 4.0);
    EXPECT_EQ(live.at(300, 4.0).what, change::raised);

    runner restarted{r};
    const auto need = history_needed(r, 60);
    EXPECT_GE(need.span, 6 * 60 * kMicrosPerSecond) << "six readings at 60 s";
    EXPECT_EQ(need.step, 1) << "stuck runs need every reading";
    for (int i = 0; i < 5; ++i) remember(r, json::object(), restarted.state, 60 * i * kMicrosPerSecond, 4.0);
    EXPECT_EQ(restarted.at(300, 4.0).what, change::raised) << "on the same reading as without the restart";
}

TEST(Fault, RefusedPacks) {
    auto refused = [](json params) -> std::string {
        try {
            make(fault_rule(std::move(params)));
        } catch (const pack_error& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_NE(refused({{"range", {{"min", 5}, {"max", 5}}}}).find("empty range"), std::string::npos);
    EXPECT_NE(refused({{"spike", {{"window_s", 60}}}}).find("min_dev"), std::string::npos);
    EXPECT_NE(refused({{"stuck", {{"epsilon", 0.1}}}}).find("'count'"), std::string::npos);
    EXPECT_NE(refused(json::object()).find("at least one of"), std::string::npos);
    EXPECT_NE(refused({{"range", {{"low", 1}}}}).find("unknown range field 'low'"), std::string::npos);
}

namespace {

json series_rule(const std::string& kind, const std::string& sensor_kind, json params) {
    return {
        {"id", "series"},
        {"name", {{"zh", "序列"}, {"en", "series"}}},
        {"kinds", {sensor_kind}},
        {"kind", kind},
        {"params", params},
        {"advice",
         {{"yellow", {{"zh", "a"}, {"en", "a"}}},
          {"orange", {{"zh", "b"}, {"en", "b"}}},
          {"red", {{"zh", "c"}, {"en", "c"}}}}},
        {"source", "test"}};
}

json frequency_drop(json baseline) {
    return series_rule(
        "baseline",
        "modal_frequency",
        {{"baseline", baseline},
         {"deviation", "relative"},
         {"direction", "below"},
         {"levels",
          {{{"level", "red"}, {"value", 0.15}},
           {{"level", "orange"}, {"value", 0.10}},
           {{"level", "yellow"}, {"value", 0.05}}}}}
    );
}

constexpr double kHour = 3600, kDay = 86400;

}  // namespace

TEST(Baseline, TooLittleHistoryJudgesNothingThenTheMedianDoes) {
    runner t{
        make(frequency_drop({{"median_of_s", kDay}, {"bucket_s", kHour}, {"min_history_s", 6 * kHour}}), "bridge")};
    // Six hours of 2.0 Hz, every ten minutes: the sixth bucket closes with the first reading of hour 7.
    for (int i = 0; i < 36; ++i) EXPECT_EQ(t.at(600 * i, 2.0).what, change::none);
    EXPECT_EQ(t.state.series.size(), 5U);
    EXPECT_EQ(t.at(6 * kHour - 1, 1.0).what, change::none) << "five hours of history: too little to judge";
    EXPECT_EQ(t.state.series.size(), 5U);
    const auto o = t.at(6 * kHour, 1.75);
    EXPECT_EQ(t.state.series.size(), 6U) << "the first reading of hour 7 closes hour 6";
    EXPECT_EQ(o.what, change::raised) << "12.5 % below the 2.0 Hz median";
    EXPECT_EQ(o.lvl, level::orange);
    EXPECT_NEAR(o.value, 0.125, 1e-9);
}

TEST(Baseline, ASensorLimitIsTheReferenceUntilTheMedianHasHistory) {
    runner t{make(
        frequency_drop(
            {{"median_of_s", kDay},
             {"bucket_s", kHour},
             {"min_history_s", 2 * kHour},
             {"limit", "baseline_frequency_hz"}}
        ),
        "bridge"
    )};
    t.limits = {{"baseline_frequency_hz", 2.0}};
    EXPECT_EQ(t.at(0, 1.79).what, change::raised) << "10.5 % below the design reference";
    EXPECT_EQ(t.state.current, level::orange);
    t.at(kHour, 1.79);
    EXPECT_EQ(t.at(2 * kHour, 1.79).what, change::cleared) << "two hours of 1.8 Hz: the median is the reference now";
}

TEST(Baseline, OneWildBucketDoesNotMoveTheMedian) {
    runner t{
        make(frequency_drop({{"median_of_s", kDay}, {"bucket_s", kHour}, {"min_history_s", 3 * kHour}}), "bridge")};
    for (int h = 0; h < 10; ++h) t.at(h * kHour, h == 4 ? 9.0 : 2.0);
    t.at(10 * kHour, 2.0);
    EXPECT_EQ(t.state.series.size(), 10U);
    const auto o = t.at(10 * kHour + 60, 1.85);
    EXPECT_EQ(o.what, change::raised);
    EXPECT_EQ(o.lvl, level::yellow) << "7.5 % below the 2.0 median, not against the 9.0 hour";
}

TEST(Baseline, BucketMeansCountOneReadingPerSubStep) {
    runner t{make(frequency_drop({{"median_of_s", kDay}, {"bucket_s", kHour}, {"min_history_s", kHour}}), "bridge")};
    // A burst of 100 readings in one sub-step (37.5 s) counts once: a chatty sensor cannot outweigh the hour.
    t.at(0, 1.0);
    for (int i = 1; i <= 100; ++i) t.at(0.1 * i, 9.0);
    t.at(1800, 3.0);
    t.at(kHour, 2.0);
    ASSERT_EQ(t.state.series.size(), 1U);
    EXPECT_DOUBLE_EQ(t.state.series.front().second, 2.0) << "mean of 1.0 and 3.0";
}

TEST(Trend, SlopeOverTheWindowOnceItCoversTheMinimum) {
    auto r = make(
        series_rule(
            "trend",
            "deflection",
            {{"window_s", 60 * kDay},
             {"bucket_s", kDay},
             {"min_history_s", 10 * kDay},
             {"per_s", 365 * kDay},
             {"direction", "absolute"},
             {"levels",
              {{{"level", "red"}, {"value", 120}},
               {{"level", "orange"}, {"value", 60}},
               {{"level", "yellow"}, {"value", 30}}}}}
        ),
        "bridge"
    );
    runner t{r};
    // Creeping 0.1 mm a day downwards (36.5 mm a year), four readings a day with daily noise.
    auto creep = [](int day, int q) { return -0.1 * day + (q % 2 ? 0.3 : -0.3); };
    std::optional<change> first;
    int first_day = -1;
    for (int day = 0; day < 30 && !first; ++day)
        for (int q = 0; q < 4; ++q) {
            const auto o = t.at(day * kDay + q * 6 * kHour, creep(day, q));
            if (o.what == change::raised) {
                first = o.what;
                first_day = day;
                EXPECT_EQ(o.lvl, level::yellow);
                EXPECT_NEAR(o.value, 36.5, 0.5);
                break;
            }
        }
    EXPECT_EQ(first_day, 10) << "buckets 0..9 close on day 10: their first and last span 9 days + one bucket";
    EXPECT_EQ(t.state.series.size(), 10U);
}

TEST(Trend, BucketsOutsideTheWindowLeaveIt) {
    auto r = make(
        series_rule(
            "trend",
            "deflection",
            {{"window_s", 10 * kDay},
             {"bucket_s", kDay},
             {"min_history_s", 5 * kDay},
             {"levels", {{{"level", "yellow"}, {"value", 30}}}}}
        ),
        "bridge"
    );
    runner t{r};
    for (int day = 0; day < 30; ++day) t.at(day * kDay, day < 15 ? 0.0 : 0.2 * (day - 15));
    EXPECT_LE(t.state.series.size(), 11U);
    EXPECT_EQ(t.state.current, level::yellow) << "73 mm a year over the last ten days only";
}

TEST(Series, RestartInTheMiddleOfABucketGivesTheSameAnswers) {
    auto r = make(frequency_drop({{"median_of_s", kDay}, {"bucket_s", kHour}, {"min_history_s", 3 * kHour}}), "bridge");
    runner live{r};
    std::vector<std::pair<double, double>> readings;
    for (int i = 0; i < 60; ++i) readings.emplace_back(i * 300.0 + 7, 2.0 + 0.01 * (i % 5));
    // A silent hour leaves a gap in the series; the persisted form keeps it.
    for (int i = 72; i < 90; ++i) readings.emplace_back(i * 300.0 + 7, 2.0 + 0.01 * (i % 3));
    for (const auto& [sec, v] : readings) live.at(sec, v);

    runner restarted{r};
    const json persisted = live.state.persisted();
    ASSERT_TRUE(persisted.contains("series"));
    EXPECT_TRUE(persisted["series"]["v"].size() > live.state.series.size()) << "the gap is kept as nulls";
    restarted.state = eval_state::from_persisted(persisted);
    EXPECT_EQ(restarted.state.series, live.state.series);
    const auto need = history_needed(r, 300);
    const auto last = static_cast<cityguard::util::micros>(readings.back().first * kMicrosPerSecond);
    for (const auto& [sec, v] : readings) {
        const auto ts = static_cast<cityguard::util::micros>(sec * kMicrosPerSecond);
        if (ts >= last - need.span) remember(r, json::object(), restarted.state, ts, v);
    }
    EXPECT_EQ(restarted.state.filling.sum, live.state.filling.sum);
    EXPECT_EQ(restarted.state.filling.count, live.state.filling.count);
    for (double sec = 90 * 300 + 7; sec < 110 * 300; sec += 300) {
        const auto a = live.at(sec, 1.7), b = restarted.at(sec, 1.7);
        EXPECT_EQ(a.what, b.what);
        EXPECT_EQ(a.lvl, b.lvl);
        EXPECT_DOUBLE_EQ(a.value, b.value);
    }
    EXPECT_EQ(live.state.current, level::red);
}

TEST(Series, RefusedPacks) {
    auto refused = [](json rule_json) -> std::string {
        try {
            make(std::move(rule_json), "bridge");
        } catch (const pack_error& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_NE(refused(frequency_drop({{"bucket_s", kHour}})).find("'median_of_s' or 'limit'"), std::string::npos);
    EXPECT_NE(
        refused(frequency_drop({{"median_of_s", kHour}, {"bucket_s", kDay}})).find("must not exceed"), std::string::npos
    );
    EXPECT_NE(refused(frequency_drop({{"median_of_s", 400 * kDay}, {"bucket_s", 60}})).find("1024"), std::string::npos);
    auto trend = series_rule(
        "trend",
        "deflection",
        {{"window_s", kDay}, {"bucket_s", kDay}, {"levels", {{{"level", "yellow"}, {"value", 1}}}}}
    );
    EXPECT_NE(refused(trend).find("three buckets"), std::string::npos);
}
