// The scope matrix (issue 28): every operation of docs/openapi.json, called as the whole city,
// district A (福田区), district B (南山区), a gas-sector viewer, enterprise X (U-ACME) and an admin
// of district A; each sees and changes exactly its part, and the feed sends each exactly its
// alarms. An operation the table does not list fails the test: a new route comes with its row.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "../support/test_env.hpp"
#include "../support/ws_client.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::now_micros;
using nlohmann::json;

namespace {

struct place {
    std::string district, domain, unit;
};
// The city of the test: three sites, one sensor each, one emergency resource.
const std::map<std::string, place> kSites{
    {"FT-GAS", {"福田区", "gas_pipeline", "U-ACME"}},
    {"FT-BRIDGE", {"福田区", "bridge", ""}},
    {"NS-GAS", {"南山区", "gas_pipeline", "U-OTHER"}}};

struct caller {
    std::string name, role;
    json scope;
    std::string key{};
    bool covers(const std::string& site) const {
        const auto& p = kSites.at(site);
        const auto in = [&](const char* list, const std::string& v) {
            if (!scope.contains(list)) return true;
            for (const auto& x : scope[list])
                if (x == v) return true;
            return false;
        };
        if (scope.contains("units") && p.unit.empty()) return false;
        return in("districts", p.district) && in("domains", p.domain) && in("units", p.unit);
    }
    bool whole_city() const { return scope.empty(); }
    bool reads() const { return role != "gateway" && role != "monitor"; }
    bool acts() const { return role == "operator" || role == "enterprise" || role == "admin"; }
    bool admin() const { return role == "admin"; }
};

void load_city(http_client& c) {
    json body{
        {"units", json::array({{{"id", "U-ACME"}, {"name", "ACME 燃气"}}, {{"id", "U-OTHER"}, {"name", "Other"}}})},
        {"contacts",
         json::array(
             {{{"id", "C-ACME"},
               {"name", "ACME 安全员"},
               {"tier", "enterprise"},
               {"unit", "U-ACME"},
               {"channels", {"log"}}},
              {{"id", "C-OTHER"},
               {"name", "Other 安全员"},
               {"tier", "enterprise"},
               {"unit", "U-OTHER"},
               {"channels", {"log"}}},
              {{"id", "C-FT"},
               {"name", "福田街道"},
               {"tier", "district"},
               {"district", "福田区"},
               {"channels", {"log"}}},
              {{"id", "C-NS"},
               {"name", "南山街道"},
               {"tier", "district"},
               {"district", "南山区"},
               {"channels", {"log"}}},
              {{"id", "C-CITY"}, {"name", "市值班室"}, {"tier", "city"}, {"channels", {"log"}}}}
         )},
        {"resources",
         json::array(
             {{{"id", "R-1"},
               {"kind", "team"},
               {"name", "消防站"},
               {"district", "福田区"},
               {"lat", 22.54},
               {"lon", 114.05},
               {"team_kind", "fire"}}}
         )},
        {"sites", json::array()},
        {"sensors", json::array()}};
    const std::map<std::string, std::pair<double, double>> at{
        {"FT-GAS", {22.54, 114.05}}, {"FT-BRIDGE", {22.55, 114.06}}, {"NS-GAS", {22.53, 113.93}}};
    for (const auto& [id, p] : kSites) {
        json site{
            {"id", id},
            {"name", id},
            {"domain", p.domain},
            {"district", p.district},
            {"lat", at.at(id).first},
            {"lon", at.at(id).second}};
        if (!p.unit.empty()) site["unit"] = p.unit;
        body["sites"].push_back(site);
        json sensor{{"id", id + "-1"}, {"site", id}, {"interval_s", 30}};
        if (p.domain == "bridge") {
            sensor["kind"] = "deflection";
            sensor["unit"] = "mm";
            sensor["limits"] = {{"design", 10}};
        } else {
            sensor["kind"] = "gas_lel";
            sensor["unit"] = "%LEL";
        }
        body["sensors"].push_back(sensor);
    }
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, body.dump());
    if (r.status != 200) throw std::runtime_error("registry: " + r.body);
}

std::set<std::string> ids_of(const json& list, const char* member, const char* field = "id") {
    std::set<std::string> out;
    for (const auto& x : list[member]) out.insert(x[field].is_string() ? x[field].get<std::string>() : x[field].dump());
    return out;
}

// The operations in docs/openapi.json, "METHOD /path".
std::set<std::string> documented_operations() {
    std::ifstream in(CITYGUARD_SOURCE_DIR "/docs/openapi.json");
    const json doc = json::parse(in);
    std::set<std::string> out;
    for (const auto& [path, ops] : doc["paths"].items())
        for (const auto& [method, op] : ops.items()) {
            std::string m = method;
            for (auto& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            out.insert(m + " " + path);
        }
    return out;
}

}  // namespace

TEST(Scopes, EveryDocumentedOperationObeysEachScope) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.notifications_file =
        CITYGUARD_SOURCE_DIR "/config/notifications.json";  // red tells the enterprise: outbox rows
    test_server srv(cfg);
    auto c = srv.client();
    load_city(c);
    const auto now = now_micros();
    for (const auto& [site, p] : kSites)
        ASSERT_EQ(
            c.call("POST", "/api/v1/readings", kAdminKey, one_reading(site + "-1", now - 1'000'000, 60)).status, 200
        );
    std::map<std::string, std::string> alarm_of;  // site -> alarm id
    for (int i = 0; i < 100 && alarm_of.size() < 3; ++i) {
        const auto listed = c.call("GET", "/api/v1/alarms", kAdminKey).json();
        for (const auto& a : listed["alarms"]) alarm_of[a["site"]] = std::to_string(a["id"].get<std::int64_t>());
        if (alarm_of.size() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(alarm_of.size(), 3u);
    std::map<std::string, std::string> silence_of;  // district -> silence id
    for (const char* d : {"福田区", "南山区"}) {
        auto made = c.call(
            "POST",
            "/api/v1/silences",
            kAdminKey,
            json{{"district", d}, {"domain", "bridge"}, {"duration_s", 600}, {"reason", "drill"}}.dump()
        );
        ASSERT_EQ(made.status, 201) << made.body;
        silence_of[d] = std::to_string(made.json()["id"].get<std::int64_t>());
    }
    auto ns_user = c.call(
        "POST",
        "/api/v1/users",
        kAdminKey,
        R"({"login":"ns-person","display_name":"N","role":"operator","password":"Correct-Horse-9","scope":{"districts":["南山区"]}})"
    );
    ASSERT_EQ(ns_user.status, 201);
    const std::string ns_user_id = std::to_string(ns_user.json()["id"].get<std::int64_t>());

    std::vector<caller> callers{
        {"city", "operator", json::object()},
        {"ft", "operator", {{"districts", {"福田区"}}}},
        {"ns", "operator", {{"districts", {"南山区"}}}},
        {"gas", "viewer", {{"domains", {"gas_pipeline"}}}},
        {"acme", "enterprise", {{"units", {"U-ACME"}}}},
        {"ft-admin", "admin", {{"districts", {"福田区"}}}},
    };
    for (auto& who : callers) {
        auto r = c.call(
            "POST", "/api/v1/keys", kAdminKey, json{{"name", who.name}, {"role", who.role}, {"scope", who.scope}}.dump()
        );
        ASSERT_EQ(r.status, 201) << r.body;
        who.key = r.json()["key"];
    }
    const auto visible_sites = [&](const caller& who) {
        std::set<std::string> out;
        for (const auto& [site, p] : kSites)
            if (who.covers(site)) out.insert(site);
        return out;
    };
    // A read a role may make answers 200 within the scope, 404 outside it; a role that may not: 403.
    const auto item = [&](const caller& who,
                          const std::string& method,
                          const std::string& target,
                          const std::string& site,
                          bool role_ok,
                          const std::string& body = "") {
        const int status = c.call(method, target, who.key, body).status;
        const int expected = !role_ok ? 403 : who.covers(site) ? 200 : 404;
        EXPECT_EQ(status, expected) << who.name << " " << method << " " << target;
    };
    const auto city_only = [&](const caller& who,
                               const std::string& method,
                               const std::string& target,
                               bool role_ok,
                               int ok_status,
                               const std::string& body = "") {
        const int status = c.call(method, target, who.key, body).status;
        EXPECT_EQ(status, role_ok && who.whole_city() ? ok_status : 403) << who.name << " " << method << " " << target;
    };

    using check = std::function<void(const caller&)>;
    const std::map<std::string, check> matrix{
        // --- alarms
        {"GET /api/v1/alarms",
         [&](const caller& who) {
             const auto r = c.call("GET", "/api/v1/alarms", who.key);
             ASSERT_EQ(r.status, 200);
             EXPECT_EQ(ids_of(r.json(), "alarms", "site"), visible_sites(who)) << who.name;
         }},
        {"GET /api/v1/alarms/{id}",
         [&](const caller& who) {
             for (const auto& [site, id] : alarm_of) item(who, "GET", "/api/v1/alarms/" + id, site, true);
         }},
        {"GET /api/v1/alarms/{id}/resources",
         [&](const caller& who) {
             for (const auto& [site, id] : alarm_of)
                 item(who, "GET", "/api/v1/alarms/" + id + "/resources", site, true);
         }},
        {"POST /api/v1/alarms/{id}/comment",
         [&](const caller& who) {
             for (const auto& [site, id] : alarm_of)
                 item(who, "POST", "/api/v1/alarms/" + id + "/comment", site, who.acts(), R"({"note":"matrix"})");
         }},
        // The workflow steps are checked outside the scope only (404, nothing changes); inside it
        // the comment above stands for them (the same route class and check).
        {"POST /api/v1/alarms/{id}/acknowledge", {}},
        {"POST /api/v1/alarms/{id}/handle", {}},
        {"POST /api/v1/alarms/{id}/resolve", {}},
        {"POST /api/v1/alarms/{id}/close", {}},
        {"POST /api/v1/alarms/{id}/assign", {}},
        {"POST /api/v1/alarms/bulk",
         [&](const caller& who) {
             const json body{
                 {"action", "comment"},
                 {"note", "bulk"},
                 {"ids",
                  {std::stoll(alarm_of.at("FT-GAS")),
                   std::stoll(alarm_of.at("FT-BRIDGE")),
                   std::stoll(alarm_of.at("NS-GAS"))}}};
             const auto r = c.call("POST", "/api/v1/alarms/bulk", who.key, body.dump());
             if (!who.acts()) {
                 EXPECT_EQ(r.status, 403) << who.name;
                 return;
             }
             ASSERT_EQ(r.status, 200) << who.name;
             const json answer = r.json();
             std::size_t i = 0;
             for (const char* site : {"FT-GAS", "FT-BRIDGE", "NS-GAS"}) {
                 const auto& result = answer["results"][i++];
                 EXPECT_EQ(result.contains("error"), !who.covers(site)) << who.name << " bulk " << site;
             }
         }},
        {"GET /api/v1/overview",
         [&](const caller& who) {
             const auto r = c.call("GET", "/api/v1/overview", who.key);
             ASSERT_EQ(r.status, 200);
             json expected = json::object();
             for (const auto& site : visible_sites(who))
                 expected[kSites.at(site).domain] = expected.value(kSites.at(site).domain, 0) + 1;
             EXPECT_EQ(r.json()["sites_by_domain"], expected) << who.name;
         }},
        // --- registry
        {"GET /api/v1/sites",
         [&](const caller& who) {
             EXPECT_EQ(ids_of(c.call("GET", "/api/v1/sites", who.key).json(), "sites"), visible_sites(who)) << who.name;
         }},
        {"GET /api/v1/sites/{id}",
         [&](const caller& who) {
             for (const auto& [site, p] : kSites) item(who, "GET", "/api/v1/sites/" + site, site, true);
         }},
        {"GET /api/v1/domains",
         [&](const caller& who) {
             // Reference data: the same catalog for every scope.
             const auto r = c.call("GET", "/api/v1/domains", who.key);
             ASSERT_EQ(r.status, 200) << who.name;
             EXPECT_EQ(ids_of(r.json(), "domains").count("gas_pipeline"), 1u) << who.name;
         }},
        {"GET /api/v1/coverage",
         [&](const caller& who) {
             // The matrix city has no bundle site (People.EachCallerSeesTheDutyCoverageOfItsOwnBundleSites
             // has them): whatever is listed lies within the scope.
             const auto r = c.call("GET", "/api/v1/coverage", who.key);
             ASSERT_EQ(r.status, 200) << who.name;
             for (const auto& site : ids_of(r.json(), "sites", "site")) EXPECT_TRUE(who.covers(site)) << who.name;
         }},
        {"GET /api/v1/sites/{id}/coverage",
         [&](const caller& who) {
             // Coverage answers for bundle domains only (404 for pipelines and bridges): outside the
             // scope it must be 404 as well, never the coverage.
             for (const auto& [site, p] : kSites)
                 if (!who.covers(site)) {
                     EXPECT_EQ(c.call("GET", "/api/v1/sites/" + site + "/coverage", who.key).status, 404) << who.name;
                 }
         }},
        {"PUT /api/v1/sites/{id}",
         [&](const caller& who) {
             for (const auto& [site, p] : kSites) {
                 json body{
                     {"name", site}, {"domain", p.domain}, {"district", p.district}, {"lat", 22.5}, {"lon", 114.0}};
                 if (!p.unit.empty()) body["unit"] = p.unit;
                 const int status = c.call("PUT", "/api/v1/sites/" + site, who.key, body.dump()).status;
                 EXPECT_EQ(status, !who.admin() ? 403 : who.covers(site) ? 200 : 403) << who.name << " PUT " << site;
             }
         }},
        {"GET /api/v1/sensors",
         [&](const caller& who) {
             std::set<std::string> expected;
             for (const auto& site : visible_sites(who)) expected.insert(site + "-1");
             EXPECT_EQ(ids_of(c.call("GET", "/api/v1/sensors", who.key).json(), "sensors"), expected) << who.name;
         }},
        {"GET /api/v1/sensors/{id}",
         [&](const caller& who) {
             for (const auto& [site, p] : kSites) item(who, "GET", "/api/v1/sensors/" + site + "-1", site, true);
         }},
        {"GET /api/v1/sensors/{id}/readings",
         [&](const caller& who) {
             for (const auto& [site, p] : kSites)
                 item(who, "GET", "/api/v1/sensors/" + site + "-1/readings", site, true);
         }},
        {"PUT /api/v1/sensors/{id}",
         [&](const caller& who) {
             for (const auto& [site, p] : kSites) {
                 json body{
                     {"site", site},
                     {"kind", p.domain == "bridge" ? "deflection" : "gas_lel"},
                     {"unit", p.domain == "bridge" ? "mm" : "%LEL"},
                     {"interval_s", 30}};
                 if (p.domain == "bridge") body["limits"] = {{"design", 10}};
                 const int status = c.call("PUT", "/api/v1/sensors/" + site + "-1", who.key, body.dump()).status;
                 EXPECT_EQ(
                     status,
                     !who.admin()       ? 403
                     : who.covers(site) ? 200
                                        : 403
                 ) << who.name
                   << " PUT sensor " << site;
             }
         }},
        {"GET /api/v1/units",
         [&](const caller& who) {
             std::set<std::string> expected;
             for (const auto& site : visible_sites(who))
                 if (!kSites.at(site).unit.empty()) expected.insert(kSites.at(site).unit);
             EXPECT_EQ(ids_of(c.call("GET", "/api/v1/units", who.key).json(), "units"), expected) << who.name;
         }},
        {"GET /api/v1/units/{id}",
         [&](const caller& who) {
             item(who, "GET", "/api/v1/units/U-ACME", "FT-GAS", true);
             item(who, "GET", "/api/v1/units/U-OTHER", "NS-GAS", true);
         }},
        {"GET /api/v1/contacts",
         [&](const caller& who) {
             std::set<std::string> expected;
             if (who.covers("FT-GAS")) expected.insert("C-ACME");
             if (who.covers("NS-GAS")) expected.insert("C-OTHER");
             if (!who.scope.contains("units")) {
                 expected.insert("C-CITY");
                 for (const auto& [id, d] : std::map<std::string, std::string>{{"C-FT", "福田区"}, {"C-NS", "南山区"}})
                     if (!who.scope.contains("districts") || who.scope["districts"][0] == d) expected.insert(id);
             }
             EXPECT_EQ(ids_of(c.call("GET", "/api/v1/contacts", who.key).json(), "contacts"), expected) << who.name;
         }},
        {"GET /api/v1/contacts/{id}",
         [&](const caller& who) {
             item(who, "GET", "/api/v1/contacts/C-ACME", "FT-GAS", true);
             item(who, "GET", "/api/v1/contacts/C-OTHER", "NS-GAS", true);
         }},
        {"PUT /api/v1/units/{id}",
         [&](const caller& who) { city_only(who, "PUT", "/api/v1/units/U-NEW", who.admin(), 201, R"({"name":"n"})"); }},
        {"DELETE /api/v1/units/{id}",
         [&](const caller& who) { city_only(who, "DELETE", "/api/v1/units/U-NEW", who.admin(), 204); }},
        {"PUT /api/v1/contacts/{id}",
         [&](const caller& who) {
             city_only(
                 who,
                 "PUT",
                 "/api/v1/contacts/C-NEW",
                 who.admin(),
                 201,
                 R"({"name":"n","tier":"city","channels":["log"]})"
             );
         }},
        {"DELETE /api/v1/contacts/{id}",
         [&](const caller& who) { city_only(who, "DELETE", "/api/v1/contacts/C-NEW", who.admin(), 204); }},
        {"PUT /api/v1/resources/{id}",
         [&](const caller& who) {
             city_only(
                 who,
                 "PUT",
                 "/api/v1/resources/R-NEW",
                 who.admin(),
                 201,
                 R"({"kind":"shelter","name":"n","lat":22.5,"lon":114.0})"
             );
         }},
        {"DELETE /api/v1/resources/{id}",
         [&](const caller& who) { city_only(who, "DELETE", "/api/v1/resources/R-NEW", who.admin(), 204); }},
        {"POST /api/v1/registry",
         [&](const caller& who) { city_only(who, "POST", "/api/v1/registry", who.admin(), 200, R"({"units":[]})"); }},
        // Emergency resources serve every incident: readable city-wide.
        {"GET /api/v1/resources",
         [&](const caller& who) {
             EXPECT_EQ(
                 ids_of(c.call("GET", "/api/v1/resources", who.key).json(), "resources"), std::set<std::string>{"R-1"}
             );
         }},
        {"GET /api/v1/resources/nearby",
         [&](const caller& who) {
             EXPECT_EQ(c.call("GET", "/api/v1/resources/nearby?lat=22.54&lon=114.05", who.key).status, 200);
         }},
        {"GET /api/v1/resources/{id}",
         [&](const caller& who) { EXPECT_EQ(c.call("GET", "/api/v1/resources/R-1", who.key).status, 200); }},
        // --- readings: gateways only (their scope and binding: Scopes.AGatewayKeySends...)
        {"POST /api/v1/readings",
         [&](const caller& who) {
             const int status = c.call("POST", "/api/v1/readings", who.key, one_reading("FT-GAS-1", now, 1)).status;
             EXPECT_EQ(status, who.admin() ? 200 : 403) << who.name;
         }},
        {"POST /api/v1/events",
         [&](const caller& who) {
             // A video platform's callback: the same keys as readings (Evidence.* test scope and binding).
             const json event{
                 {"events",
                  {{{"sensor", "FT-GAS-1"},
                    {"ts", cityguard::util::format_rfc3339(now + 1'000)},
                    {"detected", false},
                    {"camera", "44030400001320000001"}}}}};
             const int status = c.call("POST", "/api/v1/events", who.key, event.dump()).status;
             EXPECT_EQ(status, who.admin() ? 200 : 403) << who.name;
         }},
        // --- statistics: every scope's figures over exactly its part of the city
        {"GET /api/v1/stats",
         [&](const caller& who) {
             const auto by_site = [&](const std::string& key) {
                 const auto r = c.call("GET", "/api/v1/stats?group_by=site", key);
                 EXPECT_EQ(r.status, 200) << who.name << ": " << r.body;
                 std::map<std::string, std::int64_t> raised;
                 const json table = r.json();
                 for (const auto& row : table["rows"]) raised[row["group"]] = row["alarms"]["raised"];
                 return raised;
             };
             const auto city = by_site(kAdminKey);
             auto mine = by_site(who.key);
             for (const auto& [site, p] : kSites) {
                 if (who.covers(site) && city.contains(site)) {
                     EXPECT_EQ(mine[site], city.at(site)) << who.name << " " << site;
                 } else {
                     EXPECT_FALSE(mine.contains(site)) << who.name << " sees figures of " << site;
                 }
             }
             std::int64_t covered = 0;
             for (const auto& [site, n] : city)
                 if (kSites.contains(site) && who.covers(site)) covered += n;
             const json total = c.call("GET", "/api/v1/stats", who.key).json();
             EXPECT_EQ(total["total"]["alarms"]["raised"], covered) << who.name;
             for (const auto& [site, p] : kSites) {
                 if (who.whole_city()) continue;
                 EXPECT_EQ(c.call("GET", "/api/v1/stats?site=" + site, who.key).status, who.covers(site) ? 200 : 404)
                     << who.name << " " << site;
             }
             if (who.scope.contains("districts")) {
                 EXPECT_EQ(
                     c.call(
                          "GET",
                          std::string("/api/v1/stats?district=") +
                              (who.scope["districts"][0] == "福田区" ? "南山区" : "福田区"),
                          who.key
                     )
                         .status,
                     404
                 );
             }
         }},
        {"GET /api/v1/stats/export",
         [&](const caller& who) {
             const auto r = c.call("GET", "/api/v1/stats/export?group_by=site", who.key);
             ASSERT_EQ(r.status, 200) << who.name;
             for (const auto& [site, p] : kSites) {
                 if (!who.covers(site)) {
                     EXPECT_EQ(r.body.find(site + ","), std::string::npos) << who.name << " exports " << site;
                 }
             }
         }},
        // --- notifications and silences
        {"GET /api/v1/notifications",
         [&](const caller& who) {
             const auto r = c.call("GET", "/api/v1/notifications", who.key);
             ASSERT_EQ(r.status, 200);
             const json listed = r.json();
             for (const auto& n : listed["notifications"]) {
                 const std::string alarm = std::to_string(n["alarm"].get<std::int64_t>());
                 std::string site;
                 for (const auto& [s, id] : alarm_of)
                     if (id == alarm) site = s;
                 EXPECT_TRUE(!site.empty() && who.covers(site)) << who.name << " sees a notice of alarm " << alarm;
             }
             if (who.whole_city()) {
                 EXPECT_FALSE(listed["notifications"].empty()) << "red alarms told their enterprises";
             }
         }},
        {"GET /api/v1/notifications/policy",
         [&](const caller& who) { EXPECT_EQ(c.call("GET", "/api/v1/notifications/policy", who.key).status, 200); }},
        {"GET /api/v1/silences",
         [&](const caller& who) {
             // Silences made by earlier rows come and go; each one listed must lie inside the scope,
             // and the two made for the test are listed exactly where they do.
             const auto listed = c.call("GET", "/api/v1/silences", who.key).json();
             const auto ids = ids_of(listed, "silences");
             for (const auto& x : listed["silences"]) {
                 const auto& m = x["matchers"];
                 if (who.scope.contains("districts")) {
                     EXPECT_EQ(m["district"], who.scope["districts"][0]) << who.name;
                 }
                 EXPECT_FALSE(who.scope.contains("units") || who.scope.contains("domains"))
                     << who.name << " sees " << x.dump();
             }
             for (const auto& [d, id] : silence_of) {
                 const bool in =
                     who.whole_city() || (who.scope.contains("districts") && who.scope["districts"][0] == d);
                 EXPECT_EQ(ids.count(id) == 1, in) << who.name << " silence of " << d;
             }
         }},
        {"GET /api/v1/silences/{id}",
         [&](const caller& who) {
             for (const auto& [d, id] : silence_of) {
                 const bool in =
                     who.whole_city() || (who.scope.contains("districts") && who.scope["districts"][0] == d);
                 EXPECT_EQ(c.call("GET", "/api/v1/silences/" + id, who.key).status, in ? 200 : 404)
                     << who.name << " silence " << d;
             }
         }},
        {"POST /api/v1/silences",
         [&](const caller& who) {
             const bool operate = who.role == "operator" || who.role == "admin";
             for (const char* d : {"福田区", "南山区"}) {
                 const bool in =
                     who.whole_city() || (who.scope.contains("districts") && who.scope["districts"][0] == d);
                 const int status = c.call(
                                         "POST",
                                         "/api/v1/silences",
                                         who.key,
                                         json{{"district", d}, {"duration_s", 60}, {"reason", "m"}}.dump()
                 )
                                        .status;
                 EXPECT_EQ(status, !operate ? 403 : in ? 201 : 403) << who.name << " silence in " << d;
             }
         }},
        {"DELETE /api/v1/silences/{id}",
         [&](const caller& who) {
             // Outside the scope only: ending is a write whose success is checked once, by the city.
             for (const auto& [d, id] : silence_of) {
                 const bool in =
                     who.whole_city() || (who.scope.contains("districts") && who.scope["districts"][0] == d);
                 const bool operate = who.role == "operator" || who.role == "admin";
                 if (!in) {
                     EXPECT_EQ(c.call("DELETE", "/api/v1/silences/" + id, who.key).status, operate ? 404 : 403)
                         << who.name;
                 }
             }
         }},
        // --- rules: the packs are the city's; replay and reload its admins'
        {"GET /api/v1/rules",
         [&](const caller& who) { EXPECT_EQ(c.call("GET", "/api/v1/rules", who.key).status, 200); }},
        {"GET /api/v1/bundles",
         [&](const caller& who) { EXPECT_EQ(c.call("GET", "/api/v1/bundles", who.key).status, 200); }},
        {"POST /api/v1/rules/reload",
         [&](const caller& who) { city_only(who, "POST", "/api/v1/rules/reload", who.admin(), 200); }},
        {"POST /api/v1/rules/replay",
         [&](const caller& who) {
             if (who.admin())
                 city_only(who, "POST", "/api/v1/rules/replay", true, 422, "{}");
             else
                 EXPECT_EQ(c.call("POST", "/api/v1/rules/replay", who.key, "{}").status, 403);
         }},
        {"GET /api/v1/storage", [&](const caller& who) { city_only(who, "GET", "/api/v1/storage", true, 200); }},
        {"GET /api/v1/upward", [&](const caller& who) { city_only(who, "GET", "/api/v1/upward", true, 200); }},
        {"POST /api/v1/storage/maintenance",
         [&](const caller& who) { city_only(who, "POST", "/api/v1/storage/maintenance", who.admin(), 200); }},
        // --- keys, people, audit: admins, within their scope
        {"GET /api/v1/keys",
         [&](const caller& who) {
             const auto r = c.call("GET", "/api/v1/keys", who.key);
             if (!who.admin()) {
                 EXPECT_EQ(r.status, 403);
                 return;
             }
             const json listed = r.json();
             for (const auto& k : listed["keys"]) EXPECT_EQ(k["scope"], json({{"districts", {"福田区"}}})) << k["name"];
         }},
        {"POST /api/v1/keys",
         [&](const caller& who) {
             const int status = c.call(
                                     "POST",
                                     "/api/v1/keys",
                                     who.key,
                                     R"({"name":"m-ns","role":"viewer","scope":{"districts":["南山区"]}})"
             )
                                    .status;
             EXPECT_EQ(status, 403) << who.name << ": nobody here covers Nanshan as admin";
         }},
        {"DELETE /api/v1/keys/{name}",
         [&](const caller& who) { EXPECT_EQ(c.call("DELETE", "/api/v1/keys/ns", who.key).status, 403) << who.name; }},
        {"GET /api/v1/users",
         [&](const caller& who) {
             const auto r = c.call("GET", "/api/v1/users", who.key);
             if (!who.admin()) {
                 EXPECT_EQ(r.status, 403);
                 return;
             }
             EXPECT_TRUE(r.json()["users"].empty()) << "the only account is Nanshan's";
         }},
        {"GET /api/v1/users/{id}",
         [&](const caller& who) {
             EXPECT_EQ(c.call("GET", "/api/v1/users/" + ns_user_id, who.key).status, who.admin() ? 404 : 403);
         }},
        {"PATCH /api/v1/users/{id}",
         [&](const caller& who) {
             EXPECT_EQ(
                 c.call("PATCH", "/api/v1/users/" + ns_user_id, who.key, R"({"disabled":true})").status,
                 who.admin() ? 404 : 403
             );
         }},
        {"DELETE /api/v1/users/{id}",
         [&](const caller& who) {
             EXPECT_EQ(c.call("DELETE", "/api/v1/users/" + ns_user_id, who.key).status, who.admin() ? 404 : 403);
         }},
        {"POST /api/v1/users",
         [&](const caller& who) {
             const int status =
                 c.call(
                      "POST",
                      "/api/v1/users",
                      who.key,
                      R"({"login":"x","display_name":"x","role":"viewer","password":"Correct-Horse-9","scope":{"districts":["南山区"]}})"
                 )
                     .status;
             EXPECT_EQ(status, 403) << who.name;
         }},
        {"GET /api/v1/audit", [&](const caller& who) { city_only(who, "GET", "/api/v1/audit", who.admin(), 200); }},
        {"GET /api/v1/audit/export",
         [&](const caller& who) { city_only(who, "GET", "/api/v1/audit/export", who.admin(), 200); }},
        {"GET /api/v1/audit/verify",
         [&](const caller& who) { city_only(who, "GET", "/api/v1/audit/verify", who.admin(), 200); }},
        // --- the caller's own session (keys have none to end or secure)
        {"GET /api/v1/session",
         [&](const caller& who) {
             EXPECT_EQ(c.call("GET", "/api/v1/session", who.key).json()["who"]["scope"], who.scope);
         }},
        {"DELETE /api/v1/session",
         [&](const caller& who) { EXPECT_EQ(c.call("DELETE", "/api/v1/session", who.key).status, 204); }},
        {"POST /api/v1/session", [&](const caller&) {}},  // anyone: sign-in (People.* tests)
        {"POST /api/v1/session/totp",
         [&](const caller& who) { EXPECT_EQ(c.call("POST", "/api/v1/session/totp", who.key).status, 403); }},
        {"POST /api/v1/session/totp/confirm",
         [&](const caller& who) {
             EXPECT_EQ(c.call("POST", "/api/v1/session/totp/confirm", who.key, R"({"code":"123456"})").status, 403);
         }},
        {"POST /api/v1/session/password",
         [&](const caller& who) {
             EXPECT_EQ(
                 c.call("POST", "/api/v1/session/password", who.key, R"({"current_password":"a","new_password":"b"})")
                     .status,
                 403
             );
         }},
        // --- no city data: the instance itself
        {"GET /api/v1/cluster",
         [&](const caller& who) {
             EXPECT_EQ(c.call("GET", "/api/v1/cluster", who.key).status, who.admin() ? 200 : 403);
         }},
        {"GET /metrics", [&](const caller&) {}},              // loopback: open (Metrics.* tests)
        {"GET /healthz", [&](const caller&) {}},              // anyone
        {"GET /readyz", [&](const caller&) {}},               // anyone
        {"GET /api/v1/openapi.json", [&](const caller&) {}},  // anyone
    };

    // Every documented operation has its row.
    std::vector<std::string> missing;
    for (const auto& op : documented_operations())
        if (!matrix.count(op)) missing.push_back(op);
    EXPECT_TRUE(missing.empty()) << "operations without a row in the scope matrix: " << json(missing).dump();

    for (const auto& who : callers)
        for (const auto& [op, run] : matrix) {
            SCOPED_TRACE(who.name + ": " + op);
            if (run) run(who);
        }
    // The workflow steps outside the scope: 404 for every role that may act, nothing changed.
    for (const auto& who : callers)
        for (const char* step : {"acknowledge", "handle", "resolve", "close", "assign"})
            for (const auto& [site, id] : alarm_of)
                if (!who.covers(site)) {
                    const int status = c.call("POST", "/api/v1/alarms/" + id + "/" + step, who.key, R"({})").status;
                    EXPECT_EQ(status, who.acts() ? 404 : 403) << who.name << " " << step << " " << site;
                }
    for (const auto& [site, id] : alarm_of)
        EXPECT_EQ(c.call("GET", "/api/v1/alarms/" + id, kAdminKey).json()["status"], "open") << site;

    // The feed: each person sees its own part in the snapshot and live.
    for (const auto& who : callers) {
        if (!who.reads()) continue;
        SCOPED_TRACE(who.name + ": feed");
        ws_client feed(srv.port(), who.key);
        ASSERT_TRUE(feed.next_of("authenticated"));
        feed.send({{"type", "subscribe"}});
        const auto snapshot = feed.next_of("snapshot");
        ASSERT_TRUE(snapshot);
        EXPECT_EQ(ids_of(*snapshot, "alarms", "site"), visible_sites(who));
        for (const auto& [site, id] : alarm_of)
            ASSERT_EQ(c.call("POST", "/api/v1/alarms/" + id + "/comment", kAdminKey, R"({"note":"live"})").status, 200);
        std::set<std::string> live;
        for (std::size_t i = 0; i < visible_sites(who).size(); ++i)
            if (auto e = feed.next_of("alarm_event")) live.insert((*e)["alarm"]["site"].get<std::string>());
        EXPECT_EQ(live, visible_sites(who));
        EXPECT_FALSE(feed.next_of("alarm_event", std::chrono::milliseconds(300))) << "nothing outside the scope";
    }
}
