#include <gtest/gtest.h>

#include <string>

#include "../support/test_env.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using nlohmann::json;

namespace {

void register_two_places(test_server& srv) {
    json doc{
        {"sites",
         json::array(
             {{{"id", "GS-1"},
               {"name", "梅林加油站"},
               {"domain", "gas_station"},
               {"district", "福田区"},
               {"lat", 22.57},
               {"lon", 114.05}},
              {{"id", "BR-1"},
               {"name", "南山大桥"},
               {"domain", "bridge"},
               {"district", "南山区"},
               {"lat", 22.5},
               {"lon", 113.9}}}
         )},
        {"sensors",
         json::array(
             {{{"id", "GS-1-LEL-1"}, {"site", "GS-1"}, {"kind", "gas_lel"}, {"unit", "%LEL"}, {"interval_s", 30}},
              {{"id", "GS-1-LEL-2"}, {"site", "GS-1"}, {"kind", "gas_lel"}, {"unit", "%LEL"}, {"interval_s", 30}},
              {{"id", "BR-1-DEF"},
               {"site", "BR-1"},
               {"kind", "deflection"},
               {"unit", "mm"},
               {"interval_s", 60},
               {"limits", {{"design", 80}}}}}
         )}};
    auto r = srv.client().call("POST", "/api/v1/registry", kAdminKey, doc.dump());
    ASSERT_EQ(r.status, 200) << r.body;
}

std::int64_t only_alarm(http_client& c, const std::string& sensor) {
    auto list = c.call("GET", "/api/v1/alarms?sensor=" + sensor, kAdminKey).json()["alarms"];
    EXPECT_EQ(list.size(), 1u) << sensor;
    return list.empty() ? 0 : list[0]["id"].get<std::int64_t>();
}

json row_of(const json& table, const std::string& group) {
    for (const auto& r : table["rows"])
        if (r["group"] == group) return r;
    ADD_FAILURE() << "no row " << group << " in " << table.dump();
    return json::object();
}

}  // namespace

TEST(StatsHttp, CountsRaisedHandledAndOverdueAlarmsByDistrict) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    register_two_places(srv);
    auto c = srv.client();
    const auto op = srv.make_key("duty-op", "operator");
    const auto now = cityguard::util::now_micros();
    ASSERT_EQ(
        c.call("POST", "/api/v1/readings", kAdminKey, one_reading("GS-1-LEL-1", now - 2'000'000, 60)).status, 200
    );
    ASSERT_EQ(
        c.call("POST", "/api/v1/readings", kAdminKey, one_reading("GS-1-LEL-2", now - 2'000'000, 30)).status, 200
    );
    ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, one_reading("GS-1-LEL-2", now - 2'000'000, 30)).status, 200)
        << "a repeat, not counted twice";
    ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, one_reading("BR-1-DEF", now - 2'000'000, 10)).status, 200);
    const auto first = only_alarm(c, "GS-1-LEL-1"), second = only_alarm(c, "GS-1-LEL-2");
    const std::string path = "/api/v1/alarms/" + std::to_string(first);
    ASSERT_EQ(c.call("POST", path + "/acknowledge", op, "{}").status, 200);
    // Still active: only an admin may close it, with force and a note.
    auto closed =
        c.call("POST", path + "/close", kAdminKey, R"({"reason":"false_alarm","note":"校准气体","force":true})");
    ASSERT_EQ(closed.status, 200) << closed.body;
    // The second alarm has waited nine hours, with no disposal deadline of its policy: overdue.
    srv.db().exec(
        "UPDATE alarms SET opened_at = now() - interval '9 hours', has_disposal_deadline = false WHERE id = " +
        std::to_string(second)
    );

    // Registered an hour ago: 2 × 3600 s / 30 s readings were expected from the gas sensors.
    srv.db().exec("UPDATE sensors SET created_at = now() - interval '1 hour'");

    auto r = c.call("GET", "/api/v1/stats?group_by=district", op);
    ASSERT_EQ(r.status, 200) << r.body;
    const auto table = r.json();
    EXPECT_EQ(table["time_zone"], "Asia/Shanghai");
    EXPECT_EQ(table["group_by"], "district");
    const auto futian = row_of(table, "福田区");
    EXPECT_EQ(futian["alarms"]["raised"], 2);
    EXPECT_EQ(futian["alarms"]["by_level"]["orange"], 1);
    EXPECT_EQ(futian["alarms"]["by_level"]["yellow"], 1);
    EXPECT_EQ(futian["alarms"]["closed"], 1);
    EXPECT_EQ(futian["alarms"]["false_alarm_share"], 1.0);
    EXPECT_EQ(futian["response"]["acknowledged"], 1);
    EXPECT_LE(futian["response"]["ack_median_s"].get<double>(), 60) << "acknowledged within the first minute";
    EXPECT_EQ(futian["disposal"]["disposed"], 1);
    EXPECT_EQ(futian["disposal"]["rate"], 1.0);
    EXPECT_EQ(futian["disposal"]["overdue_now"], 1);
    EXPECT_EQ(futian["sensors"]["total"], 2);
    EXPECT_EQ(futian["sensors"]["online_ratio"], 1.0);
    EXPECT_EQ(futian["readings"]["received"], 2.0) << "the repeated reading counts once";
    EXPECT_NEAR(futian["readings"]["expected"].get<double>(), 240, 2);
    EXPECT_NEAR(futian["readings"]["completeness"].get<double>(), 2.0 / 240, 0.001);
    const auto nanshan = row_of(table, "南山区");
    EXPECT_EQ(nanshan["alarms"]["raised"], 0);
    EXPECT_EQ(nanshan["readings"]["received"], 1.0);
    EXPECT_EQ(table["total"]["alarms"]["raised"], 2);
    EXPECT_EQ(table["total"]["sensors"]["total"], 3);
    ASSERT_EQ(table["top_sites"].size(), 1u);
    EXPECT_EQ(table["top_sites"][0]["site"], "GS-1");
    EXPECT_EQ(table["top_sites"][0]["name"], "梅林加油站");

    r = c.call("GET", "/api/v1/stats?group_by=day&domain=gas_station", op);
    ASSERT_EQ(r.status, 200) << r.body;
    const auto by_day = r.json();
    ASSERT_EQ(by_day["rows"].size(), 30u) << "the last 30 days, each of them";
    EXPECT_EQ(by_day["rows"][29]["group"], by_day["to"]);
    EXPECT_EQ(by_day["rows"][29]["alarms"]["raised"], 2);
    EXPECT_EQ(by_day["rows"][29]["sensors"], nullptr) << "sensors are counted by place, not by day";
    EXPECT_EQ(by_day["total"]["sensors"]["total"], 2) << "the domain filter applies";

    // By site: the months covered whole come from the monthly rollup, the days at the ends from
    // the daily one; both ways give the same count.
    for (const std::string range :
         {"from=2026-11-01&to=2026-12-31", "from=2026-10-15", "from=2026-12-01&to=2026-12-20"}) {
        r = c.call("GET", "/api/v1/stats?group_by=site&" + range, op);
        ASSERT_EQ(r.status, 200) << r.body;
        const auto by_site = r.json();
        const auto today = by_site["to"].get<std::string>();
        if (today < "2026-12-01" || by_site["from"].get<std::string>() > today) continue;  // the clock is elsewhere
        EXPECT_EQ(row_of(by_site, "GS-1")["alarms"]["raised"], 2) << range;
        EXPECT_EQ(row_of(by_site, "GS-1")["sensors"]["total"], 2) << range;
    }
    r = c.call("GET", "/api/v1/stats?site=GS-1", op);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["total"]["alarms"]["raised"], 2);
    EXPECT_EQ(r.json()["total"]["readings"], nullptr) << "readings are not counted by site";
    EXPECT_EQ(c.call("GET", "/api/v1/stats?site=GS-1&group_by=level", op).status, 400);

    // The site file gathers it all.
    r = c.call("GET", "/api/v1/sites/GS-1", op);
    ASSERT_EQ(r.status, 200) << r.body;
    const auto file = r.json();
    EXPECT_EQ(file["alarms"]["open"].size(), 1u);
    EXPECT_EQ(file["alarms"]["recent"].size(), 2u);
    EXPECT_EQ(file["stats"]["total"]["alarms"]["raised"], 2);
    EXPECT_TRUE(file["coverage"].is_object()) << "a gas station has the 8+8 bundle";
    EXPECT_TRUE(file["resources"]["resources"].is_object());
    for (const auto& sensor : file["sensors"]) {
        if (sensor["id"] == "GS-1-LEL-2") {
            EXPECT_EQ(sensor["state"]["alarm"], "yellow");
        }
        if (sensor["id"] == "GS-1-LEL-1") {
            EXPECT_EQ(sensor["state"]["alarm"], nullptr) << "its alarm is closed";
        }
    }
    r = c.call("GET", "/api/v1/sites/BR-1", op);
    EXPECT_EQ(r.json()["coverage"], nullptr) << "bridges have no bundle";

    r = c.call("GET", "/api/v1/stats?group_by=level", op);
    EXPECT_EQ(row_of(r.json(), "orange")["alarms"]["raised"], 1);
    EXPECT_EQ(row_of(r.json(), "yellow")["disposal"]["overdue_now"], 1);
}

TEST(StatsHttp, ExportsCsvAndRefusesBadParameters) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    register_two_places(srv);
    auto c = srv.client();
    auto r =
        c.call("GET", "/api/v1/stats/export?format=csv&group_by=district&from=2026-11-01&to=2026-11-30", kAdminKey);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["Content-Type"], "text/csv; charset=utf-8");
    EXPECT_EQ(
        r.headers["Content-Disposition"],
        "attachment; filename=\"cityguard-stats-2026-11-01-2026-11-30-by-district.csv\""
    );
    EXPECT_EQ(r.body.rfind("\xEF\xBB\xBF分组,报警数,红色(重大)", 0), 0u) << r.body.substr(0, 80);
    EXPECT_NE(r.body.find("\r\n南山区,0,"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\r\n合计,0,"), std::string::npos);
    r = c.call("GET", "/api/v1/stats/export?lang=en", kAdminKey);
    EXPECT_EQ(r.body.rfind("\xEF\xBB\xBFgroup,raised,red,", 0), 0u);

    for (const auto& [query, name] : std::vector<std::pair<std::string, std::string>>{
             {"group_by=year", "group_by"},
             {"from=2026-13-01", "from"},
             {"to=2026-02-30", "to"},
             {"from=2026-11-02&to=2026-11-01", "from"},
             {"from=2020-01-01&to=2026-11-01", "the range"},
             {"top=101", "top"},
             {"domain=moon", "domain"},
             {"district=%00", "query parameter 'district'"}}) {
        r = c.call("GET", "/api/v1/stats?" + query, kAdminKey);
        EXPECT_EQ(r.status, 400) << query << ": " << r.body;
        EXPECT_EQ(r.json()["error"]["message"].get<std::string>().rfind(name, 0), 0u) << query << ": " << r.body;
    }
    EXPECT_EQ(c.call("GET", "/api/v1/stats/export?format=xml", kAdminKey).status, 400);
    EXPECT_EQ(c.call("GET", "/api/v1/stats/export?lang=fr", kAdminKey).status, 400);
    EXPECT_EQ(c.call("GET", "/api/v1/stats", srv.make_key("gw", "gateway")).status, 403);
}

TEST(StatsHttp, AnotherTimeZoneRecountsTheDays) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    register_two_places(srv);
    auto c = srv.client();
    // 2026-11-30T20:00Z is 12-01 in Shanghai.
    const auto ts = *cityguard::util::parse_rfc3339("2026-11-30T20:00:00Z");
    ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, one_reading("BR-1-DEF", ts, 10)).status, 200);
    const std::string query = "/api/v1/stats?group_by=day&from=2026-11-30&to=2026-12-01";
    auto table = c.call("GET", query, kAdminKey).json();
    EXPECT_EQ(row_of(table, "2026-12-01")["readings"]["received"], 1.0);
    srv.cfg().stats.time_zone = "UTC";
    srv.restart();
    auto again = srv.client();
    table = again.call("GET", query, kAdminKey).json();
    EXPECT_EQ(table["time_zone"], "UTC");
    EXPECT_EQ(row_of(table, "2026-11-30")["readings"]["received"], 1.0) << "rebuilt in the new time zone";
    EXPECT_EQ(row_of(table, "2026-12-01")["readings"]["received"], 0.0);
}

// Statistics over a scope of several districts, several domains, or an enterprise's units: the
// figures cover exactly that part of the city (issue 28), read from the same rollups.
TEST(StatsHttp, EveryScopeCountsExactlyItsPart) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    json doc{
        {"units", json::array({{{"id", "U-1"}, {"name", "梅林油站公司"}}})},
        {"sites",
         json::array(
             {{{"id", "GS-1"},
               {"name", "梅林加油站"},
               {"domain", "gas_station"},
               {"district", "福田区"},
               {"unit", "U-1"},
               {"lat", 22.57},
               {"lon", 114.05}},
              {{"id", "GS-2"},
               {"name", "罗湖加油站"},
               {"domain", "gas_station"},
               {"district", "罗湖区"},
               {"lat", 22.55},
               {"lon", 114.13}},
              {{"id", "GP-3"},
               {"name", "南山燃气管网"},
               {"domain", "gas_pipeline"},
               {"district", "南山区"},
               {"lat", 22.5},
               {"lon", 113.9}}}
         )},
        {"sensors", json::array()}};
    for (const char* site : {"GS-1", "GS-2", "GP-3"})
        doc["sensors"].push_back(
            {{"id", std::string(site) + "-LEL"},
             {"site", site},
             {"kind", "gas_lel"},
             {"unit", "%LEL"},
             {"interval_s", 30}}
        );
    ASSERT_EQ(c.call("POST", "/api/v1/registry", kAdminKey, doc.dump()).status, 200);
    const auto now = cityguard::util::now_micros();
    for (const char* sensor : {"GS-1-LEL", "GS-2-LEL", "GP-3-LEL"})
        ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, one_reading(sensor, now - 1'000'000, 60)).status, 200);
    const auto key = [&](const std::string& name, const std::string& role, const json& scope) {
        auto r =
            c.call("POST", "/api/v1/keys", kAdminKey, json{{"name", name}, {"role", role}, {"scope", scope}}.dump());
        EXPECT_EQ(r.status, 201) << r.body;
        return r.json()["key"].get<std::string>();
    };
    const auto two_districts = key("ft-lh", "viewer", {{"districts", {"福田区", "罗湖区"}}});
    const auto two_domains = key("gas-desk", "viewer", {{"domains", {"gas_station", "bridge"}}});
    const auto enterprise = key("u1", "enterprise", {{"units", {"U-1"}}});
    const auto total = [&](const std::string& k, const std::string& query = "") {
        auto r = c.call("GET", "/api/v1/stats" + query, k);
        EXPECT_EQ(r.status, 200) << query << ": " << r.body;
        return r.json();
    };

    auto t = total(two_districts, "?group_by=district");
    EXPECT_EQ(t["total"]["alarms"]["raised"], 2);
    EXPECT_EQ(t["total"]["sensors"]["total"], 2);
    EXPECT_EQ(row_of(t, "罗湖区")["alarms"]["raised"], 1);
    for (const auto& row : t["rows"]) EXPECT_NE(row["group"], "南山区");
    EXPECT_EQ(total(two_districts, "?district=罗湖区")["total"]["alarms"]["raised"], 1);
    EXPECT_EQ(c.call("GET", "/api/v1/stats?district=南山区", two_districts).status, 404);
    EXPECT_EQ(c.call("GET", "/api/v1/stats?site=GP-3", two_districts).status, 404);

    t = total(two_domains, "?group_by=domain");
    EXPECT_EQ(t["total"]["alarms"]["raised"], 2);
    EXPECT_EQ(t["total"]["sensors"]["total"], 2);
    EXPECT_EQ(c.call("GET", "/api/v1/stats?domain=gas_pipeline", two_domains).status, 404);

    // An enterprise: its unit's sites only, from the per-site counts; readings are counted by
    // district and domain, so an enterprise's table leaves them out.
    t = total(enterprise);
    EXPECT_EQ(t["total"]["alarms"]["raised"], 1);
    EXPECT_EQ(t["total"]["sensors"]["total"], 1);
    EXPECT_EQ(t["total"]["readings"], nullptr);
    ASSERT_EQ(t["top_sites"].size(), 1u);
    EXPECT_EQ(t["top_sites"][0]["site"], "GS-1");
    t = total(enterprise, "?group_by=day");
    EXPECT_EQ(t["rows"].back()["alarms"]["raised"], 1);
    t = total(enterprise, "?group_by=site");
    ASSERT_EQ(t["rows"].size(), 1u);
    EXPECT_EQ(t["rows"][0]["group"], "GS-1");
    EXPECT_EQ(total(enterprise, "?site=GS-1")["total"]["alarms"]["raised"], 1);
    EXPECT_EQ(c.call("GET", "/api/v1/stats?site=GS-2", enterprise).status, 404);
    EXPECT_EQ(c.call("GET", "/api/v1/stats?group_by=level", enterprise).status, 400);
    auto csv = c.call("GET", "/api/v1/stats/export?group_by=site&lang=en", enterprise);
    ASSERT_EQ(csv.status, 200);
    EXPECT_NE(csv.body.find("GS-1"), std::string::npos);
    EXPECT_EQ(csv.body.find("GS-2"), std::string::npos);
    EXPECT_EQ(csv.body.find("GP-3"), std::string::npos);
}
