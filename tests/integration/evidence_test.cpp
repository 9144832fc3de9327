// Video evidence end to end (docs/evidence.md): a video platform's callback and readings with
// evidence, the alarm and its events carrying it, the webhook and Alertmanager messages naming
// it, and the keys' scope and binding on the callback route.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/test_env.hpp"
#include "../support/webhook_receiver.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::format_rfc3339;
using cityguard::util::now_micros;
using nlohmann::json;

namespace {

constexpr std::int64_t kEvSecond = 1'000'000;
constexpr const char* kEvCamera = "44030400001320000017";
constexpr const char* kEvSnapshot = "https://vms.example.gov.cn/snap/17/20261207140211.jpg";
constexpr const char* kEvClip = "https://vms.example.gov.cn/clip/17/20261207140201.mp4";

std::string evidence_notifications(const std::string& webhook_url) {
    const auto path = std::filesystem::temp_directory_path() / ("cityguard-evidence-" + std::to_string(::getpid()) +
                                                                "-" + std::to_string(now_micros()) + ".json");
    json any_level{{"notify", {"enterprise"}}, {"ack_deadline_s", nullptr}, {"disposal_deadline_s", nullptr}};
    json policies = json::array();
    for (const char* level : {"red", "orange", "yellow", "blue"}) {
        json p = any_level;
        p["level"] = level;
        policies.push_back(p);
    }
    json doc{
        {"channels", {{"hook", {{"type", "webhook"}, {"url", webhook_url}, {"secret", "s"}, {"timeout_ms", 2000}}}}},
        {"policies", policies},
        {"retry", {{"initial_ms", 100}, {"max_ms", 400}, {"max_attempts", 10}}},
        {"dashboard_url", "http://127.0.0.1:8080/"}};
    std::ofstream(path) << doc.dump(2);
    return path.string();
}

json video_sensor(const std::string& id, const std::string& site, const std::string& kind) {
    return {{"id", id}, {"site", site}, {"kind", kind}, {"unit", ""}, {"interval_s", 60}};
}

/// Two stations in two districts, each with the unloading camera, the grounding monitor and a
/// smoking analysis; the Futian station's safety officer is told by webhook.
void register_video_stations(http_client& c, bool with_contact = false) {
    json doc{
        {"units", {{{"id", "U-1"}, {"name", "梅林加油站有限公司"}}}},
        {"sites",
         {{{"id", "GS-1"},
           {"name", "梅林加油站"},
           {"domain", "gas_station"},
           {"district", "福田区"},
           {"lat", 22.57},
           {"lon", 114.05},
           {"unit", "U-1"}},
          {{"id", "GS-2"},
           {"name", "南山加油站"},
           {"domain", "gas_station"},
           {"district", "南山区"},
           {"lat", 22.53},
           {"lon", 113.93}}}},
        {"sensors",
         {video_sensor("GS-1-V-SMOKING", "GS-1", "video.smoking"),
          video_sensor("GS-1-V-UNLOADING", "GS-1", "video.unloading"),
          {{"id", "GS-1-GND"}, {"site", "GS-1"}, {"kind", "static_ground"}, {"unit", ""}, {"interval_s", 10}},
          video_sensor("GS-2-V-SMOKING", "GS-2", "video.smoking")}}};
    if (with_contact)
        doc["contacts"] = json::array(
            {{{"id", "C-1"}, {"name", "王安全"}, {"tier", "enterprise"}, {"unit", "U-1"}, {"channels", {"hook"}}}}
        );
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, doc.dump());
    ASSERT_EQ(r.status, 200) << r.body;
}

json evidence_alarm_of(http_client& c, const std::string& query) {
    const json listed = c.call("GET", "/api/v1/alarms?" + query, kAdminKey).json();
    return listed["alarms"].empty() ? json() : listed["alarms"][0];
}

}  // namespace

TEST(Evidence, AVideoCallbackRaisesTheAlarmWithItsPictureAndTheMessageLinksIt) {
    CITYGUARD_REQUIRE_DB();
    webhook_receiver receiver;
    auto cfg = test_config("");
    cfg.notifications_file = evidence_notifications(receiver.url());
    cfg.notifications.poll_ms = 100;
    test_server srv(cfg);
    auto c = srv.client();
    register_video_stations(c, true);

    const std::string ts = format_rfc3339(now_micros() - 2 * kEvSecond);
    const json callback{
        {"events",
         {{{"sensor", "GS-1-V-SMOKING"},
           {"ts", ts},
           {"camera", kEvCamera},
           {"snapshot", kEvSnapshot},
           {"clip", kEvClip},
           {"label", "smoking"},
           {"confidence", 0.93}},
          {{"sensor", "GS-1-V-SMOKING"}, {"ts", ts}, {"camera", kEvCamera}, {"snapshot", "javascript:alert(1)"}}}}};
    auto r = c.call("POST", "/api/v1/events", kAdminKey, callback.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["accepted"], 1);
    ASSERT_EQ(r.json()["rejected"].size(), 1u) << r.body;
    EXPECT_EQ(r.json()["rejected"][0]["error"], "bad_evidence");
    EXPECT_EQ(r.json()["rejected"][0]["index"], 1);

    const json alarm = evidence_alarm_of(c, "rule=gas_station.video_behaviour");
    ASSERT_FALSE(alarm.is_null()) << "a detection is the sensor's reading 1";
    ASSERT_TRUE(alarm["evidence"].is_object()) << alarm.dump();
    EXPECT_EQ(alarm["evidence"]["camera"], kEvCamera);
    EXPECT_EQ(alarm["evidence"]["snapshot"], kEvSnapshot);
    EXPECT_EQ(alarm["evidence"]["clip"], kEvClip);
    EXPECT_EQ(alarm["evidence"]["sensor"], "GS-1-V-SMOKING");
    EXPECT_EQ(alarm["evidence"]["reading_ts"], ts);

    const json detail = c.call("GET", "/api/v1/alarms/" + std::to_string(alarm["id"].get<int>()), kAdminKey).json();
    ASSERT_FALSE(detail["events"].empty());
    EXPECT_EQ(detail["events"][0]["type"], "raised");
    EXPECT_EQ(detail["events"][0]["evidence"]["snapshot"], kEvSnapshot) << "kept with the event";

    ASSERT_TRUE(receiver.wait_for(1));
    const json told = json::parse(receiver.requests()[0].body);
    EXPECT_EQ(told["alarm"]["evidence"]["snapshot"], kEvSnapshot);
    const std::string text = told["message"]["text"];
    EXPECT_NE(text.find(std::string("现场截图：") + kEvSnapshot), std::string::npos) << text;
    EXPECT_NE(text.find(std::string("视频片段：") + kEvClip), std::string::npos) << text;

    // Sent again (the platform retried): a duplicate, the first evidence stays.
    json again = callback;
    again["events"][0]["snapshot"] = "https://vms.example.gov.cn/other.jpg";
    r = c.call("POST", "/api/v1/events", kAdminKey, again.dump());
    EXPECT_EQ(r.json()["duplicates"], 1) << r.body;
    EXPECT_EQ(srv.db().query_value("SELECT evidence->>'snapshot' FROM reading_evidence"), kEvSnapshot);

    // The evidence survives a restart as committed.
    srv.restart();
    auto after = srv.client();
    EXPECT_EQ(evidence_alarm_of(after, "rule=gas_station.video_behaviour")["evidence"]["camera"], kEvCamera);
}

TEST(Evidence, ACompoundShowsTheCameraThatSawItWhenAnotherSensorCompletedIt) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    register_video_stations(c);
    const std::int64_t t0 = now_micros() - 600 * kEvSecond;
    // The unloading camera sees the tanker unloading, with its picture; the grounding monitor
    // reports a fault; both hold for 30 s: the red compound.
    json first{
        {"readings",
         {{{"sensor", "GS-1-V-UNLOADING"},
           {"ts", format_rfc3339(t0)},
           {"value", 1},
           {"evidence", {{"camera", kEvCamera}, {"snapshot", kEvSnapshot}}}},
          {{"sensor", "GS-1-GND"}, {"ts", format_rfc3339(t0)}, {"value", 1}}}}};
    ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, first.dump()).status, 200);
    for (std::int64_t s = 10; s <= 40; s += 10) {
        json more{
            {"readings",
             {{{"sensor", "GS-1-V-UNLOADING"}, {"ts", format_rfc3339(t0 + s * kEvSecond)}, {"value", 1}},
              {{"sensor", "GS-1-GND"}, {"ts", format_rfc3339(t0 + s * kEvSecond)}, {"value", 1}}}}};
        ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, more.dump()).status, 200);
    }
    const json compound = evidence_alarm_of(c, "rule=gas_station.unloading_without_grounding");
    ASSERT_FALSE(compound.is_null());
    EXPECT_EQ(compound["level"], "red");
    ASSERT_TRUE(compound["evidence"].is_object()) << compound.dump();
    EXPECT_EQ(compound["evidence"]["sensor"], "GS-1-V-UNLOADING");
    EXPECT_EQ(compound["evidence"]["snapshot"], kEvSnapshot);
    EXPECT_EQ(compound["evidence"]["reading_ts"], format_rfc3339(t0));
    // The grounding monitor's own alarm saw no camera.
    const json grounding = evidence_alarm_of(c, "rule=gas_station.static_ground");
    ASSERT_FALSE(grounding.is_null());
    EXPECT_TRUE(grounding["evidence"].is_null()) << grounding.dump();
}

TEST(Evidence, TheCallbackTakesAKeysScopeAndBindingItemByItem) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    register_video_stations(c);
    auto made =
        c.call("POST", "/api/v1/keys", kAdminKey, R"({"name":"vms-ft","role":"gateway","binding":{"sites":["GS-1"]}})");
    ASSERT_EQ(made.status, 201) << made.body;
    const std::string vms = made.json()["key"];
    const std::string ts = format_rfc3339(now_micros() - kEvSecond);
    const json callback{
        {"events",
         {{{"sensor", "GS-1-V-SMOKING"}, {"ts", ts}, {"camera", kEvCamera}},
          {{"sensor", "GS-2-V-SMOKING"}, {"ts", ts}, {"camera", kEvCamera}}}}};
    auto r = c.call("POST", "/api/v1/events", vms, callback.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["accepted"], 1);
    ASSERT_EQ(r.json()["rejected"].size(), 1u);
    EXPECT_EQ(r.json()["rejected"][0]["error"], "forbidden");
    EXPECT_TRUE(evidence_alarm_of(c, "sensor=GS-2-V-SMOKING").is_null());
    // Neither an operator's key nor no key may post.
    const auto op = srv.make_key("op", "operator");
    EXPECT_EQ(c.call("POST", "/api/v1/events", op, callback.dump()).status, 403);
    EXPECT_EQ(c.call("POST", "/api/v1/events", "", callback.dump()).status, 401);
    // Request-level bounds: a body that is not a callback, and too many events.
    EXPECT_EQ(c.call("POST", "/api/v1/events", vms, R"({"readings":[]})").status, 400);
    json many{{"events", json::array()}};
    for (int i = 0; i <= 1000; ++i) many["events"].push_back({{"sensor", "GS-1-V-SMOKING"}, {"ts", i}});
    r = c.call("POST", "/api/v1/events", vms, many.dump());
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "too_many_readings");
}
