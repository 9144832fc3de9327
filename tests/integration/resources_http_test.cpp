#include <gtest/gtest.h>

#include <string>

#include "../support/test_env.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using nlohmann::json;

namespace {

// Around Futian's command centre: 0.009 degrees of latitude is about 1 km.
constexpr double kLat = 22.54;
constexpr double kLon = 114.05;

json team(const std::string& id, const std::string& kind, double km_north, bool on_duty = true) {
    return {
        {"id", id},
        {"kind", "team"},
        {"name", id},
        {"district", "福田区"},
        {"lat", kLat + km_north * 0.008993},
        {"lon", kLon},
        {"team_kind", kind},
        {"size", 12},
        {"on_duty", on_duty}};
}

json warehouse(const std::string& id, double km_north, json materials) {
    return {
        {"id", id},
        {"kind", "warehouse"},
        {"name", id},
        {"lat", kLat + km_north * 0.008993},
        {"lon", kLon},
        {"materials", std::move(materials)}};
}

json resources() {
    return json::array(
        {team("T-GAS", "gas_repair", 3.0),
         team("T-GAS-FAR", "gas_repair", 4.0),
         team("T-FIRE", "fire", 1.0),
         team("T-FIRE-OFF", "fire", 0.2, false),
         team("T-HAZMAT", "hazmat", 0.5),
         warehouse(
             "W-DETECTORS",
             2.0,
             json::array({{{"kind", "gas_detector"}, {"name", "便携式检测仪"}, {"quantity", 40}, {"unit", "台"}}})
         ),
         warehouse(
             "W-EMPTY",
             0.1,
             json::array({{{"kind", "gas_detector"}, {"name", "便携式检测仪"}, {"quantity", 0}, {"unit", "台"}}})
         ),
         {{"id", "S-PARK"},
          {"kind", "shelter"},
          {"name", "中心公园避难场所"},
          {"lat", kLat + 0.002},
          {"lon", kLon},
          {"capacity", 5000}},
         {{"id", "E-LI"},
          {"kind", "expert"},
          {"name", "李工"},
          {"lat", kLat - 0.05},
          {"lon", kLon},
          {"speciality", "燃气管网"},
          {"phone", "13800000000"}}}
    );
}

std::vector<std::string> ids_of(const json& ranked) {
    std::vector<std::string> out;
    for (const auto& n : ranked) out.push_back(n["resource"]["id"]);
    return out;
}

}  // namespace

TEST(ResourcesHttp, ManagedThroughTheApiAndTheBulkImport) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    json bad = resources();
    bad[2]["team_kind"] = "police";
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, json{{"resources", bad}}.dump());
    ASSERT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(r.json()["error"]["items"][0]["id"], "T-FIRE");
    EXPECT_NE(r.json()["error"]["items"][0]["error"].get<std::string>().find("team_kind"), std::string::npos);
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM resources"), "0") << "nothing was written";

    r = c.call("POST", "/api/v1/registry", kAdminKey, json{{"resources", resources()}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["resources"]["created"], 9);

    const auto op = srv.make_key("duty-op", "operator");
    const auto gateway = srv.make_key("gw", "gateway");
    r = c.call("GET", "/api/v1/resources?kind=team&tag=fire", op);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json()["resources"].size(), 2u);
    EXPECT_EQ(r.json()["resources"][0]["id"], "T-FIRE");
    EXPECT_EQ(r.json()["resources"][1]["id"], "T-FIRE-OFF");
    r = c.call("GET", "/api/v1/resources?tag=gas_detector", op);
    ASSERT_EQ(r.json()["resources"].size(), 1u) << "a warehouse is tagged with what it has in stock";
    EXPECT_EQ(r.json()["resources"][0]["id"], "W-DETECTORS");
    r = c.call("GET", "/api/v1/resources/E-LI", op);
    EXPECT_EQ(r.json()["phone"], "13800000000") << "operators see an expert's phone";
    EXPECT_EQ(c.call("GET", "/api/v1/resources/E-LI", gateway).status, 403) << "gateways see no personal data";
    EXPECT_EQ(c.call("GET", "/api/v1/resources/nearby?lat=1&lon=1", gateway).status, 403);

    json shelter{{"kind", "shelter"}, {"name", "体育馆"}, {"lat", 22.53}, {"lon", 114.06}, {"capacity", 3000}};
    r = c.call("PUT", "/api/v1/resources/S-GYM", kAdminKey, shelter.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.json()["capacity"], 3000);
    shelter["capacity"] = 2500;
    EXPECT_EQ(c.call("PUT", "/api/v1/resources/S-GYM", kAdminKey, shelter.dump()).status, 200);
    EXPECT_EQ(c.call("PUT", "/api/v1/resources/S-GYM", op, shelter.dump()).status, 403) << "admin writes";
    shelter["size"] = 3;
    r = c.call("PUT", "/api/v1/resources/S-GYM", kAdminKey, shelter.dump());
    EXPECT_EQ(r.status, 422);
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("size"), std::string::npos) << r.body;
    r = c.call("PUT", "/api/v1/resources/nearby", kAdminKey, shelter.dump());
    EXPECT_EQ(r.status, 422) << "the id of the nearby query is reserved";
    EXPECT_EQ(c.call("DELETE", "/api/v1/resources/S-GYM", kAdminKey).status, 204);
    EXPECT_EQ(c.call("GET", "/api/v1/resources/S-GYM", op).status, 404);
    EXPECT_EQ(c.call("DELETE", "/api/v1/resources/S-GYM", kAdminKey).status, 404);
}

TEST(ResourcesHttp, NearbyRanksWhatTheIncidentWantsThenTravelTime) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    ASSERT_EQ(c.call("POST", "/api/v1/registry", kAdminKey, json{{"resources", resources()}}.dump()).status, 200);
    const std::string at = "/api/v1/resources/nearby?lat=22.54&lon=114.05";

    auto r = c.call("GET", at + "&kind=team&team_kind=gas_repair,fire&limit=2", kAdminKey);
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = r.json();
    EXPECT_EQ(body["resources"].size(), 1u) << "only the kinds asked for";
    // The two nearest teams of any kind (T-FIRE-OFF, T-HAZMAT), and the two nearest of each wanted kind.
    EXPECT_EQ(
        ids_of(body["resources"]["team"]),
        (std::vector<std::string>{"T-GAS", "T-GAS-FAR", "T-FIRE", "T-HAZMAT", "T-FIRE-OFF"})
    );
    const auto& first = body["resources"]["team"][0];
    EXPECT_NEAR(first["distance_m"].get<double>(), 3000, 30);
    EXPECT_NEAR(first["travel_s"].get<double>(), 3000 / (40 / 3.6), 5) << "40 km/h";
    EXPECT_TRUE(first["in_circle"]) << "3 km at 40 km/h is 270 s";
    EXPECT_FALSE(body["resources"]["team"][1]["in_circle"]) << "4 km is 360 s";
    EXPECT_EQ(body["in_circle"]["team"], 4);
    EXPECT_EQ(body["circle_s"], 300);
    EXPECT_EQ(body["wanted"]["teams"], json({"gas_repair", "fire"}));

    r = c.call("GET", at + "&kind=warehouse,shelter,expert&material=gas_detector", kAdminKey);
    ASSERT_EQ(r.status, 200) << r.body;
    body = r.json();
    EXPECT_EQ(ids_of(body["resources"]["warehouse"]), (std::vector<std::string>{"W-DETECTORS", "W-EMPTY"}))
        << "the warehouse with detectors in stock before the nearer empty one";
    EXPECT_EQ(body["resources"]["warehouse"][0]["matching_materials"], json({"gas_detector"}));
    EXPECT_TRUE(body["resources"]["warehouse"][0]["in_circle"]) << "2 km at 30 km/h is 240 s";
    EXPECT_TRUE(body["resources"]["shelter"][0]["in_circle"]) << "a shelter is walked to: 220 m at 4 km/h is 200 s";
    EXPECT_FALSE(body["resources"]["expert"][0]["in_circle"]) << "5.5 km at 30 km/h";
    EXPECT_EQ(body["in_circle"]["warehouse"], 2);
    EXPECT_FALSE(body["in_circle"].contains("team")) << "kinds not asked for are not counted";

    for (const auto& [query, names] : std::vector<std::pair<std::string, std::string>>{
             {"?lat=91&lon=1", "lat"},
             {"?lat=1&lon=-180.5", "lon"},
             {"?lat=abc&lon=1", "lat"},
             {"?lat=nan&lon=1", "lat"},
             {"?lon=1", "lat"},
             {"?lat=1&lon=1&kind=boat", "kind"},
             {"?lat=1&lon=1&team_kind=police", "team_kind"},
             {"?lat=1&lon=1&material=Gas%20Mask", "material"},
             {"?lat=1&lon=1&limit=0", "limit"},
             {"?lat=1&lon=1&limit=51", "limit"}}) {
        r = c.call("GET", "/api/v1/resources/nearby" + query, kAdminKey);
        EXPECT_EQ(r.status, 400) << query;
        EXPECT_EQ(r.json()["error"]["code"], "bad_request") << query;
        EXPECT_EQ(r.json()["error"]["message"].get<std::string>().rfind(names, 0), 0u) << query << ": " << r.body;
    }
}

TEST(ResourcesHttp, AnAlarmAsksForWhatItsRuleWants) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    json doc{
        {"resources", resources()},
        {"sites",
         json::array(
             {{{"id", "GS-1"},
               {"name", "梅林加油站"},
               {"domain", "gas_station"},
               {"district", "福田区"},
               {"lat", kLat},
               {"lon", kLon}}}
         )},
        {"sensors",
         json::array({{{"id", "GS-1-LEL"}, {"site", "GS-1"}, {"kind", "gas_lel"}, {"unit", "%LEL"}, {"interval_s", 30}}}
         )}};
    ASSERT_EQ(c.call("POST", "/api/v1/registry", kAdminKey, doc.dump()).status, 200);
    const auto now = cityguard::util::now_micros();
    ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, one_reading("GS-1-LEL", now, 60)).status, 200);
    auto alarms = c.call("GET", "/api/v1/alarms?sensor=GS-1-LEL", kAdminKey).json()["alarms"];
    ASSERT_EQ(alarms.size(), 1u);
    const std::string id = std::to_string(alarms[0]["id"].get<long>());

    auto r = c.call("GET", "/api/v1/alarms/" + id + "/resources", kAdminKey);
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = r.json();
    EXPECT_EQ(body["alarm"]["rule"], "gas_station.lel");
    EXPECT_EQ(body["alarm"]["site"], "GS-1");
    EXPECT_EQ(body["wanted"]["teams"], json({"fire", "gas_repair", "medical"})) << "the gas station pack's";
    EXPECT_NEAR(body["at"]["lat"].get<double>(), kLat, 1e-9);
    EXPECT_EQ(body["resources"].size(), 4u) << "every kind";
    EXPECT_EQ(
        ids_of(body["resources"]["team"]),
        (std::vector<std::string>{"T-FIRE", "T-GAS", "T-GAS-FAR", "T-HAZMAT", "T-FIRE-OFF"})
    ) << "fire (on duty), gas repair, then the rest, off duty last";

    EXPECT_EQ(c.call("GET", "/api/v1/alarms/999999/resources", kAdminKey).status, 404);
    EXPECT_EQ(c.call("GET", "/api/v1/alarms/" + id + "/resources?limit=x", kAdminKey).status, 400);

    // GET /rules shows each rule's responders, the pack's where the rule names none.
    auto rules = c.call("GET", "/api/v1/rules", kAdminKey).json()["rules"];
    for (const auto& rule : rules) {
        if (rule["id"] == "gas_station.lel") {
            EXPECT_EQ(rule["responders"]["teams"][0], "fire");
        }
        if (rule["id"] == "gas_station.offline") {
            EXPECT_EQ(rule["responders"], json::object());
        }
    }
}
