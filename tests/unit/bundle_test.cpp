#include "cityguard/rules/bundle.hpp"

#include <gtest/gtest.h>

#include "cityguard/alarm_model/coverage.hpp"

using namespace cityguard;
using nlohmann::json;

namespace {

std::vector<rules::rule> station_rules() {
    json adv{{"zh", "处置"}, {"en", "act"}};
    json pack{
        {"domain", "gas_station"},
        {"rules",
         {{{"id", "gs.lel"},
           {"name", {{"zh", "可燃气体"}, {"en", "gas"}}},
           {"kinds", {"gas_lel"}},
           {"kind", "threshold"},
           {"params", {{"levels", {{{"level", "orange"}, {"value", 50}}}}}},
           {"advice", {{"orange", adv}}},
           {"source", "s"}},
          {{"id", "gs.off"},
           {"name", {{"zh", "离线"}, {"en", "offline"}}},
           {"kinds", {"*"}},
           {"kind", "offline"},
           {"advice", {{"blue", adv}}},
           {"source", "s"}}}}};
    return rules::parse_pack(pack, "gs.json");
}

json station_pack(json items) {
    return {
        {"domain", "gas_station"},
        {"bundle", {{"id", "8+8"}, {"name", {{"zh", "八加八"}, {"en", "8+8"}}}, {"source", "s"}, {"items", items}}}};
}

json item(const std::string& id, json kinds, json rule_ids) {
    return {{"id", id}, {"type", "iot"}, {"name", {{"zh", id}, {"en", id}}}, {"kinds", kinds}, {"rules", rule_ids}};
}

std::string refused(json items) {
    try {
        rules::parse_bundle(station_pack(std::move(items)), "gs.json", station_rules());
    } catch (const rules::pack_error& e) {
        return e.what();
    }
    return "";
}

alarm_model::alarm open_alarm(
    std::int64_t id, const std::string& rule, const std::string& sensor, alarm_model::category cat
) {
    alarm_model::alarm a;
    a.id = id;
    a.rule = rule;
    a.sensor = sensor;
    a.site = "GS";
    a.cat = cat;
    return a;
}

}  // namespace

TEST(Bundle, ItemsNameRulesOfTheirDomain) {
    EXPECT_EQ(refused(json::array({item("I4", {"gas_lel"}, {"gs.lel"})})), "");
    EXPECT_NE(
        refused(json::array({item("I4", {"gas_lel"}, {"gs.nope"})})).find("unknown rule 'gs.nope'"), std::string::npos
    );
    EXPECT_NE(refused(json::array({item("I4", json::array(), {"gs.lel"})})).find("'kinds'"), std::string::npos);
    EXPECT_NE(
        refused(json::array({item("I4", {"gas_lel"}, json::array()), item("I4", {"x"}, json::array())}))
            .find("duplicate item id"),
        std::string::npos
    );
    auto bad_type = item("V1", {"video.fire_smoke"}, json::array());
    bad_type["type"] = "radar";
    EXPECT_NE(refused(json::array({bad_type})).find("'type' must be video or iot"), std::string::npos);
    EXPECT_FALSE(rules::parse_bundle(json{{"domain", "gas_station"}}, "gs.json", station_rules()))
        << "a pack without a bundle";
}

TEST(Coverage, PresentInAlarmOfflineFaultAndMissing) {
    auto b = *rules::parse_bundle(
        station_pack(json::array(
            {item("I4", {"gas_lel"}, {"gs.lel"}),
             item("I1", {"tank_level"}, json::array()),
             item("I3", {"leak"}, json::array()),
             item("V4", {"video.fire_smoke"}, json::array())}
        )),
        "gs.json",
        station_rules()
    );
    std::vector<alarm_model::site_sensor> sensors{
        {"GS-LEL-1", "gas_lel"}, {"GS-LEL-2", "gas_lel"}, {"GS-TANK", "tank_level"}, {"GS-LEAK", "leak"}};
    std::vector<alarm_model::alarm> alarms{
        open_alarm(1, "gs.lel", "GS-LEL-1", alarm_model::category::process),
        open_alarm(2, "gs.off", "GS-TANK", alarm_model::category::offline),
        open_alarm(3, "gs.leak_fault", "GS-LEAK", alarm_model::category::fault)};
    auto cleared = open_alarm(4, "gs.lel", "GS-LEL-2", alarm_model::category::process);
    cleared.cond = alarm_model::condition::cleared;
    alarms.push_back(cleared);
    const auto c = alarm_model::coverage_of("GS", b, sensors, alarms);
    std::map<std::string, std::string> state;
    for (const auto& i : c["items"]) state[i["id"]] = i["state"];
    EXPECT_EQ(state["I4"], "in_alarm");
    EXPECT_EQ(state["I1"], "offline");
    EXPECT_EQ(state["I3"], "fault");
    EXPECT_EQ(state["V4"], "no_sensor");
    EXPECT_EQ(c["items"][0]["alarms"], json::array({1})) << "a cleared alarm is not 'in alarm'";
    EXPECT_EQ(c["items"][0]["working_sensors"], 2);
    EXPECT_EQ(c["summary"]["covered"], 3);
    EXPECT_EQ(c["summary"]["no_sensor"], 1);
    EXPECT_EQ(c["summary"]["required_unwatched"], json::array({"I1", "I3", "V4"}))
        << "no working sensor: the duty is not met";
}

TEST(Bundle, ShippedBundlesCoverTheirSets) {
    const auto all = rules::load_packs(CITYGUARD_SOURCE_DIR "/config/rules");
    const auto bundles = rules::load_bundles(CITYGUARD_SOURCE_DIR "/config/rules", all);
    std::map<std::string, std::pair<int, int>> video_iot;
    for (const auto& b : bundles)
        for (const auto& i : b.items) (i.type == "video" ? video_iot[b.id].first : video_iot[b.id].second)++;
    EXPECT_EQ(video_iot["8+8"], std::make_pair(8, 8));
    EXPECT_EQ(video_iot["5+1"], std::make_pair(5, 1));
    EXPECT_EQ(video_iot["4+X"].second, 7) << "the four, and the ESD, flow and composition extras";
    // Every item of every bundle has a rule that judges it (issue 29 closed the 8+8 holes).
    for (const auto& b : bundles)
        for (const auto& i : b.items) EXPECT_FALSE(i.rules.empty()) << b.id << " " << i.id << " has no rule";
}
