#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "../support/test_env.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::format_rfc3339;
using cityguard::util::now_micros;
using nlohmann::json;

namespace {

constexpr std::int64_t kMinute = 60'000'000;

void registry(test_server& srv, const json& sites, const json& sensors) {
    auto c = srv.client();
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, json{{"sites", sites}, {"sensors", sensors}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
}

json site(const std::string& id, const std::string& domain) {
    return {{"id", id}, {"name", id}, {"domain", domain}, {"district", "福田区"}, {"lat", 22.5}, {"lon", 114.0}};
}

json sensor(
    const std::string& id,
    const std::string& site_id,
    const std::string& kind,
    int interval = 60,
    json limits = json::object()
) {
    return {{"id", id}, {"site", site_id}, {"kind", kind}, {"unit", "u"}, {"interval_s", interval}, {"limits", limits}};
}

int post(http_client& c, const std::string& sensor_id, std::int64_t ts, double value) {
    json body{{"readings", {{{"sensor", sensor_id}, {"ts", format_rfc3339(ts)}, {"value", value}}}}};
    return c.call("POST", "/api/v1/readings", kAdminKey, body.dump()).status;
}

json alarms_of(http_client& c, const std::string& query) {
    auto r = c.call("GET", "/api/v1/alarms?" + query, kAdminKey);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["alarms"];
}

/// The alarm's own events: the engine's and the operators' (notification steps, actor
/// "escalation", are the notifications tests' to check).
json own_events(const json& detail) {
    json out = json::array();
    for (const auto& e : detail["events"])
        if (e["actor"] != "escalation") out.push_back(e);
    return out;
}

std::vector<std::string> event_types(http_client& c, std::int64_t id) {
    std::vector<std::string> out;
    auto j = c.call("GET", "/api/v1/alarms/" + std::to_string(id), kAdminKey).json();
    for (const auto& e : own_events(j)) out.push_back(e["type"]);
    return out;
}

}  // namespace

TEST(AlarmsHttp, GasStationRampThroughTheWholeWorkflow) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(srv, json::array({site("GS-1", "gas_station")}), json::array({sensor("GS-1-LEL", "GS-1", "gas_lel", 30)}));
    auto op = srv.make_key("duty-op", "operator");
    auto c = srv.client();
    const auto t0 = now_micros() - 10 * kMinute;
    int i = 0;
    for (double v : {0.0, 30.0, 55.0, 10.0, 0.0}) ASSERT_EQ(post(c, "GS-1-LEL", t0 + kMinute * i++, v), 200);

    auto list = alarms_of(c, "sensor=GS-1-LEL");
    ASSERT_EQ(list.size(), 1u);
    const std::int64_t id = list[0]["id"];
    EXPECT_EQ(list[0]["rule"], "gas_station.lel");
    EXPECT_EQ(list[0]["level"], "orange");
    EXPECT_EQ(list[0]["peak_value"], 55.0);
    EXPECT_EQ(list[0]["condition"], "cleared");
    // Each language on its own: no client has to cut a joined string apart.
    EXPECT_EQ(list[0]["title"]["zh"], "加油站可燃气体浓度 [较大]");
    EXPECT_EQ(list[0]["title"]["en"], "Combustible gas at a gas station [orange]");
    const std::string advice_zh = list[0]["advice"]["zh"], advice_en = list[0]["advice"]["en"];
    EXPECT_NE(advice_zh.find("疏散"), std::string::npos) << advice_zh;
    EXPECT_EQ(advice_en.find(" / "), std::string::npos) << advice_en;
    EXPECT_NE(advice_en.find("evacuate"), std::string::npos) << advice_en;

    auto act = [&](const std::string& what, const json& body = json::object()) {
        return c.call("POST", "/api/v1/alarms/" + std::to_string(id) + "/" + what, op, body.dump());
    };
    auto refused = act("resolve");
    EXPECT_EQ(refused.status, 409);
    EXPECT_EQ(refused.json()["error"]["code"], "invalid_transition");
    EXPECT_EQ(act("acknowledge", {{"note", "已签收"}}).json()["status"], "acknowledged");
    EXPECT_EQ(act("handle", {{"note", "派员到场"}}).json()["status"], "handling");
    EXPECT_EQ(act("resolve", {{"note", "阀门泄漏已修复"}}).json()["status"], "resolved");
    auto closed = act("close");
    ASSERT_EQ(closed.status, 200) << closed.body;
    EXPECT_EQ(closed.json()["status"], "closed");
    EXPECT_EQ(act("close").json()["error"]["code"], "invalid_transition");

    EXPECT_EQ(
        event_types(c, id),
        (std::vector<std::string>{"raised", "escalated", "cleared", "acknowledged", "handling", "resolved", "closed"})
    );
    auto detail = c.call("GET", "/api/v1/alarms/" + std::to_string(id), kAdminKey).json();
    const auto events = own_events(detail);
    EXPECT_EQ(events[0]["level"], "yellow");
    EXPECT_EQ(events[1]["level"], "orange");
    EXPECT_EQ(events[3]["actor"], "duty-op");
    EXPECT_EQ(events[3]["note"], "已签收");
    EXPECT_EQ(detail["close_reason"], "resolved");
    for (std::size_t k = 1; k < detail["events"].size(); ++k)
        EXPECT_GT(detail["events"][k]["seq"].get<long>(), detail["events"][k - 1]["seq"].get<long>());

    // After the close, a new trigger opens a new alarm.
    ASSERT_EQ(post(c, "GS-1-LEL", t0 + kMinute * 6, 40), 200);
    list = alarms_of(c, "sensor=GS-1-LEL");
    ASSERT_EQ(list.size(), 2u);
    EXPECT_NE(list[0]["id"], id);
    EXPECT_EQ(alarms_of(c, "sensor=GS-1-LEL&status=active").size(), 1u);
}

TEST(AlarmsHttp, ForceCloseNeedsAdminAndNote) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(srv, json::array({site("GS-1", "gas_station")}), json::array({sensor("GS-1-LEL", "GS-1", "gas_lel", 30)}));
    auto op = srv.make_key("op", "operator");
    auto c = srv.client();
    ASSERT_EQ(post(c, "GS-1-LEL", now_micros() - kMinute, 60), 200);
    const std::int64_t id = alarms_of(c, "sensor=GS-1-LEL")[0]["id"];
    const std::string path = "/api/v1/alarms/" + std::to_string(id) + "/close";
    EXPECT_EQ(c.call("POST", path, op, R"({"reason":"device_fault"})").status, 409) << "active: needs force";
    EXPECT_EQ(c.call("POST", path, op, R"({"reason":"device_fault","force":true,"note":"probe dead"})").status, 403);
    EXPECT_EQ(c.call("POST", path, kAdminKey, R"({"reason":"device_fault","force":true})").status, 422);
    auto r = c.call("POST", path, kAdminKey, R"({"reason":"device_fault","force":true,"note":"probe dead"})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["close_reason"], "device_fault");
    EXPECT_EQ(c.call("POST", "/api/v1/alarms/999999/acknowledge", op, "{}").status, 404);
    EXPECT_EQ(c.call("POST", "/api/v1/alarms/abc/acknowledge", op, "{}").status, 404);
    EXPECT_EQ(c.call("POST", path, op, R"({"colour":"red"})").status, 422);
}

TEST(AlarmsHttp, OneAlarmUnderConcurrentBatchesForOneSensor) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(srv, json::array({site("GS-1", "gas_station")}), json::array({sensor("GS-1-LEL", "GS-1", "gas_lel", 30)}));
    const auto t0 = now_micros() - 60 * kMinute;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 6; ++t)
        threads.emplace_back([&, t] {
            auto c = srv.client();
            for (int k = 0; k < 10; ++k)
                if (post(c, "GS-1-LEL", t0 + (t * 10 + k) * 1'000'000LL, 30 + (k % 3) * 15) != 200) ++failures;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM alarms WHERE status <> 'closed'"), "1");
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM alarm_events WHERE type = 'raised'"), "1");
}

// The engine judges a batch while PostgreSQL copies it, as if every row were new. A batch with
// rows stored already is judged again on its new rows only: a retry raises nothing twice.
TEST(AlarmsHttp, ARetriedBatchIsJudgedOnItsNewRowsOnly) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(srv, json::array({site("GS-1", "gas_station")}), json::array({sensor("GS-1-LEL", "GS-1", "gas_lel", 30)}));
    auto c = srv.client();
    const auto t0 = now_micros() - 10 * kMinute;
    const auto batch = [&](const std::vector<std::pair<std::int64_t, double>>& rows) {
        json readings = json::array();
        for (const auto& [ts, value] : rows)
            readings.push_back({{"sensor", "GS-1-LEL"}, {"ts", format_rfc3339(ts)}, {"value", value}});
        return c.call("POST", "/api/v1/readings", kAdminKey, json{{"readings", readings}}.dump());
    };
    ASSERT_EQ(batch({{t0, 0}}).status, 200);
    // The stored time again with a value that would raise, then a quiet one: the repeat is not
    // stored (the first reading of a time wins), so nothing may be raised from it.
    auto mixed = batch({{t0, 60}, {t0 + kMinute, 0}});
    ASSERT_EQ(mixed.status, 200) << mixed.body;
    EXPECT_EQ(mixed.json()["accepted"], 1);
    EXPECT_EQ(mixed.json()["duplicates"], 1);
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM alarms"), "0") << "judged on its new row alone";

    ASSERT_EQ(batch({{t0 + 2 * kMinute, 60}}).status, 200);
    ASSERT_EQ(srv.db().query_value("SELECT count(*) FROM alarm_events WHERE type = 'raised'"), "1");
    const auto events = srv.db().query_value("SELECT count(*) FROM alarm_events");
    auto retry = batch({{t0 + 2 * kMinute, 60}});  // a gateway's retry: nothing new
    ASSERT_EQ(retry.status, 200) << retry.body;
    EXPECT_EQ(retry.json()["duplicates"], 1);
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM alarm_events"), events) << "a repeat changes no alarm";
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM readings"), "3");
}

TEST(AlarmsHttp, RestartNeitherDuplicatesNorForgetsAlarms) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(srv, json::array({site("GS-1", "gas_station")}), json::array({sensor("GS-1-LEL", "GS-1", "gas_lel", 30)}));
    auto c = srv.client();
    const auto t0 = now_micros() - 10 * kMinute;
    ASSERT_EQ(post(c, "GS-1-LEL", t0, 30), 200);
    srv.restart();
    auto c2 = srv.client();
    ASSERT_EQ(post(c2, "GS-1-LEL", t0 + kMinute, 31), 200);
    ASSERT_EQ(post(c2, "GS-1-LEL", t0 + 2 * kMinute, 60), 200);
    auto list = alarms_of(c2, "sensor=GS-1-LEL");
    ASSERT_EQ(list.size(), 1u) << "the open alarm was restored, not raised again";
    EXPECT_EQ(event_types(c2, list[0]["id"]), (std::vector<std::string>{"raised", "escalated"}));
    // Re-posting old readings after the restart changes nothing.
    ASSERT_EQ(post(c2, "GS-1-LEL", t0, 30), 200);
    EXPECT_EQ(event_types(c2, list[0]["id"]).size(), 2u);
}

TEST(AlarmsHttp, RestartInTheMiddleOfAnOnDelay) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(
        srv,
        json::array({site("MH-1", "major_hazard")}),
        json::array({sensor("MH-1-LVL", "MH-1", "tank_level", 10, {{"high", 85}, {"high_high", 92}})})
    );
    auto c = srv.client();
    const auto t0 = now_micros() - 10 * kMinute;
    ASSERT_EQ(post(c, "MH-1-LVL", t0, 86), 200);  // major_hazard.level_high has a 5 s on-delay
    ASSERT_EQ(post(c, "MH-1-LVL", t0 + 3'000'000, 86), 200);
    EXPECT_TRUE(alarms_of(c, "sensor=MH-1-LVL").empty());
    srv.restart();
    auto c2 = srv.client();
    ASSERT_EQ(post(c2, "MH-1-LVL", t0 + 6'000'000, 86), 200);
    auto list = alarms_of(c2, "sensor=MH-1-LVL");
    ASSERT_EQ(list.size(), 1u) << "the on-delay that started before the restart completes on time";
    EXPECT_EQ(list[0]["level"], "orange");
    EXPECT_EQ(list[0]["first_ts"], format_rfc3339(t0 + 6'000'000));
}

TEST(AlarmsHttp, ARateAlarmAcrossARestartComesOnTime) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(
        srv, json::array({site("GP-1", "gas_pipeline")}), json::array({sensor("GP-1-LEL", "GP-1", "gas_lel", 60)})
    );
    auto c = srv.client();
    const auto t0 = now_micros() - 30 * kMinute;
    // manhole_lel_rise: ≥ 1 %LEL/min over 10 min, computed once half the window is covered, twice in a row.
    for (int m = 0; m < 5; ++m) ASSERT_EQ(post(c, "GP-1-LEL", t0 + m * kMinute, 1.2 * m), 200);
    srv.restart();
    auto c2 = srv.client();
    for (int m = 5; m < 8; ++m) ASSERT_EQ(post(c2, "GP-1-LEL", t0 + m * kMinute, 1.2 * m), 200);
    auto list = alarms_of(c2, "rule=gas_pipeline.manhole_lel_rise");
    ASSERT_EQ(list.size(), 1u) << "the window was refilled from stored readings";
    EXPECT_EQ(list[0]["first_ts"], format_rfc3339(t0 + 6 * kMinute)) << "as without the restart, not 5 minutes late";
}

TEST(AlarmsHttp, ABaselineSeriesSurvivesARestart) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(
        srv, json::array({site("BR-9", "bridge")}), json::array({sensor("BR-9-FRQ", "BR-9", "modal_frequency", 600)})
    );
    auto c = srv.client();
    // frequency_shift: 7-day median of hourly means, judged after a day of history.
    const auto t0 = (now_micros() - 3 * 24 * 60 * kMinute) / (60 * kMinute) * (60 * kMinute) + 5 * kMinute;
    json rows = json::array();
    for (int i = 0; i < 30 * 6 + 2; ++i)
        rows.push_back(
            {{"sensor", "BR-9-FRQ"}, {"ts", format_rfc3339(t0 + i * 10 * kMinute)}, {"value", 2.0 + 0.001 * (i % 3)}}
        );
    ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, json{{"readings", rows}}.dump()).status, 200);
    srv.restart();  // in the middle of hour 31: its open bucket is rebuilt from stored readings
    auto c2 = srv.client();
    const auto drop_from = t0 + (30 * 6 + 2) * 10 * kMinute;
    for (int i = 0; i < 5; ++i) ASSERT_EQ(post(c2, "BR-9-FRQ", drop_from + i * 10 * kMinute, 1.8), 200);
    auto list = alarms_of(c2, "rule=bridge.frequency_shift");
    ASSERT_EQ(list.size(), 1u) << "the persisted series still knows the 2.0 Hz median";
    EXPECT_EQ(list[0]["level"], "red") << "10 % below the median";
    EXPECT_EQ(list[0]["first_ts"], format_rfc3339(drop_from + 30 * kMinute)) << "after the 1800 s on-delay";
}

TEST(AlarmsHttp, AStuckTransmitterIsADeviceFaultAndItsProcessAlarmUnknown) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(
        srv,
        json::array({site("MH-2", "major_hazard")}),
        json::array({sensor("MH-2-PRS", "MH-2", "pressure", 60, {{"high", 25}, {"high_high", 29}})})
    );
    auto c = srv.client();
    const auto t0 = now_micros() - 3 * 60 * kMinute;
    // A gateway posts an hour of one frozen value, above the high limit.
    json rows = json::array();
    for (int m = 0; m <= 60; ++m)
        rows.push_back({{"sensor", "MH-2-PRS"}, {"ts", format_rfc3339(t0 + m * kMinute)}, {"value", 27.5}});
    auto r = c.call("POST", "/api/v1/readings", kAdminKey, json{{"readings", rows}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    auto faults = alarms_of(c, "category=fault");
    ASSERT_EQ(faults.size(), 1u);
    EXPECT_EQ(faults[0]["rule"], "major_hazard.pressure_fault");
    EXPECT_EQ(faults[0]["first_ts"], format_rfc3339(t0 + 60 * kMinute)) << "60 identical readings over an hour";
    EXPECT_NE(faults[0]["title"]["en"].get<std::string>().find("Pressure transmitter fault"), std::string::npos);
    auto process = alarms_of(c, "category=process&sensor=MH-2-PRS");
    ASSERT_EQ(process.size(), 1u);
    EXPECT_EQ(process[0]["rule"], "major_hazard.pressure_high");
    EXPECT_EQ(process[0]["condition"], "unknown") << "a frozen transmitter cannot confirm the high pressure";
    auto overview = c.call("GET", "/api/v1/overview", kAdminKey).json();
    EXPECT_EQ(overview["sensors_in_fault"], 1);
    EXPECT_EQ(overview["active_alarms_by_level"].value("yellow", 0), 0) << "the fault is not a process alarm";
    EXPECT_EQ(c.call("GET", "/api/v1/alarms?category=broken", kAdminKey).status, 400);

    // The transmitter moves again: the fault clears and the process alarm is judged afresh.
    ASSERT_EQ(post(c, "MH-2-PRS", t0 + 61 * kMinute, 27.6), 200);
    EXPECT_EQ(alarms_of(c, "category=fault")[0]["condition"], "cleared");
    EXPECT_EQ(alarms_of(c, "category=process&sensor=MH-2-PRS")[0]["condition"], "active");
}

TEST(AlarmsHttp, UnloadingWithoutGroundingIsARedSiteAlarmWithItsMembers) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(
        srv,
        json::array({site("GS-9", "gas_station")}),
        json::array(
            {sensor("GS-9-UNL", "GS-9", "video.unloading", 10),
             sensor("GS-9-GND", "GS-9", "static_ground", 10),
             sensor("GS-9-LEL", "GS-9", "gas_lel", 10)}
        )
    );
    auto c = srv.client();
    const auto t0 = now_micros() - 10 * kMinute;
    // The gateway posts the camera's and the grounding monitor's states as they change, and
    // the detector every 10 s.
    ASSERT_EQ(post(c, "GS-9-UNL", t0, 1), 200);
    ASSERT_EQ(post(c, "GS-9-GND", t0 + 2'000'000, 1), 200);
    for (int s = 10; s <= 30; s += 10) ASSERT_EQ(post(c, "GS-9-LEL", t0 + s * 1'000'000, 0), 200);
    EXPECT_TRUE(alarms_of(c, "rule=gas_station.unloading_without_grounding").empty()) << "28 s of 30";
    ASSERT_EQ(post(c, "GS-9-UNL", t0 + 32'000'000, 1), 200);  // the camera repeats its state
    auto list = alarms_of(c, "rule=gas_station.unloading_without_grounding");
    ASSERT_EQ(list.size(), 1u);
    const auto& a = list[0];
    EXPECT_EQ(a["level"], "red");
    EXPECT_EQ(a["site"], "GS-9");
    EXPECT_EQ(a["sensor"], "") << "the alarm belongs to the site";
    ASSERT_EQ(a["members"].size(), 2u) << a.dump();
    EXPECT_EQ(a["members"][0]["sensor"], "GS-9-UNL");
    EXPECT_EQ(a["members"][1]["sensor"], "GS-9-GND");
    EXPECT_EQ(a["title"]["zh"], "卸油时静电接地异常 [重大]");
    // The grounding monitor was read by value: its own alarm is part of the incident (R14).
    auto grounding = alarms_of(c, "sensor=GS-9-GND&inhibited=true");
    for (int i = 0; i < 30 && grounding.empty(); ++i) {  // by the next timer tick
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        grounding = alarms_of(c, "sensor=GS-9-GND&inhibited=true");
    }
    ASSERT_EQ(grounding.size(), 1u) << alarms_of(c, "sensor=GS-9-GND").dump();
    EXPECT_EQ(grounding[0]["inhibited_by"], a["id"]);

    // Gas during unloading: one level above the detector's own alarm, with that alarm as member.
    ASSERT_EQ(post(c, "GS-9-LEL", t0 + 40'000'000, 30), 200);  // gas_station.lel yellow
    auto gas = alarms_of(c, "rule=gas_station.gas_during_unloading");
    ASSERT_EQ(gas.size(), 1u);
    EXPECT_EQ(gas[0]["level"], "orange");
    const auto lel = alarms_of(c, "rule=gas_station.lel");
    ASSERT_EQ(lel.size(), 1u);
    EXPECT_EQ(gas[0]["members"][1]["alarm"], lel[0]["id"]) << "the member alarm's id, raised in the same batch";

    // Grounding fixed: the red compound clears; a restart keeps it, once.
    ASSERT_EQ(post(c, "GS-9-GND", t0 + 50'000'000, 0), 200);
    EXPECT_EQ(alarms_of(c, "rule=gas_station.unloading_without_grounding")[0]["condition"], "cleared");
    srv.restart();
    auto c2 = srv.client();
    ASSERT_EQ(post(c2, "GS-9-GND", t0 + 60'000'000, 1), 200);
    ASSERT_EQ(post(c2, "GS-9-UNL", t0 + 95'000'000, 1), 200);
    list = alarms_of(c2, "rule=gas_station.unloading_without_grounding");
    ASSERT_EQ(list.size(), 1u) << "the restored site alarm comes back, not a second one";
    EXPECT_EQ(list[0]["condition"], "active");
    EXPECT_EQ(list[0]["count"], 2);
}

TEST(AlarmsHttp, TwoAdjacentWellsConfirmALeak) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto well = [](const std::string& id, double lat, double lon) {
        auto s = sensor(id, "GP-7", "gas_lel", 60);
        s["lat"] = lat;
        s["lon"] = lon;
        return s;
    };
    registry(
        srv,
        json::array({site("GP-7", "gas_pipeline")}),
        json::array(
            {well("GP-7-W1", 22.5433, 114.0555),
             well("GP-7-W2", 22.5424, 114.0563),
             well("GP-7-FAR", 22.5300, 114.0555)}
        )
    );
    auto c = srv.client();
    const auto t0 = now_micros() - 60 * kMinute;
    ASSERT_EQ(post(c, "GP-7-W1", t0, 25), 200);             // orange: 20 %LEL or more
    ASSERT_EQ(post(c, "GP-7-FAR", t0 + kMinute, 30), 200);  // 1.5 km away: not adjacent
    EXPECT_TRUE(alarms_of(c, "rule=gas_pipeline.confirmed_leak").empty());
    ASSERT_EQ(post(c, "GP-7-W1", t0 + 5 * kMinute, 3), 200);    // the first well clears ...
    ASSERT_EQ(post(c, "GP-7-W2", t0 + 20 * kMinute, 22), 200);  // ... the neighbour 130 m away within 30 min
    auto group = alarms_of(c, "rule=gas_pipeline.confirmed_leak");
    ASSERT_EQ(group.size(), 1u);
    EXPECT_EQ(group[0]["level"], "red");
    EXPECT_EQ(group[0]["sensor"], "");
    std::set<std::string> members;
    for (const auto& m : group[0]["members"]) members.insert(m["sensor"].get<std::string>());
    EXPECT_EQ(members, (std::set<std::string>{"GP-7-W1", "GP-7-W2"}));

    // Inhibition (R14): the wells' alarms are marked as part of the group alarm (by the next
    // evaluation that knows its id: a reading or the timer tick), still listed, with the record.
    const auto group_id = group[0]["id"].get<std::int64_t>();
    auto inside = alarms_of(c, "rule=gas_pipeline.manhole_lel&inhibited=true");
    for (int i = 0; i < 30 && inside.size() < 2; ++i) {  // alarms.tick_ms is 1 s
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        inside = alarms_of(c, "rule=gas_pipeline.manhole_lel&inhibited=true");
    }
    ASSERT_EQ(inside.size(), 2u) << alarms_of(c, "").dump();
    for (const auto& a : inside) EXPECT_EQ(a["inhibited_by"], group_id);
    auto outside = alarms_of(c, "inhibited=false");
    std::set<std::string> incidents;
    for (const auto& a : outside) incidents.insert(a["rule"].get<std::string>() + " " + a["sensor"].get<std::string>());
    EXPECT_EQ(incidents, (std::set<std::string>{"gas_pipeline.confirmed_leak ", "gas_pipeline.manhole_lel GP-7-FAR"}))
        << "one incident for the two wells, the far well apart";
    auto history =
        c.call("GET", "/api/v1/alarms/" + std::to_string(inside[0]["id"].get<std::int64_t>()), kAdminKey).json();
    bool marked = false;
    for (const auto& e : history["events"]) marked = marked || e["type"] == "inhibited";
    EXPECT_TRUE(marked) << history.dump();
    EXPECT_EQ(c.call("GET", "/api/v1/alarms?inhibited=maybe", kAdminKey).status, 400);

    // Closing the group alarm (forced: it is still active) releases its members.
    auto closed = c.call(
        "POST",
        "/api/v1/alarms/" + std::to_string(group_id) + "/close",
        kAdminKey,
        R"({"reason":"false_alarm","force":true,"note":"sewer biogas, checked on site"})"
    );
    ASSERT_EQ(closed.status, 200) << closed.body;
    EXPECT_TRUE(alarms_of(c, "rule=gas_pipeline.manhole_lel&inhibited=true").empty());
}

TEST(AlarmsHttp, AScenarioPerPack) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(
        srv,
        json::array(
            {site("GP", "gas_pipeline"),
             site("BR", "bridge"),
             site("GD", "ground"),
             site("GS", "gas_station"),
             site("CP", "chemical_plant"),
             site("MH", "major_hazard")}
        ),
        json::array(
            {sensor("GP-LEL", "GP", "gas_lel"),
             sensor("BR-DEF", "BR", "deflection", 300, {{"design", 80}}),
             sensor("GD-SET", "GD", "settlement", 3600),
             sensor("GS-GND", "GS", "static_ground", 10),
             sensor("GS-FIRE", "GS", "video.fire_smoke"),
             sensor("CP-TOX", "CP", "toxic_gas", 30, {{"oel", 10}}),
             sensor("MH-PRS", "MH", "pressure", 10, {{"high", 25}, {"high_high", 29}, {"low", 10}, {"low_low", 5}}),
             sensor("MH-ESD", "MH", "emergency_stop", 10)}
        )
    );
    auto c = srv.client();
    const auto t0 = now_micros() - 3LL * 86'400'000'000LL;
    auto level_of = [&](const std::string& s) {
        auto l = alarms_of(c, "sensor=" + s);
        return l.empty() ? std::string("none") : l[0]["level"].get<std::string>();
    };
    post(c, "GP-LEL", t0, 12);  // manhole methane 10-20 %LEL
    EXPECT_EQ(level_of("GP-LEL"), "yellow");
    post(c, "BR-DEF", t0, 70);  // 87.5 % of the design deflection
    EXPECT_EQ(level_of("BR-DEF"), "orange");
    for (int d = 0; d <= 2; ++d) post(c, "GD-SET", t0 + d * 86'400'000'000LL, d * 4.0);  // 4 mm/day
    EXPECT_EQ(level_of("GD-SET"), "orange");
    post(c, "GS-GND", t0, 1);
    EXPECT_EQ(level_of("GS-GND"), "orange");
    post(c, "GS-FIRE", t0, 1);
    EXPECT_EQ(level_of("GS-FIRE"), "red");
    post(c, "CP-TOX", t0, 12);  // 120 % OEL
    EXPECT_EQ(level_of("CP-TOX"), "yellow");
    post(c, "MH-PRS", t0, 30);
    post(c, "MH-PRS", t0 + 6'000'000, 30);  // past the 5 s on-delay, beyond high_high
    EXPECT_EQ(level_of("MH-PRS"), "red");
    post(c, "MH-ESD", t0, 1);
    EXPECT_EQ(level_of("MH-ESD"), "red");
    // The trip with the pressure beyond its limit is one incident: a compound site alarm.
    auto incident = alarms_of(c, "rule=major_hazard.esd_with_high_process");
    ASSERT_EQ(incident.size(), 1u);
    EXPECT_EQ(incident[0]["site"], "MH");

    auto rules = c.call("GET", "/api/v1/rules", kAdminKey).json()["rules"];
    EXPECT_GE(rules.size(), 30u);
    auto overview = c.call("GET", "/api/v1/overview", kAdminKey).json();
    EXPECT_EQ(overview["sites_by_domain"]["bridge"], 1);
    EXPECT_EQ(overview["active_alarms_by_level"]["red"], 4);
    EXPECT_EQ(overview["oldest_unacknowledged_red"]["sensor"], "GS-FIRE");
}

TEST(AlarmsHttp, OfflineSensorRaisesAndRecovers) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.alarms.tick_ms = 100;
    test_server srv(cfg);
    registry(
        srv, json::array({site("GS-1", "gas_station")}), json::array({sensor("GS-1-TANK", "GS-1", "tank_level", 1)})
    );
    auto c = srv.client();
    ASSERT_EQ(post(c, "GS-1-TANK", now_micros(), 50), 200);
    json list;
    for (int i = 0; i < 100 && list.empty(); ++i) {  // bounded wait: 3 × 1 s interval, checked every 100 ms
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        list = alarms_of(c, "rule=gas_station.offline");
    }
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["level"], "blue");
    EXPECT_EQ(c.call("GET", "/api/v1/overview", kAdminKey).json()["sensors_offline"], 1);
    ASSERT_EQ(post(c, "GS-1-TANK", now_micros(), 50), 200);
    EXPECT_EQ(alarms_of(c, "rule=gas_station.offline")[0]["condition"], "cleared");
}

TEST(AlarmsHttp, ListFiltersAndCursor) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    json sensors = json::array();
    const std::vector<std::string> ids{"S0", "S1", "S2", "S3", "S4"};
    for (const auto& id : ids) sensors.push_back(sensor(id, "GS-1", "gas_lel", 30));
    registry(srv, json::array({site("GS-1", "gas_station")}), sensors);
    auto c = srv.client();
    const auto t0 = now_micros() - kMinute;
    for (int i = 0; i < 5; ++i) post(c, ids[i], t0, i < 2 ? 60 : 30);
    EXPECT_EQ(alarms_of(c, "level=orange").size(), 2u);
    EXPECT_EQ(alarms_of(c, "level=orange,yellow&domain=gas_station&status=open").size(), 5u);
    EXPECT_EQ(alarms_of(c, "domain=bridge").size(), 0u);
    auto page = c.call("GET", "/api/v1/alarms?limit=2", kAdminKey).json();
    ASSERT_EQ(page["alarms"].size(), 2u);
    std::set<std::int64_t> seen;
    std::int64_t last = std::numeric_limits<std::int64_t>::max();
    while (true) {
        for (const auto& a : page["alarms"]) {
            EXPECT_LT(a["id"].get<std::int64_t>(), last) << "newest first";
            last = a["id"];
            seen.insert(last);
        }
        if (page["next_cursor"].is_null()) break;
        page =
            c.call("GET", "/api/v1/alarms?limit=2&cursor=" + page["next_cursor"].get<std::string>(), kAdminKey).json();
    }
    EXPECT_EQ(seen.size(), 5u);
    EXPECT_EQ(c.call("GET", "/api/v1/alarms?cursor=bogus", kAdminKey).status, 400);
    EXPECT_EQ(c.call("GET", "/api/v1/alarms?limit=5000", kAdminKey).status, 400);
    EXPECT_EQ(c.call("GET", "/api/v1/alarms?level=purple", kAdminKey).status, 400);
}

TEST(AlarmsHttp, BundlesAndASitesCoverage) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    registry(
        srv,
        json::array({site("GS-5", "gas_station"), site("BR-5", "bridge")}),
        json::array(
            {sensor("GS-5-LEL", "GS-5", "gas_lel", 60),
             sensor("GS-5-GND", "GS-5", "static_ground", 60),
             sensor("GS-5-FIRE", "GS-5", "video.fire_smoke", 60)}
        )
    );
    auto c = srv.client();
    auto bundles = c.call("GET", "/api/v1/bundles", kAdminKey).json()["bundles"];
    std::set<std::string> ids;
    for (const auto& b : bundles) ids.insert(b["id"].get<std::string>());
    EXPECT_EQ(ids, (std::set<std::string>{"8+8", "5+1", "4+X"}));

    ASSERT_EQ(post(c, "GS-5-LEL", now_micros() - kMinute, 60), 200);  // gas_station.lel orange
    auto r = c.call("GET", "/api/v1/sites/GS-5/coverage", kAdminKey);
    ASSERT_EQ(r.status, 200) << r.body;
    const auto cov = r.json();
    EXPECT_EQ(cov["bundle"]["id"], "8+8");
    std::map<std::string, std::string> state;
    for (const auto& i : cov["items"]) state[i["id"]] = i["state"];
    EXPECT_EQ(state["I4"], "in_alarm") << "the gas alarm";
    EXPECT_EQ(state["I5"], "ok");
    EXPECT_EQ(state["V4"], "ok");
    EXPECT_EQ(state["V1"], "no_sensor");
    EXPECT_EQ(state["I8"], "ok") << "every sensor serves the offline item";
    EXPECT_EQ(cov["summary"]["covered"], 4);
    EXPECT_EQ(cov["summary"]["no_sensor"], 12);

    EXPECT_EQ(c.call("GET", "/api/v1/sites/NOPE/coverage", kAdminKey).status, 404);
    auto bridge = c.call("GET", "/api/v1/sites/BR-5/coverage", kAdminKey);
    EXPECT_EQ(bridge.status, 404);
    EXPECT_EQ(bridge.json()["error"]["code"], "not_found");
}

namespace {

json shipped_pack(const std::string& domain) {
    std::ifstream in(std::string(CITYGUARD_SOURCE_DIR) + "/config/rules/" + domain + ".json");
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
}

/// What must agree between the live engine and a replay: everything but the server's own
/// clock (opened_at, event `at`) and the ids. A site alarm's last_ts and count follow the live
/// timer's ticks in server time, so they are left out for those.
std::map<std::string, json> comparable(const json& alarms, http_client* c) {
    std::map<std::string, json> out;
    for (auto a : alarms) {
        if (c) a = c->call("GET", "/api/v1/alarms/" + std::to_string(a["id"].get<std::int64_t>()), kAdminKey).json();
        json events = json::array();
        for (const auto& e : a["events"])
            if (e["type"] != "inhibited" && e["type"] != "released" && e["actor"] != "escalation")
                events.push_back({e["type"], e["level"], e["value"], e["reading_ts"]});
        const bool site_alarm = a["sensor"] == "";
        out[a["rule"].get<std::string>() + " " + a["sensor"].get<std::string>()] = {
            {"level", a["level"]},
            {"peak", a["peak_level"]},
            {"condition", a["condition"]},
            {"first_ts", a["first_ts"]},
            {"last_ts", site_alarm ? json() : a["last_ts"]},
            {"count", site_alarm ? json() : a["count"]},
            {"value", a["peak_value"]},
            {"events", site_alarm ? json() : events}};
    }
    return out;
}

}  // namespace

TEST(AlarmsHttp, WellsOfOneNamedPipeSegmentConfirmALeakWhateverTheirDistance) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto well = [](const std::string& id, const std::string& site, double lat, json groups) {
        auto s = sensor(id, site, "gas_lel", 60);
        s["lat"] = lat;
        s["lon"] = 114.0555;
        s["groups"] = std::move(groups);
        return s;
    };
    registry(
        srv,
        json::array({site("GP-8", "gas_pipeline"), site("GP-9", "gas_pipeline")}),
        json::array(
            {well("GP-8-W1", "GP-8", 22.5433, json::array({"SEG-8"})),
             well("GP-8-W2", "GP-8", 22.5300, json::array({"SEG-8", "DISTRICT-3"})),  // 1.5 km along the same main
             well("GP-8-W3", "GP-8", 22.5600, json::array({"SEG-9"})),
             well("GP-9-W1", "GP-9", 22.5433, json::array({"SEG-8"}))}
        )
    );
    auto c = srv.client();
    auto listed = c.call("GET", "/api/v1/sensors?group=SEG-8", kAdminKey).json()["sensors"];
    std::set<std::string> ids;
    for (const auto& s : listed) ids.insert(s["id"].get<std::string>());
    EXPECT_EQ(ids, (std::set<std::string>{"GP-8-W1", "GP-8-W2", "GP-9-W1"}));
    EXPECT_EQ(
        c.call("GET", "/api/v1/sensors/GP-8-W2", kAdminKey).json()["groups"], json::array({"SEG-8", "DISTRICT-3"})
    );
    auto bad = sensor("GP-8-W4", "GP-8", "gas_lel", 60);
    bad["groups"] = json::array({"no spaces"});
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, json{{"sensors", {bad}}}.dump());
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_NE(r.body.find("group name"), std::string::npos) << r.body;

    const auto t0 = now_micros() - 60 * kMinute;
    ASSERT_EQ(post(c, "GP-8-W1", t0, 25), 200);
    ASSERT_EQ(post(c, "GP-8-W3", t0 + kMinute, 25), 200);  // another segment: not adjacent
    EXPECT_TRUE(alarms_of(c, "rule=gas_pipeline.confirmed_leak").empty());
    ASSERT_EQ(post(c, "GP-8-W2", t0 + 10 * kMinute, 21), 200);  // same segment, 1.5 km away
    auto group = alarms_of(c, "rule=gas_pipeline.confirmed_leak");
    ASSERT_EQ(group.size(), 1u);
    EXPECT_EQ(group[0]["site"], "GP-8");
    std::set<std::string> members;
    for (const auto& m : group[0]["members"]) members.insert(m["sensor"].get<std::string>());
    EXPECT_EQ(members, (std::set<std::string>{"GP-8-W1", "GP-8-W2"}));

    // A rule scoped to the group (tried by replay): it counts members on other sites too, and
    // its alarm belongs to the group.
    auto rule = shipped_pack("gas_pipeline")["rules"];
    json segment;
    for (const auto& x : rule)
        if (x["id"] == "gas_pipeline.confirmed_leak") segment = x;
    segment["id"] = "gas_pipeline.segment_leak";
    segment["params"]["scope"] = "group";
    segment["params"].erase("within_m");
    segment["params"].erase("same_group");
    ASSERT_EQ(post(c, "GP-9-W1", t0 + 12 * kMinute, 30), 200);
    json pack = shipped_pack("gas_pipeline");
    pack["rules"].push_back(segment);
    json request{
        {"pack", pack},
        {"group", "SEG-8"},
        {"from", format_rfc3339(t0 - kMinute)},
        {"to", format_rfc3339(now_micros())}};
    r = c.call("POST", "/api/v1/rules/replay", kAdminKey, request.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    json seg_alarm;
    const auto replayed = r.json();
    for (const auto& a : replayed["alarms"])
        if (a["rule"] == "gas_pipeline.segment_leak") seg_alarm = a;
    ASSERT_TRUE(seg_alarm.is_object()) << r.body;
    EXPECT_EQ(seg_alarm["site"], "group:SEG-8");
    members.clear();
    for (const auto& m : seg_alarm["members"]) members.insert(m["sensor"].get<std::string>());
    EXPECT_EQ(members, (std::set<std::string>{"GP-8-W1", "GP-8-W2", "GP-9-W1"}));
    request.erase("group");
    request["group"] = "SEG-404";
    EXPECT_EQ(c.call("POST", "/api/v1/rules/replay", kAdminKey, request.dump()).status, 404);
}

namespace {

/// A copy of the shipped packs the test may edit.
struct pack_dir {
    std::filesystem::path path;
    pack_dir() {
        char name[] = "/tmp/cityguard-packs-XXXXXX";
        path = mkdtemp(name);
        for (const auto& f : std::filesystem::directory_iterator(CITYGUARD_SOURCE_DIR "/config/rules"))
            std::filesystem::copy_file(f.path(), path / f.path().filename());
    }
    ~pack_dir() { std::filesystem::remove_all(path); }
    void write(const std::string& domain, const json& pack) const {
        std::ofstream(path / (domain + ".json")) << pack.dump(1);
    }
};

json& rule_in(json& pack, const std::string& id) {
    for (auto& r : pack["rules"])
        if (r["id"] == id) return r;
    throw std::runtime_error("no rule " + id);
}

bool lists_rule(http_client& c, const std::string& id) {
    const auto listed = c.call("GET", "/api/v1/rules", kAdminKey).json();
    for (const auto& r : listed["rules"])
        if (r["id"] == id) return true;
    return false;
}

}  // namespace

TEST(AlarmsHttp, RulePacksReloadWithoutARestart) {
    CITYGUARD_REQUIRE_DB();
    pack_dir packs;
    auto cfg = test_config("");
    cfg.rules_dir = packs.path.string();
    test_server srv(cfg);
    auto well = [](const std::string& id, double lat) {
        auto s = sensor(id, "GP-L", "gas_lel", 60);
        s["lat"] = lat;
        s["lon"] = 114.0555;
        return s;
    };
    registry(
        srv,
        json::array({site("GP-L", "gas_pipeline")}),
        json::array({well("GP-L-W1", 22.5433), well("GP-L-W2", 22.5424)})
    );
    auto c = srv.client();
    const auto t0 = now_micros() - 30 * kMinute;
    ASSERT_EQ(post(c, "GP-L-W1", t0, 25), 200);
    ASSERT_EQ(post(c, "GP-L-W2", t0 + kMinute, 25), 200);
    auto group = alarms_of(c, "rule=gas_pipeline.confirmed_leak");
    ASSERT_EQ(group.size(), 1u);
    const auto w1_alarm = alarms_of(c, "rule=gas_pipeline.manhole_lel&sensor=GP-L-W1").at(0)["id"];

    // A pack that does not load changes nothing, and the answer says where and why.
    const json original = shipped_pack("gas_pipeline");
    json broken = original;
    rule_in(broken, "gas_pipeline.confirmed_leak")["params"]["rule"] = "gas_pipeline.nope";
    packs.write("gas_pipeline", broken);
    auto r = c.call("POST", "/api/v1/rules/reload", kAdminKey);
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_NE(r.body.find("gas_pipeline.json"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("gas_pipeline.confirmed_leak"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("gas_pipeline.nope"), std::string::npos) << r.body;
    EXPECT_TRUE(lists_rule(c, "gas_pipeline.confirmed_leak"));
    EXPECT_EQ(c.call("POST", "/api/v1/rules/reload", srv.make_key("op", "operator")).status, 403);

    // Remove the correlation, add another, reword the wells' advice.
    json next = original;
    json added = rule_in(next, "gas_pipeline.confirmed_leak");
    added["id"] = "gas_pipeline.test_leak";
    auto& rules = next["rules"];
    rules.erase(
        std::remove_if(
            rules.begin(), rules.end(), [](const json& x) { return x["id"] == "gas_pipeline.confirmed_leak"; }
        ),
        rules.end()
    );
    rules.push_back(added);
    rule_in(next, "gas_pipeline.manhole_lel")["advice"]["orange"]["en"] = "Reworded advice.";
    packs.write("gas_pipeline", next);
    r = c.call("POST", "/api/v1/rules/reload", kAdminKey);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["added"], json::array({"gas_pipeline.test_leak"}));
    EXPECT_EQ(r.json()["removed"], json::array({"gas_pipeline.confirmed_leak"}));
    EXPECT_EQ(r.json()["changed"], json::array());
    EXPECT_FALSE(lists_rule(c, "gas_pipeline.confirmed_leak"));
    EXPECT_TRUE(lists_rule(c, "gas_pipeline.test_leak"));

    // The removed rule's alarm stays, condition unknown, for the operator to close.
    group = alarms_of(c, "rule=gas_pipeline.confirmed_leak");
    ASSERT_EQ(group.size(), 1u);
    EXPECT_EQ(group[0]["condition"], "unknown");
    EXPECT_EQ(alarms_of(c, "rule=gas_pipeline.manhole_lel&sensor=GP-L-W1").at(0)["id"], w1_alarm)
        << "an unchanged rule keeps its alarm";
    // The added correlation holds already: the next timer tick raises it.
    json raised;
    for (int i = 0; i < 30 && raised.empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        raised = alarms_of(c, "rule=gas_pipeline.test_leak");
    }
    ASSERT_EQ(raised.size(), 1u);
    auto closed = c.call(
        "POST",
        "/api/v1/alarms/" + std::to_string(group[0]["id"].get<std::int64_t>()) + "/close",
        kAdminKey,
        R"({"reason":"test","note":"rule removed"})"
    );
    EXPECT_EQ(closed.status, 200) << closed.body;

    // SIGHUP does the same.
    packs.write("gas_pipeline", original);
    std::raise(SIGHUP);
    bool back = false;
    for (int i = 0; i < 50 && !back; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        back = lists_rule(c, "gas_pipeline.confirmed_leak");
    }
    EXPECT_TRUE(back);
    EXPECT_FALSE(lists_rule(c, "gas_pipeline.test_leak"));
}

TEST(AlarmsHttp, AReplayGivesTheAlarmsTheLiveEngineGave) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto well = [](const std::string& id, double lat, double lon) {
        auto s = sensor(id, "GP-R", "gas_lel", 60);
        s["lat"] = lat;
        s["lon"] = lon;
        return s;
    };
    registry(
        srv,
        json::array({site("GP-R", "gas_pipeline")}),
        json::array({well("GP-R-W1", 22.5433, 114.0555), well("GP-R-W2", 22.5424, 114.0563)})
    );
    auto c = srv.client();
    const auto t0 = (now_micros() - 90 * kMinute) / kMinute * kMinute;
    // A leak: one well ramps to red and back, its neighbour to orange (a confirmed leak), then
    // both clear; posted one reading at a time, as a gateway does.
    const std::vector<double> w1{1, 3, 8, 15, 22, 30, 45, 55, 40, 20, 5, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
    const std::vector<double> w2{0, 0, 0, 2, 5, 12, 21, 25, 24, 10, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    for (std::size_t m = 0; m < w1.size(); ++m) {
        ASSERT_EQ(post(c, "GP-R-W1", t0 + static_cast<std::int64_t>(m) * kMinute, w1[m]), 200);
        ASSERT_EQ(post(c, "GP-R-W2", t0 + static_cast<std::int64_t>(m) * kMinute + 20'000'000, w2[m]), 200);
    }
    const auto live = comparable(alarms_of(c, "site=GP-R"), &c);
    ASSERT_GE(live.size(), 4u) << "both wells, the rise rule and the confirmed leak";
    ASSERT_TRUE(live.count("gas_pipeline.confirmed_leak "));

    json request{
        {"pack", shipped_pack("gas_pipeline")},
        {"site", "GP-R"},
        {"from", format_rfc3339(t0 - kMinute)},
        {"to", format_rfc3339(now_micros())}};
    auto r = c.call("POST", "/api/v1/rules/replay", kAdminKey, request.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    const auto replayed = r.json();
    EXPECT_EQ(replayed["readings"], 2 * w1.size());
    const auto again = comparable(replayed["alarms"], nullptr);
    EXPECT_EQ(again, live) << "replay:\n" << json(again).dump(1) << "\nlive:\n" << json(live).dump(1);
    EXPECT_EQ(alarms_of(c, "site=GP-R").size(), live.size()) << "a replay writes nothing";

    // One rule of a pack, alone: only its alarms.
    json one{
        {"domain", "gas_pipeline"},
        {"rule", shipped_pack("gas_pipeline")["rules"][0]},
        {"sensors", {"GP-R-W1"}},
        {"from", format_rfc3339(t0 - kMinute)},
        {"to", format_rfc3339(now_micros())}};
    r = c.call("POST", "/api/v1/rules/replay", kAdminKey, one.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json()["alarms"].size(), 1u);
    EXPECT_EQ(r.json()["alarms"][0]["peak_level"], "red");
}

TEST(AlarmsHttp, AReplayRefusesBadAndOversizedRequests) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.alarms.replay_max_readings = 5;
    test_server srv(cfg);
    registry(
        srv,
        json::array({site("GP-Q", "gas_pipeline"), site("BR-Q", "bridge")}),
        json::array({sensor("GP-Q-W", "GP-Q", "gas_lel", 60), sensor("BR-Q-D", "BR-Q", "deflection", 60)})
    );
    auto c = srv.client();
    const auto t0 = now_micros() - 60 * kMinute;
    for (int m = 0; m < 6; ++m) ASSERT_EQ(post(c, "GP-Q-W", t0 + m * kMinute, 1), 200);
    const json pack = shipped_pack("gas_pipeline");
    auto replay = [&](json body) { return c.call("POST", "/api/v1/rules/replay", kAdminKey, body.dump()); };
    const std::string from = format_rfc3339(t0 - kMinute), to = format_rfc3339(now_micros());
    auto r = replay({{"pack", pack}, {"site", "GP-Q"}, {"from", from}, {"to", to}});
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("alarms.replay_max_readings"), std::string::npos);
    EXPECT_EQ(
        replay({{"pack", pack}, {"site", "GP-Q"}, {"from", from}, {"to", format_rfc3339(t0 + 3 * kMinute)}}).status, 200
    );
    EXPECT_EQ(replay({{"pack", pack}, {"site", "GP-Q"}, {"from", from}}).status, 422) << "no 'to'";
    EXPECT_EQ(replay({{"pack", pack}, {"site", "GP-Q"}, {"from", to}, {"to", from}}).status, 422);
    EXPECT_EQ(replay({{"pack", pack}, {"site", "NOPE"}, {"from", from}, {"to", to}}).status, 404);
    EXPECT_EQ(replay({{"pack", pack}, {"sensors", {"BR-Q-D"}}, {"from", from}, {"to", to}}).status, 422)
        << "another domain";
    auto bad_pack = pack;
    bad_pack["rules"][0]["params"]["levels"] = json::array();
    r = replay({{"pack", bad_pack}, {"site", "GP-Q"}, {"from", from}, {"to", to}});
    EXPECT_EQ(r.status, 422);
    EXPECT_NE(
        r.json()["error"]["message"].get<std::string>().find("replay: rule gas_pipeline.manhole_lel"), std::string::npos
    ) << r.body;
    EXPECT_EQ(replay({{"site", "GP-Q"}, {"from", from}, {"to", to}}).status, 422) << "no rule";
    EXPECT_EQ(c.call("POST", "/api/v1/rules/replay", kAdminKey, "[1,2").status, 400);
    const auto operator_key = srv.make_key("op", "operator");
    EXPECT_EQ(c.call("POST", "/api/v1/rules/replay", operator_key, json{{"pack", pack}}.dump()).status, 403);
}

// Domains are data (issue 29): a domain no pack declares is refused everywhere; adding its pack
// and reloading makes it a domain like the others, with no code and no SQL changed.
TEST(AlarmsHttp, ADomainIsAddedByAPackAndAReload) {
    CITYGUARD_REQUIRE_DB();
    pack_dir packs;
    auto cfg = test_config("");
    cfg.rules_dir = packs.path.string();
    test_server srv(cfg);
    auto c = srv.client();
    const json site_doc{
        {"name", "梅林水厂出厂管"}, {"domain", "water_test"}, {"district", "福田区"}, {"lat", 22.5}, {"lon", 114.0}};
    auto refused = c.call("PUT", "/api/v1/sites/WT-1", kAdminKey, site_doc.dump());
    EXPECT_EQ(refused.status, 422);
    EXPECT_NE(refused.json()["error"]["message"].get<std::string>().find("gas_pipeline"), std::string::npos)
        << "the refusal lists the catalog: " << refused.body;
    EXPECT_EQ(c.call("GET", "/api/v1/stats?domain=water_test", kAdminKey).status, 400);
    const json silence{{"domain", "water_test"}, {"duration_s", 600}, {"reason", "drill"}};
    EXPECT_EQ(c.call("POST", "/api/v1/silences", kAdminKey, silence.dump()).status, 422);

    const std::size_t shipped_domains = c.call("GET", "/api/v1/domains", kAdminKey).json()["domains"].size();
    const json advice{{"zh", "检查管网。"}, {"en", "Check the network."}};
    packs.write(
        "water_test",
        {{"domain", "water_test"},
         {"name", {{"zh", "供水（测试）"}, {"en", "Water (test)"}}},
         {"color", "#1f77b4"},
         {"icon", "tap"},
         {"sensor_kinds",
          {{{"kind", "water_pressure"},
            {"name", {{"zh", "水压"}, {"en", "Water pressure"}}},
            {"unit", "MPa"},
            {"min", 0},
            {"max", 2.5}}}},
         {"rules",
          {{{"id", "water_test.pressure_low"},
            {"name", {{"zh", "水压低"}, {"en", "Water pressure low"}}},
            {"kinds", {"water_pressure"}},
            {"kind", "threshold"},
            {"params", {{"direction", "low"}, {"levels", {{{"level", "yellow"}, {"value", 0.14}}}}}},
            {"advice", {{"yellow", advice}}},
            {"source", "test"}},
           {{"id", "water_test.offline"},
            {"name", {{"zh", "离线"}, {"en", "Offline"}}},
            {"kinds", {"*"}},
            {"kind", "offline"},
            {"params", {{"level", "blue"}, {"multiplier", 3}}},
            {"advice", {{"blue", advice}}},
            {"source", "test"}}}}}
    );
    auto reloaded = c.call("POST", "/api/v1/rules/reload", kAdminKey);
    ASSERT_EQ(reloaded.status, 200) << reloaded.body;

    const json listed = c.call("GET", "/api/v1/domains", kAdminKey).json();
    json water;
    for (const auto& d : listed["domains"])
        if (d["id"] == "water_test") water = d;
    ASSERT_FALSE(water.is_null()) << listed.dump();
    EXPECT_EQ(water["name"]["en"], "Water (test)");
    EXPECT_EQ(water["sensor_kinds"][0]["unit"], "MPa");
    EXPECT_EQ(listed["domains"].size(), shipped_domains + 1);

    ASSERT_EQ(c.call("PUT", "/api/v1/sites/WT-1", kAdminKey, site_doc.dump()).status, 201);
    registry(srv, json::array(), json::array({sensor("WT-1-P", "WT-1", "water_pressure")}));
    ASSERT_EQ(post(c, "WT-1-P", now_micros() - 1'000'000, 0.05), 200);
    const auto raised = alarms_of(c, "domain=water_test");
    ASSERT_EQ(raised.size(), 1u);
    EXPECT_EQ(raised[0]["rule"], "water_test.pressure_low");
    EXPECT_EQ(c.call("GET", "/api/v1/stats?domain=water_test", kAdminKey).status, 200);
    EXPECT_EQ(c.call("POST", "/api/v1/silences", kAdminKey, silence.dump()).status, 201);
    EXPECT_EQ(c.call("GET", "/api/v1/overview", kAdminKey).json()["sites_by_domain"]["water_test"], 1);
}
