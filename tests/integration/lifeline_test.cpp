// The lifeline packs of issue 29 (config/rules/water_supply.json, drainage.json), end to end:
// the registry, readings over HTTP in reading time, the alarms and their advice.
#include <gtest/gtest.h>

#include "../support/test_env.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::format_rfc3339;
using cityguard::util::now_micros;
using nlohmann::json;

namespace {

constexpr std::int64_t kSecond = 1'000'000;

struct city {
    test_server srv;
    http_client c = srv.client();
    std::int64_t t0 = now_micros() - 3600 * kSecond;  // an hour ago: the scenario runs in reading time

    void site(const std::string& id, const std::string& domain, const json& sensors) {
        const json doc{
            {"sites",
             {{{"id", id}, {"name", id}, {"domain", domain}, {"district", "福田区"}, {"lat", 22.54}, {"lon", 114.05}}}},
            {"sensors", sensors}};
        auto r = c.call("POST", "/api/v1/registry", kAdminKey, doc.dump());
        ASSERT_EQ(r.status, 200) << r.body;
    }
    /// Readings at t0 + s seconds: {sensor, s, value}, posted one instant at a time.
    void at(std::int64_t s, const std::vector<std::pair<std::string, double>>& values) {
        json readings = json::array();
        for (const auto& [sensor, v] : values)
            readings.push_back({{"sensor", sensor}, {"ts", format_rfc3339(t0 + s * kSecond)}, {"value", v}});
        auto r = c.call("POST", "/api/v1/readings", kAdminKey, json{{"readings", readings}}.dump());
        ASSERT_EQ(r.status, 200) << r.body;
    }
    json alarm_of(const std::string& rule) {
        const json listed = c.call("GET", "/api/v1/alarms?rule=" + rule, kAdminKey).json();
        return listed["alarms"].empty() ? json() : listed["alarms"][0];
    }
};

json sensor(const std::string& id, const std::string& site, const std::string& kind, json limits = json::object()) {
    return {{"id", id}, {"site", site}, {"kind", kind}, {"unit", "-"}, {"interval_s", 60}, {"limits", limits}};
}

}  // namespace

TEST(LifelinePacks, AMainBurstIsAPressureDropWithAFlowSurge) {
    CITYGUARD_REQUIRE_DB();
    city x;
    x.site(
        "WS-1",
        "water_supply",
        {sensor("WS-1-P", "WS-1", "water_pressure"), sensor("WS-1-F", "WS-1", "flow", {{"normal_flow", 100}})}
    );
    for (std::int64_t s = 0; s <= 150; s += 30) x.at(s, {{"WS-1-P", 0.30}, {"WS-1-F", 100}});
    // The main bursts: pressure collapses, the flow jumps and stays up.
    x.at(180, {{"WS-1-P", 0.15}, {"WS-1-F", 160}});
    for (std::int64_t s = 210; s <= 330; s += 30) x.at(s, {{"WS-1-P", 0.12}, {"WS-1-F", 165}});

    const json drop = x.alarm_of("water_supply.pressure_drop");
    ASSERT_FALSE(drop.is_null());
    EXPECT_EQ(drop["peak_level"], "orange") << "0.05 MPa a minute";
    EXPECT_EQ(x.alarm_of("water_supply.pressure_low")["level"], "yellow") << "below 0.14 MPa";
    EXPECT_EQ(x.alarm_of("water_supply.flow_surge")["level"], "orange") << "65 % above normal for 2 min";
    const json burst = x.alarm_of("water_supply.burst");
    ASSERT_FALSE(burst.is_null());
    EXPECT_EQ(burst["level"], "red");
    EXPECT_EQ(burst["site"], "WS-1");
    EXPECT_NE(burst["advice"]["en"].get<std::string>().find("close the valves"), std::string::npos) << burst.dump();
}

TEST(LifelinePacks, WaterLeavingThePlantIsJudgedAgainstGB5749) {
    CITYGUARD_REQUIRE_DB();
    city x;
    x.site(
        "WP-1",
        "water_supply",
        {sensor("WP-1-CL", "WP-1", "residual_chlorine"), sensor("WP-1-NTU", "WP-1", "turbidity")}
    );
    for (std::int64_t s = 0; s <= 600; s += 60) x.at(s, {{"WP-1-CL", 0.2}, {"WP-1-NTU", 1.4}});
    EXPECT_EQ(x.alarm_of("water_supply.chlorine_low")["level"], "yellow") << "below 0.3 mg/L for 5 min";
    EXPECT_EQ(x.alarm_of("water_supply.turbidity")["level"], "yellow") << "above 1 NTU";
    x.at(660, {{"WP-1-CL", -3}});
    EXPECT_EQ(x.alarm_of("water_supply.quality_fault")["category"], "fault")
        << "a negative reading is the analyser's fault";
}

TEST(LifelinePacks, HeavyRainAndAnUnderpassFillingFastCloseTheUnderpass) {
    CITYGUARD_REQUIRE_DB();
    city x;
    x.site("UP-1", "drainage", {sensor("UP-1-R1H", "UP-1", "rain_1h"), sensor("UP-1-D", "UP-1", "ponding_depth")});
    x.at(0, {{"UP-1-R1H", 12}, {"UP-1-D", 2}});
    x.at(120, {{"UP-1-R1H", 28}, {"UP-1-D", 8}});
    x.at(240, {{"UP-1-R1H", 36}, {"UP-1-D", 17}});
    x.at(300, {{"UP-1-R1H", 41}, {"UP-1-D", 21}});
    EXPECT_EQ(x.alarm_of("drainage.rain_1h")["level"], "yellow") << "short-duration heavy rain, 20 mm in an hour";
    EXPECT_EQ(x.alarm_of("drainage.ponding")["level"], "yellow") << "over 15 cm for a minute";
    EXPECT_EQ(x.alarm_of("drainage.ponding_rise")["level"], "orange");
    const json closing = x.alarm_of("drainage.underpass_flooding");
    ASSERT_FALSE(closing.is_null());
    EXPECT_EQ(closing["level"], "red");
    EXPECT_NE(closing["advice"]["zh"].get<std::string>().find("封闭下穿通道"), std::string::npos);
    EXPECT_NE(closing["advice"]["en"].get<std::string>().find("close the underpass"), std::string::npos);
    // The water keeps rising: the underpass is closed by depth alone too.
    x.at(360, {{"UP-1-R1H", 45}, {"UP-1-D", 30}});
    x.at(420, {{"UP-1-R1H", 47}, {"UP-1-D", 32}});
    EXPECT_EQ(x.alarm_of("drainage.ponding")["level"], "orange") << "over 27 cm";
}

TEST(LifelinePacks, AManholeNearOverflowInHeavyRainAndTheRainstormSignals) {
    CITYGUARD_REQUIRE_DB();
    city x;
    x.site(
        "MH-1",
        "drainage",
        {sensor("MH-1-R3H", "MH-1", "rain_3h"),
         sensor("MH-1-R6H", "MH-1", "rain_6h"),
         sensor("MH-1-L", "MH-1", "manhole_fill"),
         sensor("MH-1-PUMP", "MH-1", "pump_fault")}
    );
    for (std::int64_t s = 0; s <= 210; s += 70) x.at(s, {{"MH-1-R3H", 62}, {"MH-1-R6H", 70}, {"MH-1-L", 0.95}});
    EXPECT_EQ(x.alarm_of("drainage.rain_3h")["level"], "orange") << "50 mm in 3 h: the orange rainstorm signal";
    EXPECT_EQ(x.alarm_of("drainage.rain_6h")["level"], "yellow") << "50 mm in 6 h: the yellow signal";
    EXPECT_EQ(x.alarm_of("drainage.manhole_fill")["level"], "orange");
    EXPECT_EQ(x.alarm_of("drainage.manhole_overflow_in_rain")["level"], "orange");
    x.at(280, {{"MH-1-R3H", 105}, {"MH-1-L", 1.02}, {"MH-1-PUMP", 1}});
    EXPECT_EQ(x.alarm_of("drainage.rain_3h")["level"], "red") << "100 mm in 3 h: the red signal";
    EXPECT_EQ(x.alarm_of("drainage.pump_fault")["level"], "orange");
}

TEST(LifelinePacks, TheCatalogNamesTheNewDomainsInBothLanguages) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    std::map<std::string, json> by_id;
    const json listed = c.call("GET", "/api/v1/domains", kAdminKey).json();
    for (const auto& d : listed["domains"]) by_id[d["id"]] = d;
    ASSERT_TRUE(by_id.count("water_supply") && by_id.count("drainage"));
    EXPECT_EQ(by_id["drainage"]["name"]["zh"], "排水防涝");
    EXPECT_EQ(by_id["water_supply"]["name"]["en"], "Water supply");
}

TEST(LifelinePacks, TunnelGasWithoutVentilationIsRedAndWithItOrange) {
    CITYGUARD_REQUIRE_DB();
    city x;
    x.site(
        "UT-1", "utility_tunnel", {sensor("UT-1-CH4", "UT-1", "gas_lel"), sensor("UT-1-FAN", "UT-1", "fan_running")}
    );
    x.site(
        "UT-2", "utility_tunnel", {sensor("UT-2-CH4", "UT-2", "gas_lel"), sensor("UT-2-FAN", "UT-2", "fan_running")}
    );
    for (std::int64_t s = 0; s <= 90; s += 30) {
        x.at(s, {{"UT-1-CH4", 24}, {"UT-1-FAN", 0}});                    // the interlock failed
        x.at(s, {{"UT-2-CH4", 24}, {"UT-2-FAN", s >= 30 ? 1.0 : 0.0}});  // the fan started
    }
    const json listed = x.c.call("GET", "/api/v1/alarms?rule=utility_tunnel.ventilation_failed", kAdminKey).json();
    ASSERT_EQ(listed["alarms"].size(), 1u) << listed.dump();
    EXPECT_EQ(listed["alarms"][0]["site"], "UT-1");
    EXPECT_EQ(listed["alarms"][0]["level"], "red");
    EXPECT_EQ(x.alarm_of("utility_tunnel.gas")["level"], "orange") << "20 %LEL: the GB 50838 alarm";
}

TEST(LifelinePacks, UnsafeAirWhileAWorkerIsInsideAndAWorkerDownAreRed) {
    CITYGUARD_REQUIRE_DB();
    city x;
    x.site(
        "CS-1",
        "confined_space",
        {sensor("CS-1-H2S", "CS-1", "h2s"),
         sensor("CS-1-IN", "CS-1", "worker_inside"),
         sensor("CS-1-DOWN", "CS-1", "worker_down")}
    );
    x.at(0, {{"CS-1-IN", 1}, {"CS-1-H2S", 2}, {"CS-1-DOWN", 0}});
    x.at(20, {{"CS-1-IN", 1}, {"CS-1-H2S", 12}});
    x.at(30, {{"CS-1-IN", 1}, {"CS-1-H2S", 13}});
    EXPECT_EQ(x.alarm_of("confined_space.h2s")["level"], "red") << "above the 10 mg/m³ MAC";
    const json entry = x.alarm_of("confined_space.hazard_during_entry");
    ASSERT_FALSE(entry.is_null());
    EXPECT_EQ(entry["level"], "red");
    x.at(40, {{"CS-1-DOWN", 1}});
    const json down = x.alarm_of("confined_space.worker_down");
    ASSERT_FALSE(down.is_null());
    EXPECT_EQ(down["level"], "red");
    EXPECT_NE(down["advice"]["en"].get<std::string>().find("no blind rescue"), std::string::npos);
}

TEST(LifelinePacks, AHotCableJointAndABurstingHeatingMain) {
    CITYGUARD_REQUIRE_DB();
    city x;
    x.site("PW-1", "power", json::array({sensor("PW-1-J", "PW-1", "cable_joint_temp")}));
    x.site("HT-1", "heating", json::array({sensor("HT-1-P", "HT-1", "supply_pressure")}));
    for (std::int64_t s = 0; s <= 150; s += 30) x.at(s, {{"PW-1-J", 92}, {"HT-1-P", 1.0}});
    EXPECT_EQ(x.alarm_of("power.joint_temp")["level"], "red") << "XLPE's 90 °C held two minutes";
    x.at(180, {{"HT-1-P", 0.55}});
    EXPECT_EQ(x.alarm_of("heating.pressure_drop")["level"], "red") << "0.15 MPa a minute";
}

// The alarm-set holes of issue 29: the 8+8 items that had no rule, a fire at a major hazard on
// video alone, and the bridge pack's own settlement rule.
TEST(LifelinePacks, TheAlarmSetHolesAreClosed) {
    CITYGUARD_REQUIRE_DB();
    city x;
    x.site(
        "GS-9",
        "gas_station",
        {sensor("GS-9-TLT", "GS-9", "tank_leak_rate"),
         sensor("GS-9-AL", "GS-9", "vapour_recovery"),
         sensor("GS-9-ESD", "GS-9", "emergency_stop")}
    );
    x.site(
        "MH-9",
        "major_hazard",
        {sensor("MH-9-V", "MH-9", "video.fire_smoke"),
         sensor("MH-9-F", "MH-9", "flow", {{"high", 80}, {"high_high", 100}})}
    );
    x.site("BR-9", "bridge", json::array({sensor("BR-9-S", "BR-9", "settlement", {{"design", 20}})}));
    for (std::int64_t s = 0; s <= 660; s += 60) x.at(s, {{"GS-9-TLT", 0.5}, {"GS-9-AL", 0.7}, {"MH-9-F", 90}});
    x.at(700, {{"GS-9-ESD", 1}, {"MH-9-V", 1}});
    EXPECT_EQ(x.alarm_of("gas_station.tank_leak")["level"], "orange") << "above 0.38 L/h";
    EXPECT_EQ(x.alarm_of("gas_station.vapour_low")["level"], "yellow") << "A/L 0.7 for ten minutes";
    EXPECT_EQ(x.alarm_of("gas_station.emergency_stop")["level"], "orange");
    EXPECT_EQ(x.alarm_of("major_hazard.video_fire")["level"], "red") << "a fire on video alone";
    EXPECT_EQ(x.alarm_of("major_hazard.flow_high")["level"], "orange") << "between the sensor's own high and high_high";
    for (std::int64_t s = 0; s <= 3600; s += 1800) x.at(s, {{"BR-9-S", 13}});
    EXPECT_EQ(x.alarm_of("bridge.settlement")["level"], "yellow") << "60 % of the design allowance for an hour";
}

// Per-sensor limits (issue 29): a sensor's registry limits (an enterprise's DCS settings) win over
// the pack's number, and the alarm's history says which one judged it.
TEST(LifelinePacks, ASensorsOwnLimitWinsAndTheAlarmSaysWhichWasUsed) {
    CITYGUARD_REQUIRE_DB();
    city x;
    x.site(
        "WS-2",
        "water_supply",
        {sensor("WS-2-OWN", "WS-2", "water_pressure", {{"low", 0.25}}), sensor("WS-2-PACK", "WS-2", "water_pressure")}
    );
    for (std::int64_t s = 0; s <= 120; s += 30) x.at(s, {{"WS-2-OWN", 0.2}, {"WS-2-PACK", 0.2}});
    const json listed = x.c.call("GET", "/api/v1/alarms?rule=water_supply.pressure_low", kAdminKey).json();
    ASSERT_EQ(listed["alarms"].size(), 1u) << "0.2 MPa is low only against the sensor's own 0.25";
    const json& own = listed["alarms"][0];
    EXPECT_EQ(own["sensor"], "WS-2-OWN");
    const json detail =
        x.c.call("GET", "/api/v1/alarms/" + std::to_string(own["id"].get<std::int64_t>()), kAdminKey).json();
    std::string note;
    for (const auto& e : detail["events"])
        if (e["type"] == "raised") note = e["note"];
    EXPECT_TRUE(note.starts_with("limit 0.25 from the sensor's limits.low; late: readings ")) << note;
    x.at(150, {{"WS-2-PACK", 0.1}});
    const json pack =
        x.c.call("GET", "/api/v1/alarms?sensor=WS-2-PACK&rule=water_supply.pressure_low", kAdminKey).json();
    ASSERT_EQ(pack["alarms"].size(), 0u) << "the on-delay of 60 s has not passed";
    x.at(240, {{"WS-2-PACK", 0.1}});
    const json raised =
        x.c.call("GET", "/api/v1/alarms?sensor=WS-2-PACK&rule=water_supply.pressure_low", kAdminKey).json();
    ASSERT_EQ(raised["alarms"].size(), 1u);
    const json d2 =
        x.c.call("GET", "/api/v1/alarms/" + std::to_string(raised["alarms"][0]["id"].get<std::int64_t>()), kAdminKey)
            .json();
    for (const auto& e : d2["events"])
        if (e["type"] == "raised") {
            EXPECT_TRUE(e["note"].get<std::string>().starts_with("limit 0.14 from the rule pack")) << e.dump();
        }
}

// Event time (issue 29): a gateway uploads 80 s of buffered readings after an outage, showing a
// tanker unloading while the grounding monitor is in fault. The red compound is raised at once,
// judged in reading time, and marked late; not 30 s after the upload.
TEST(LifelinePacks, ABufferedUploadRaisesTheCompoundAtOnceMarkedLate) {
    CITYGUARD_REQUIRE_DB();
    city x;
    x.t0 = now_micros() - 120 * kSecond;
    x.site(
        "GS-7",
        "gas_station",
        {sensor("GS-7-UNL", "GS-7", "video.unloading"), sensor("GS-7-GND", "GS-7", "static_ground")}
    );
    json readings = json::array();
    for (std::int64_t s = 0; s <= 80; s += 10)
        for (const char* id : {"GS-7-GND", "GS-7-UNL"})
            readings.push_back({{"sensor", id}, {"ts", format_rfc3339(x.t0 + s * kSecond)}, {"value", 1}});
    auto r = x.c.call("POST", "/api/v1/readings", kAdminKey, json{{"readings", readings}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    const json red = x.alarm_of("gas_station.unloading_without_grounding");
    ASSERT_FALSE(red.is_null()) << "raised by the upload itself, in reading time";
    EXPECT_EQ(red["level"], "red");
    EXPECT_EQ(red["first_ts"], format_rfc3339(x.t0 + 30 * kSecond)) << "30 s of unloading without grounding";
    const json detail =
        x.c.call("GET", "/api/v1/alarms/" + std::to_string(red["id"].get<std::int64_t>()), kAdminKey).json();
    std::string note;
    for (const auto& e : detail["events"])
        if (e["type"] == "raised") note = e["note"];
    EXPECT_NE(note.find("late: readings "), std::string::npos) << note;
}
