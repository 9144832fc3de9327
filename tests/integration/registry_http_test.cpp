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
    EXPECT_EQ(srv.db().query_value("SELECT count(DISTINCT domain) FROM sites"), "6");
}
