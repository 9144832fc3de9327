#include <gtest/gtest.h>

#include "../support/test_env.hpp"

using namespace cityguard::test;
using nlohmann::json;

TEST(RegistryHttp, SiteAndSensorRoundTrip) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    json site{
        {"name", "南山大桥"},
        {"domain", "bridge"},
        {"district", "南山区"},
        {"lat", 22.52},
        {"lon", 113.93},
        {"address", "深南大道"},
        {"attributes", {{"span_m", 120}}}};
    auto r = c.call("PUT", "/api/v1/sites/BR-001", kAdminKey, site.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.json()["name"], "南山大桥");
    r = c.call("PUT", "/api/v1/sites/BR-001", kAdminKey, site.dump());
    EXPECT_EQ(r.status, 200) << "second PUT replaces";

    json sensor{
        {"kind", "deflection"}, {"site", "BR-001"}, {"unit", "mm"}, {"interval_s", 60}, {"limits", {{"design", 80}}}};
    r = c.call("PUT", "/api/v1/sensors/BR-001-DEF-01", kAdminKey, sensor.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.json()["limits"]["design"], 80);
    EXPECT_TRUE(r.json()["latest"].is_null());

    r = c.call("GET", "/api/v1/sites/BR-001", kAdminKey);
    ASSERT_EQ(r.status, 200);
    auto detail = r.json();
    EXPECT_EQ(detail["attributes"]["span_m"], 120);
    ASSERT_EQ(detail["sensors"].size(), 1u);
    EXPECT_EQ(detail["sensors"][0]["id"], "BR-001-DEF-01");

    r = c.call("GET", "/api/v1/sites?domain=bridge", kAdminKey);
    EXPECT_EQ(r.json()["sites"].size(), 1u);
    r = c.call("GET", "/api/v1/sites?domain=gas_station", kAdminKey);
    EXPECT_EQ(r.json()["sites"].size(), 0u);
    r = c.call("GET", "/api/v1/sensors?site=BR-001&kind=deflection", kAdminKey);
    EXPECT_EQ(r.json()["sensors"].size(), 1u);
    r = c.call("GET", "/api/v1/sensors/BR-001-DEF-01", kAdminKey);
    EXPECT_EQ(r.json()["unit"], "mm");
}

TEST(RegistryHttp, NotFoundAndValidation) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    EXPECT_EQ(c.call("GET", "/api/v1/sites/NOPE", kAdminKey).status, 404);
    EXPECT_EQ(c.call("GET", "/api/v1/sensors/NOPE", kAdminKey).status, 404);
    auto r =
        c.call("PUT", "/api/v1/sites/X", kAdminKey, R"({"name":"x","domain":"moon","district":"d","lat":1,"lon":1})");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(r.json()["error"]["code"], "validation_failed");
    r = c.call(
        "PUT",
        "/api/v1/sensors/S",
        kAdminKey,
        R"({"site":"NO-SUCH-SITE","kind":"gas_lel","unit":"%LEL","interval_s":5})"
    );
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(c.call("PUT", "/api/v1/sites/X", kAdminKey, "{oops").status, 400);
}

TEST(RegistryHttp, BulkIsAllOrNothingWithPerItemErrors) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    json body{
        {"sites",
         json::array(
             {{{"id", "A"}, {"name", "a"}, {"domain", "ground"}, {"district", "d"}, {"lat", 1}, {"lon", 1}},
              {{"id", "B"}, {"name", "b"}, {"domain", "nowhere"}, {"district", "d"}, {"lat", 1}, {"lon", 1}}}
         )},
        {"sensors",
         json::array(
             {{{"id", "A-1"}, {"site", "A"}, {"kind", "settlement"}, {"unit", "mm"}, {"interval_s", 3600}},
              {{"id", "A-2"}, {"site", "A"}, {"kind", "BAD KIND"}, {"unit", "mm"}, {"interval_s", 3600}}}
         )}};
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, body.dump());
    ASSERT_EQ(r.status, 422) << r.body;
    auto items = r.json()["error"]["items"];
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[0]["kind"], "site");
    EXPECT_EQ(items[0]["index"], 1);
    EXPECT_EQ(items[1]["id"], "A-2");
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM sites"), "0");

    // A sensor whose site exists nowhere is refused by the store: still nothing written.
    body["sites"].erase(1);
    body["sensors"][1] = {{"id", "Z-1"}, {"site", "ZZZ"}, {"kind", "settlement"}, {"unit", "mm"}, {"interval_s", 3600}};
    r = c.call("POST", "/api/v1/registry", kAdminKey, body.dump());
    ASSERT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(r.json()["error"]["items"][0]["id"], "Z-1");
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM sites"), "0");

    body["sensors"].erase(1);
    r = c.call("POST", "/api/v1/registry", kAdminKey, body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["sites"]["created"], 1);
    EXPECT_EQ(r.json()["sensors"]["created"], 1);
    r = c.call("POST", "/api/v1/registry", kAdminKey, body.dump());
    EXPECT_EQ(r.json()["sites"]["updated"], 1);
}

TEST(RegistryHttp, DemoRegistryLoads) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.registry_file = CITYGUARD_SOURCE_DIR "/config/demo/registry.json";
    test_server srv(cfg);
    EXPECT_GE(std::stoi(srv.db().query_value("SELECT count(*) FROM sites")), 20);
    EXPECT_GE(std::stoi(srv.db().query_value("SELECT count(*) FROM sensors")), 200);
    EXPECT_EQ(srv.db().query_value("SELECT count(DISTINCT domain) FROM sites"), "9");
    EXPECT_GE(std::stoi(srv.db().query_value("SELECT count(*) FROM resources")), 30);
    EXPECT_EQ(srv.db().query_value("SELECT count(DISTINCT kind) FROM resources"), "4");
    EXPECT_EQ(srv.db().query_value("SELECT count(DISTINCT team_kind) FROM resources"), "8") << "every team kind";
}

TEST(RegistryHttp, UnitsAndContactsAnswerForASite) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    auto r = c.call(
        "PUT",
        "/api/v1/units/U-MEILIN",
        kAdminKey,
        R"({"name":"梅林加油站有限公司","credit_code":"91440300MA5D000001","address":"福田区梅林路1号"})"
    );
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.json()["site_count"], 0);
    r = c.call(
        "PUT",
        "/api/v1/sites/GS-ML",
        kAdminKey,
        R"({"name":"梅林加油站","domain":"gas_station","district":"福田区","lat":22.57,"lon":114.05,"unit":"U-MEILIN"})"
    );
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.json()["unit"], "U-MEILIN");
    // A site naming a unit that does not exist is refused, naming it.
    r = c.call(
        "PUT",
        "/api/v1/sites/GS-X",
        kAdminKey,
        R"({"name":"x","domain":"gas_station","district":"福田区","lat":22.5,"lon":114,"unit":"U-NONE"})"
    );
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(r.json()["error"]["message"], "unit 'U-NONE' does not exist");

    const char* contacts[][2] = {
        {"C-OFFICER",
         R"({"name":"王安全","tier":"enterprise","unit":"U-MEILIN","phone":"13800000001","channels":["log"]})"},
        {"C-FUTIAN",
         R"({"name":"李街道","tier":"district","district":"福田区","phone":"13800000002","channels":["log"]})"},
        {"C-NANSHAN",
         R"({"name":"张南山","tier":"district","district":"南山区","phone":"13800000003","channels":["log"]})"},
        {"C-DUTY", R"({"name":"市值班室","tier":"city","phone":"0755-12345","channels":["log"]})"}};
    for (const auto& [id, body] : contacts) {
        r = c.call("PUT", std::string("/api/v1/contacts/") + id, kAdminKey, body);
        ASSERT_EQ(r.status, 201) << id << r.body;
    }
    // Bad contacts: nothing stored, the field named.
    r = c.call("PUT", "/api/v1/contacts/C-BAD", kAdminKey, R"({"name":"x","tier":"city","channels":["sms"]})");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(r.json()["error"]["message"], "channels: no channel named 'sms' is configured");
    r = c.call("PUT", "/api/v1/contacts/C-BAD", kAdminKey, R"({"name":"x","tier":"city","channels":[]})");
    EXPECT_EQ(r.status, 422);
    r = c.call(
        "PUT",
        "/api/v1/contacts/C-BAD",
        kAdminKey,
        R"({"name":"x","tier":"enterprise","unit":"U-NONE","channels":["log"]})"
    );
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(r.json()["error"]["message"], "unit 'U-NONE' does not exist");
    EXPECT_EQ(c.call("GET", "/api/v1/contacts/C-BAD", kAdminKey).status, 404);

    // The site detail names its unit and who answers for it: its unit's officer, its district's
    // supervisor (not another district's) and the city desk, in escalation order.
    const auto operator_key = srv.make_key("duty-operator", "operator");
    r = c.call("GET", "/api/v1/sites/GS-ML", operator_key);
    ASSERT_EQ(r.status, 200);
    const auto detail = r.json();
    EXPECT_EQ(detail["responsible"]["unit"]["name"], "梅林加油站有限公司");
    EXPECT_EQ(detail["responsible"]["unit"]["site_count"], 1);
    const auto& responsible = detail["responsible"]["contacts"];
    ASSERT_EQ(responsible.size(), 3u) << responsible.dump();
    EXPECT_EQ(responsible[0]["id"], "C-OFFICER");
    EXPECT_EQ(responsible[1]["id"], "C-FUTIAN");
    EXPECT_EQ(responsible[2]["id"], "C-DUTY");
    EXPECT_EQ(responsible[0]["phone"], "13800000001");  // operators see phone numbers

    // Gateways read nothing of it, phone numbers least of all.
    const auto gateway_key = srv.make_key("gw", "gateway");
    EXPECT_EQ(c.call("GET", "/api/v1/contacts", gateway_key).status, 403);
    EXPECT_EQ(c.call("GET", "/api/v1/sites/GS-ML", gateway_key).status, 403);
    EXPECT_EQ(c.call("PUT", "/api/v1/contacts/C-X", operator_key, contacts[3][1]).status, 403);

    r = c.call("GET", "/api/v1/contacts?district=%E7%A6%8F%E7%94%B0%E5%8C%BA", operator_key);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json()["contacts"].size(), 1u);
    r = c.call("GET", "/api/v1/contacts?tier=district", operator_key);
    EXPECT_EQ(r.json()["contacts"].size(), 2u);
    r = c.call("GET", "/api/v1/units/U-MEILIN", operator_key);
    ASSERT_EQ(r.json()["contacts"].size(), 1u);

    // A unit still named is not deleted; once nothing names it, it is.
    r = c.call("DELETE", "/api/v1/units/U-MEILIN", kAdminKey);
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(c.call("DELETE", "/api/v1/contacts/C-OFFICER", kAdminKey).status, 204);
    EXPECT_EQ(c.call("DELETE", "/api/v1/contacts/C-OFFICER", kAdminKey).status, 404);
    r = c.call(
        "PUT",
        "/api/v1/sites/GS-ML",
        kAdminKey,
        R"({"name":"梅林加油站","domain":"gas_station","district":"福田区","lat":22.57,"lon":114.05})"
    );
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(c.call("DELETE", "/api/v1/units/U-MEILIN", kAdminKey).status, 204);
    EXPECT_EQ(c.call("GET", "/api/v1/units", operator_key).json()["units"].size(), 0u);
}

TEST(RegistryHttp, BulkImportTakesUnitsAndContactsAllOrNothing) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    json doc{
        {"units", {{{"id", "U-1"}, {"name", "某化工有限公司"}}}},
        {"contacts",
         {{{"id", "C-1"}, {"name", "安全员"}, {"tier", "enterprise"}, {"unit", "U-1"}, {"channels", {"log"}}},
          {{"id", "C-2"}, {"name", "值班"}, {"tier", "enterprise"}, {"unit", "U-2"}, {"channels", {"log"}}}}},
        {"sites",
         {{{"id", "CP-1"},
           {"name", "化工厂"},
           {"domain", "chemical_plant"},
           {"district", "坪山区"},
           {"lat", 22.7},
           {"lon", 114.3},
           {"unit", "U-1"}}}}};
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, doc.dump());
    ASSERT_EQ(r.status, 422) << r.body;
    const auto refused = r.json();
    ASSERT_EQ(refused["error"]["items"].size(), 1u);
    EXPECT_EQ(refused["error"]["items"][0]["kind"], "contact");
    EXPECT_EQ(refused["error"]["items"][0]["index"], 1);
    EXPECT_EQ(c.call("GET", "/api/v1/units/U-1", kAdminKey).status, 404) << "nothing was written";

    doc["contacts"][1]["unit"] = "U-1";
    r = c.call("POST", "/api/v1/registry", kAdminKey, doc.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["units"]["created"], 1);
    EXPECT_EQ(r.json()["contacts"]["created"], 2);
    EXPECT_EQ(r.json()["sites"]["created"], 1);
    r = c.call("GET", "/api/v1/sites/CP-1", kAdminKey);
    EXPECT_EQ(r.json()["responsible"]["contacts"].size(), 2u);
}

TEST(RegistryHttp, ABridgeDeckIsALineKeptAndServedAsGeoJson) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.registry.max_geometry_points = 3;
    test_server srv(cfg);
    auto c = srv.client();
    const json deck{{"type", "LineString"}, {"coordinates", {{113.952, 22.508}, {113.947, 22.5035}, {113.94, 22.497}}}};
    json site{
        {"name", "深圳湾公路大桥"},
        {"domain", "bridge"},
        {"district", "南山区"},
        {"lat", 22.5035},
        {"lon", 113.947},
        {"geometry", deck}};
    auto r = c.call("PUT", "/api/v1/sites/BR-DECK", kAdminKey, site.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.json()["geometry"], deck);
    EXPECT_EQ(c.call("GET", "/api/v1/sites/BR-DECK", kAdminKey).json()["geometry"], deck);
    const json listed = c.call("GET", "/api/v1/sites", kAdminKey).json();
    ASSERT_EQ(listed["sites"].size(), 1u);
    EXPECT_EQ(listed["sites"][0]["geometry"], deck);
    // One vertex past registry.max_geometry_points, and a ring that does not close: 422, nothing changed.
    site["geometry"]["coordinates"].push_back({113.93, 22.49});
    r = c.call("PUT", "/api/v1/sites/BR-DECK", kAdminKey, site.dump());
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "validation_failed");
    site["geometry"] = {{"type", "Polygon"}, {"coordinates", {{{113.9, 22.5}, {113.91, 22.5}, {113.91, 22.51}}}}};
    EXPECT_EQ(c.call("PUT", "/api/v1/sites/BR-DECK", kAdminKey, site.dump()).status, 422);
    EXPECT_EQ(c.call("GET", "/api/v1/sites/BR-DECK", kAdminKey).json()["geometry"], deck);
    // Back to a point.
    site.erase("geometry");
    ASSERT_EQ(c.call("PUT", "/api/v1/sites/BR-DECK", kAdminKey, site.dump()).status, 200);
    EXPECT_TRUE(c.call("GET", "/api/v1/sites/BR-DECK", kAdminKey).json()["geometry"].is_null());
}
