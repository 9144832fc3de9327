// People, sessions, scopes and the audit trail (issue 28), through the HTTP API of a real server.
#include "../support/people.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "../support/test_env.hpp"
#include "../support/ws_client.hpp"
#include "cityguard/auth/passwords.hpp"
#include "cityguard/util/crypto.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::now_micros;
using nlohmann::json;

namespace {

// Two districts, two domains, two enterprises: the city the scope tests look at.
void register_city(http_client& c) {
    json body{
        {"units", json::array({{{"id", "U-ACME"}, {"name", "ACME 燃气"}}, {{"id", "U-OTHER"}, {"name", "Other"}}})},
        {"sites",
         json::array(
             {{{"id", "FT-GAS"},
               {"name", "福田燃气"},
               {"domain", "gas_pipeline"},
               {"district", "福田区"},
               {"lat", 22.54},
               {"lon", 114.05},
               {"unit", "U-ACME"}},
              {{"id", "FT-BRIDGE"},
               {"name", "福田桥"},
               {"domain", "bridge"},
               {"district", "福田区"},
               {"lat", 22.55},
               {"lon", 114.06}},
              {{"id", "NS-GAS"},
               {"name", "南山燃气"},
               {"domain", "gas_pipeline"},
               {"district", "南山区"},
               {"lat", 22.53},
               {"lon", 113.93},
               {"unit", "U-OTHER"}}}
         )},
        {"sensors",
         json::array(
             {{{"id", "FT-GAS-1"}, {"site", "FT-GAS"}, {"kind", "gas_lel"}, {"unit", "%LEL"}, {"interval_s", 30}},
              {{"id", "FT-BRIDGE-1"},
               {"site", "FT-BRIDGE"},
               {"kind", "deflection"},
               {"unit", "mm"},
               {"interval_s", 30},
               {"limits", {{"design", 10}}}},
              {{"id", "NS-GAS-1"}, {"site", "NS-GAS"}, {"kind", "gas_lel"}, {"unit", "%LEL"}, {"interval_s", 30}}}
         )}};
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, body.dump());
    if (r.status != 200) throw std::runtime_error("registry not loaded: " + r.body);
}

// One open alarm on each of the three sites; returns their ids by site.
std::map<std::string, std::int64_t> raise_alarms(http_client& c) {
    const auto now = now_micros();
    for (const char* sensor : {"FT-GAS-1", "FT-BRIDGE-1", "NS-GAS-1"})
        if (c.call("POST", "/api/v1/readings", kAdminKey, one_reading(sensor, now - 1'000'000, 60)).status != 200)
            throw std::runtime_error("readings refused");
    std::map<std::string, std::int64_t> ids;
    for (int i = 0; i < 100 && ids.size() < 3; ++i) {
        const auto listed = c.call("GET", "/api/v1/alarms", kAdminKey).json();
        for (const auto& a : listed["alarms"]) ids[a["site"]] = a["id"];
        if (ids.size() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (ids.size() < 3) throw std::runtime_error("the alarms were not raised");
    return ids;
}

std::set<std::string> sites_of(const json& list, const char* member = "alarms", const char* field = "site") {
    std::set<std::string> out;
    for (const auto& x : list[member]) out.insert(x[field].get<std::string>());
    return out;
}

}  // namespace

TEST(People, AnAdminMakesAccountsWhoSignInAndOut) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    const auto id = make_user(c, {{"login", "ann"}, {"display_name", "Ann 安"}, {"role", "operator"}});
    auto shown = c.call("GET", "/api/v1/users/" + std::to_string(id), kAdminKey);
    ASSERT_EQ(shown.status, 200);
    EXPECT_EQ(shown.json()["display_name"], "Ann 安");
    EXPECT_EQ(shown.body.find("argon2"), std::string::npos) << "the password hash is never shown";
    EXPECT_EQ(shown.body.find(kPassword), std::string::npos);

    // The account's rules.
    const auto refused = [&](const json& body) {
        return c.call("POST", "/api/v1/users", kAdminKey, body.dump()).status;
    };
    EXPECT_EQ(refused({{"login", "bob"}, {"display_name", "B"}, {"role", "operator"}, {"password", "short"}}), 422);
    EXPECT_EQ(refused({{"login", "ann"}, {"display_name", "A"}, {"role", "operator"}, {"password", kPassword}}), 409);
    EXPECT_EQ(refused({{"login", "ent"}, {"display_name", "E"}, {"role", "enterprise"}, {"password", kPassword}}), 422)
        << "an enterprise user needs units";
    EXPECT_EQ(refused({{"login", "gw"}, {"display_name", "G"}, {"role", "gateway"}, {"password", kPassword}}), 422)
        << "machines have keys, not accounts";

    // Wrong credentials say nothing about which part was wrong.
    auto wrong = c.request(
        "POST",
        "/api/v1/session",
        R"({"login":"ann","password":"Wrong-Horse-9"})",
        {{"Content-Type", "application/json"}}
    );
    EXPECT_EQ(wrong.status, 401);
    auto nobody = c.request(
        "POST",
        "/api/v1/session",
        R"({"login":"nobody","password":"Wrong-Horse-9"})",
        {{"Content-Type", "application/json"}}
    );
    EXPECT_EQ(nobody.status, 401);
    EXPECT_EQ(wrong.json()["error"]["message"], nobody.json()["error"]["message"]);

    const auto ann = sign_in(c, "ann");
    EXPECT_EQ(
        c.request("GET", "/api/v1/session", "", {{"Cookie", ann.cookie}}).json()["who"]["display_name"], "Ann 安"
    );
    const std::string silence = R"({"domain":"bridge","duration_s":600,"reason":"drill"})";
    EXPECT_EQ(as(c, ann, "POST", "/api/v1/silences", silence).status, 201);
    EXPECT_EQ(as(c, ann, "GET", "/api/v1/users").status, 403) << "an operator does not manage people";
    EXPECT_EQ(c.call("GET", "/api/v1/users", kAdminKey).json()["users"].size(), 1u);

    // Signing out ends the session everywhere.
    EXPECT_EQ(as(c, ann, "DELETE", "/api/v1/session").status, 204);
    EXPECT_EQ(c.request("GET", "/api/v1/session", "", {{"Cookie", ann.cookie}}).status, 401);

    // Deleting the account ends its sessions; the last admin of the city stays.
    const auto again = sign_in(c, "ann");
    EXPECT_EQ(c.call("DELETE", "/api/v1/users/" + std::to_string(id), kAdminKey).status, 204);
    EXPECT_EQ(c.request("GET", "/api/v1/session", "", {{"Cookie", again.cookie}}).status, 401);
    EXPECT_EQ(c.call("DELETE", "/api/v1/users/" + std::to_string(id), kAdminKey).status, 404);
    const auto boss = make_user(c, {{"login", "boss"}, {"role", "admin"}});
    EXPECT_EQ(c.call("PATCH", "/api/v1/users/" + std::to_string(boss), kAdminKey, R"({"role":"viewer"})").status, 409)
        << "the last enabled admin of the whole city stays one";
}

TEST(People, ASecondFactorIsEnrolledConfirmedAndAskedFor) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.auth.require_totp_for = {"admin"};
    test_server srv(cfg);
    auto c = srv.client();
    make_user(c, {{"login", "boss"}, {"role", "admin"}});
    auto boss = sign_in(c, "boss");
    EXPECT_EQ(as(c, boss, "GET", "/api/v1/alarms").status, 403) << "an admin without a second factor only enrols";
    EXPECT_EQ(as(c, boss, "GET", "/api/v1/session").json()["who"]["must_enrol_second_factor"], true);
    auto begun = as(c, boss, "POST", "/api/v1/session/totp");
    ASSERT_EQ(begun.status, 201) << begun.body;
    const std::string secret = *cityguard::util::base32_decode(begun.json()["secret"].get<std::string>());
    EXPECT_NE(begun.json()["otpauth_uri"].get<std::string>().find("otpauth://totp/CityGuard:boss"), std::string::npos);
    EXPECT_EQ(as(c, boss, "POST", "/api/v1/session/totp/confirm", R"({"code":"000000"})").status, 422);
    const auto now_s = now_micros() / 1'000'000;
    auto confirmed =
        as(c,
           boss,
           "POST",
           "/api/v1/session/totp/confirm",
           json{{"code", cityguard::auth::totp_code(secret, now_s / 30)}}.dump());
    ASSERT_EQ(confirmed.status, 200) << confirmed.body;
    const auto codes = confirmed.json()["recovery_codes"];
    ASSERT_EQ(codes.size(), 10u);

    const auto attempt = [&](const json& body) {
        return c.request("POST", "/api/v1/session", body.dump(), {{"Content-Type", "application/json"}});
    };
    auto without = attempt({{"login", "boss"}, {"password", kPassword}});
    EXPECT_EQ(without.status, 401);
    EXPECT_EQ(without.json()["error"]["items"][0]["second_factor"], "totp");
    // The code used to confirm is spent; the next step's is good once.
    const auto next_code = cityguard::auth::totp_code(secret, now_s / 30 + 1);
    EXPECT_EQ(attempt({{"login", "boss"}, {"password", kPassword}, {"code", next_code}}).status, 201);
    EXPECT_EQ(attempt({{"login", "boss"}, {"password", kPassword}, {"code", next_code}}).status, 401) << "replayed";
    // A recovery code works once.
    const std::string recovery = codes[0];
    auto recovered = attempt({{"login", "boss"}, {"password", kPassword}, {"code", recovery}});
    EXPECT_EQ(recovered.status, 201);
    EXPECT_EQ(attempt({{"login", "boss"}, {"password", kPassword}, {"code", recovery}}).status, 401);
    const signed_in full{cookie_of(recovered), recovered.json()["csrf_token"]};
    EXPECT_EQ(as(c, full, "GET", "/api/v1/alarms").status, 200);
}

TEST(Audit, EveryChangeAndSignInIsOnAnAppendOnlyChainedRecord) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    make_user(c, {{"login", "eve"}, {"role", "operator"}});
    EXPECT_EQ(
        c.request(
             "POST",
             "/api/v1/session",
             R"({"login":"eve","password":"Wrong-Horse-9"})",
             {{"Content-Type", "application/json"}}
        ).status,
        401
    );
    auto eve = sign_in(c, "eve");
    ASSERT_EQ(
        as(c, eve, "POST", "/api/v1/silences", R"({"domain":"bridge","duration_s":600,"reason":"drill"})").status, 201
    );
    ASSERT_EQ(c.call("POST", "/api/v1/keys", kAdminKey, R"({"name":"gw-a","role":"gateway"})").status, 201);
    EXPECT_EQ(c.call("DELETE", "/api/v1/keys/gw-a", "not-a-key").status, 401);

    auto listed = c.call("GET", "/api/v1/audit?limit=50", kAdminKey);
    ASSERT_EQ(listed.status, 200) << listed.body;
    const auto entries = listed.json()["entries"];
    std::vector<std::string> seen;
    for (const auto& e : entries)
        seen.push_back(
            e["actor"].get<std::string>() + " " + e["action"].get<std::string>() + " " +
            std::to_string(e["status"].get<int>())
        );
    const auto has = [&](const std::string& line) { return std::find(seen.begin(), seen.end(), line) != seen.end(); };
    EXPECT_TRUE(has("admin POST /api/v1/users 201"));
    EXPECT_TRUE(has("anonymous POST /api/v1/session 401")) << "a failed sign-in";
    EXPECT_TRUE(has("user:eve POST /api/v1/session 201")) << "a sign-in names who signed in";
    EXPECT_TRUE(has("user:eve POST /api/v1/silences 201"));
    EXPECT_TRUE(has("admin POST /api/v1/keys 201"));
    EXPECT_FALSE(has("anonymous DELETE /api/v1/keys/{name} 401")) << "unknown callers are noise, not record";
    EXPECT_EQ(listed.body.find(kPassword), std::string::npos) << "no password on record";
    EXPECT_EQ(listed.body.find("Wrong-Horse-9"), std::string::npos);
    EXPECT_EQ(entries[0]["client"], "127.0.0.1");
    EXPECT_EQ(c.call("GET", "/api/v1/audit?actor=user:eve", kAdminKey).json()["entries"].size(), 2u);
    auto csv = c.call("GET", "/api/v1/audit/export", kAdminKey);
    ASSERT_EQ(csv.status, 200);
    EXPECT_EQ(csv.body.rfind("seq,at,actor,user_id,client,action,target,status,detail,hash\r\n", 0), 0u);

    auto verified = c.call("GET", "/api/v1/audit/verify", kAdminKey).json();
    EXPECT_EQ(verified["ok"], true) << verified.dump();
    EXPECT_EQ(verified["rows"], 5) << "user, failed and good sign-in, silence, key";

    // Append-only even for the table's owner; a superuser who forces a change breaks the chain.
    EXPECT_THROW(srv.db().exec("UPDATE audit_log SET status = 200 WHERE status = 401"), std::exception);
    EXPECT_THROW(srv.db().exec("DELETE FROM audit_log"), std::exception);
    srv.db().exec(
        "ALTER TABLE audit_log DISABLE TRIGGER USER; "
        "UPDATE audit_log SET actor = 'somebody-else' WHERE seq = 2; "
        "ALTER TABLE audit_log ENABLE TRIGGER USER"
    );
    verified = c.call("GET", "/api/v1/audit/verify", kAdminKey).json();
    EXPECT_EQ(verified["ok"], false);
    EXPECT_EQ(verified["broken_at"], 2);
}

TEST(Scopes, EachCallerSeesAndChangesOnlyItsPartOfTheCity) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    register_city(c);
    const auto ids = raise_alarms(c);
    const auto key = [&](const std::string& name, const json& scope, const std::string& role = "operator") {
        auto r =
            c.call("POST", "/api/v1/keys", kAdminKey, json{{"name", name}, {"role", role}, {"scope", scope}}.dump());
        if (r.status != 201) throw std::runtime_error(r.body);
        return r.json()["key"].get<std::string>();
    };
    const auto futian = key("ft-op", {{"districts", {"福田区"}}});
    const auto gas = key("gas-desk", {{"domains", {"gas_pipeline"}}}, "viewer");
    const auto acme = key("acme", {{"units", {"U-ACME"}}}, "enterprise");

    EXPECT_EQ(sites_of(c.call("GET", "/api/v1/alarms", futian).json()), (std::set<std::string>{"FT-GAS", "FT-BRIDGE"}));
    EXPECT_EQ(sites_of(c.call("GET", "/api/v1/alarms", gas).json()), (std::set<std::string>{"FT-GAS", "NS-GAS"}));
    EXPECT_EQ(sites_of(c.call("GET", "/api/v1/alarms", acme).json()), (std::set<std::string>{"FT-GAS"}));
    EXPECT_EQ(
        sites_of(c.call("GET", "/api/v1/sites", futian).json(), "sites", "id"),
        (std::set<std::string>{"FT-GAS", "FT-BRIDGE"})
    );
    EXPECT_EQ(
        sites_of(c.call("GET", "/api/v1/sensors", acme).json(), "sensors", "id"), (std::set<std::string>{"FT-GAS-1"})
    );
    EXPECT_EQ(
        sites_of(c.call("GET", "/api/v1/units", futian).json(), "units", "id"), (std::set<std::string>{"U-ACME"})
    );

    // Outside the scope looks like nothing at all.
    const std::string nanshan_alarm = std::to_string(ids.at("NS-GAS"));
    EXPECT_EQ(c.call("GET", "/api/v1/alarms/" + nanshan_alarm, futian).status, 404);
    EXPECT_EQ(c.call("GET", "/api/v1/alarms/" + nanshan_alarm + "/resources", futian).status, 404);
    EXPECT_EQ(c.call("POST", "/api/v1/alarms/" + nanshan_alarm + "/acknowledge", futian, "{}").status, 404);
    EXPECT_EQ(c.call("GET", "/api/v1/sites/NS-GAS", futian).status, 404);
    EXPECT_EQ(c.call("GET", "/api/v1/sensors/NS-GAS-1", futian).status, 404);
    EXPECT_EQ(c.call("GET", "/api/v1/sensors/NS-GAS-1/readings", futian).status, 404);
    EXPECT_EQ(c.call("GET", "/api/v1/sites/NS-GAS/coverage", acme).status, 404);
    EXPECT_EQ(c.call("GET", "/api/v1/units/U-OTHER", acme).status, 404);
    // Inside it, work goes on; the enterprise acknowledges its own alarm.
    EXPECT_EQ(c.call("GET", "/api/v1/sites/FT-GAS", acme).status, 200);
    EXPECT_EQ(
        c.call("POST", "/api/v1/alarms/" + std::to_string(ids.at("FT-GAS")) + "/acknowledge", acme, "{}").status, 200
    );
    EXPECT_EQ(c.call("POST", "/api/v1/alarms/" + std::to_string(ids.at("FT-GAS")) + "/handle", gas, "{}").status, 403)
        << "a viewer reads";

    // Counts cover the scope only.
    auto overview = c.call("GET", "/api/v1/overview", futian).json();
    EXPECT_EQ(overview["sites_by_domain"], (json{{"bridge", 1}, {"gas_pipeline", 1}}));
    EXPECT_EQ(c.call("GET", "/api/v1/overview", acme).json()["sites_by_domain"], (json{{"gas_pipeline", 1}}));
    EXPECT_EQ(c.call("GET", "/api/v1/stats?district=南山区", futian).status, 404);
    EXPECT_EQ(c.call("GET", "/api/v1/stats", futian).status, 200);

    // Silences: only within the scope.
    EXPECT_EQ(
        c.call("POST", "/api/v1/silences", futian, R"({"domain":"bridge","duration_s":60,"reason":"x"})").status, 403
    );
    EXPECT_EQ(
        c.call(
             "POST",
             "/api/v1/silences",
             futian,
             R"({"district":"福田区","domain":"bridge","duration_s":60,"reason":"x"})"
        )
            .status,
        201
    );
    EXPECT_EQ(
        c.call("POST", "/api/v1/silences", kAdminKey, R"({"district":"南山区","duration_s":60,"reason":"x"})").status,
        201
    );
    EXPECT_EQ(c.call("GET", "/api/v1/silences", futian).json()["silences"].size(), 1u);

    // Keys: nobody hands out more than they cover.
    const auto ft_admin = key("ft-admin", {{"districts", {"福田区"}}}, "admin");
    EXPECT_EQ(c.call("POST", "/api/v1/keys", ft_admin, R"({"name":"x","role":"operator"})").status, 403);
    EXPECT_EQ(
        c.call("POST", "/api/v1/keys", ft_admin, R"({"name":"x","role":"operator","scope":{"districts":["福田区"]}})")
            .status,
        201
    );
    EXPECT_EQ(
        c.call(
             "PUT",
             "/api/v1/sites/NS-GAS",
             ft_admin,
             R"({"name":"n","domain":"gas_pipeline","district":"南山区","lat":22.5,"lon":113.9})"
        )
            .status,
        403
    );
    EXPECT_EQ(c.call("POST", "/api/v1/rules/reload", ft_admin).status, 403);
    EXPECT_EQ(c.call("GET", "/api/v1/audit", ft_admin).status, 403);
}

TEST(Scopes, AGatewayKeySendsForItsBindingOnlyAndLosesNothingElse) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    register_city(c);
    auto made = c.call(
        "POST", "/api/v1/keys", kAdminKey, R"({"name":"gw-ft","role":"gateway","binding":{"sites":["FT-GAS"]}})"
    );
    ASSERT_EQ(made.status, 201) << made.body;
    const std::string gw = made.json()["key"];
    EXPECT_EQ(
        c.call("POST", "/api/v1/keys", kAdminKey, R"({"name":"op-b","role":"operator","binding":{"sites":["FT-GAS"]}})")
            .status,
        422
    );
    const auto now = now_micros();
    using cityguard::util::format_rfc3339;
    json batch{
        {"readings",
         json::array(
             {{{"sensor", "FT-GAS-1"}, {"ts", format_rfc3339(now - 2'000'000)}, {"value", 1}},
              {{"sensor", "NS-GAS-1"}, {"ts", format_rfc3339(now - 2'000'000)}, {"value", 1}},
              {{"sensor", "FT-GAS-1"}, {"ts", format_rfc3339(now - 1'000'000)}, {"value", 2}}}
         )}};
    auto r = c.call("POST", "/api/v1/readings", gw, batch.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["accepted"], 2);
    ASSERT_EQ(r.json()["rejected"].size(), 1u);
    EXPECT_EQ(r.json()["rejected"][0]["index"], 1);
    EXPECT_EQ(r.json()["rejected"][0]["error"], "forbidden");
}

TEST(Scopes, TheFeedSendsADistrictOnlyItsOwnAlarms) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    register_city(c);
    make_user(c, {{"login", "fiona"}, {"role", "operator"}, {"scope", {{"districts", {"福田区"}}}}});
    auto fiona = sign_in(c, "fiona");
    const auto ids = raise_alarms(c);

    ws_client feed(srv.port(), "", true, {{"Cookie", fiona.cookie}});
    ASSERT_TRUE(feed.next_of("authenticated"));
    feed.send({{"type", "subscribe"}});
    auto snapshot = feed.next_of("snapshot");
    ASSERT_TRUE(snapshot);
    EXPECT_EQ(sites_of(*snapshot), (std::set<std::string>{"FT-GAS", "FT-BRIDGE"}));
    // Live: an event in Nanshan is not sent; one in Futian is.
    ASSERT_EQ(
        c.call("POST", "/api/v1/alarms/" + std::to_string(ids.at("NS-GAS")) + "/acknowledge", kAdminKey, "{}").status,
        200
    );
    ASSERT_EQ(
        c.call("POST", "/api/v1/alarms/" + std::to_string(ids.at("FT-BRIDGE")) + "/acknowledge", kAdminKey, "{}")
            .status,
        200
    );
    auto event = feed.next_of("alarm_event");
    ASSERT_TRUE(event);
    EXPECT_EQ((*event)["alarm"]["site"], "FT-BRIDGE");

    // A page of another site cannot open the feed on the cookie.
    ws_client hijack(srv.port(), "", true, {{"Cookie", fiona.cookie}, {"Origin", "http://evil.example"}});
    EXPECT_EQ(hijack.wait_closed(), 4401);
}

TEST(People, AlarmWorkIsDoneByNamedPeopleWithinTheirScope) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    register_city(c);
    const auto ids = raise_alarms(c);
    const auto lead_id = make_user(
        c,
        {{"login", "ft-lead"},
         {"display_name", "福田组长"},
         {"role", "operator"},
         {"scope", {{"districts", {"福田区"}}}}}
    );
    make_user(c, {{"login", "ns-duty"}, {"role", "operator"}, {"scope", {{"districts", {"南山区"}}}}});
    make_user(c, {{"login", "wall"}, {"role", "viewer"}});
    auto lead = sign_in(c, "ft-lead");
    const std::string gas = "/api/v1/alarms/" + std::to_string(ids.at("FT-GAS"));

    // A comment is on record and changes nothing else.
    auto commented = as(c, lead, "POST", gas + "/comment", R"({"note":"已电话联系站长"})");
    ASSERT_EQ(commented.status, 200) << commented.body;
    EXPECT_EQ(commented.json()["status"], "open");
    EXPECT_EQ(as(c, lead, "POST", gas + "/comment", "{}").status, 422) << "a comment needs a note";

    // An assignee must be able to see and act on the alarm.
    EXPECT_EQ(as(c, lead, "POST", gas + "/assign", R"({"user":"ns-duty"})").status, 422) << "outside their district";
    EXPECT_EQ(as(c, lead, "POST", gas + "/assign", R"({"user":"wall"})").status, 422) << "a viewer does not act";
    EXPECT_EQ(as(c, lead, "POST", gas + "/assign", R"({"user":"nobody-here"})").status, 422);
    auto assigned = as(c, lead, "POST", gas + "/assign", R"({"user":"ft-lead","note":"我来跟进"})");
    ASSERT_EQ(assigned.status, 200) << assigned.body;
    EXPECT_EQ(assigned.json()["assignee"], "ft-lead");

    // The history names the person, with their display name.
    const auto detail = as(c, lead, "GET", gas).json();
    std::map<std::string, json> by_type;
    for (const auto& e : detail["events"]) by_type[e["type"]] = e;
    ASSERT_TRUE(by_type.count("commented") && by_type.count("assigned"));
    EXPECT_EQ(by_type["commented"]["actor"], "user:ft-lead");
    EXPECT_EQ(by_type["commented"]["actor_name"], "福田组长");
    EXPECT_EQ(by_type["commented"]["actor_user"], lead_id);
    EXPECT_EQ(by_type["assigned"]["note"], "user:ft-lead — 我来跟进");
    // The event keeps the name the person had when they acted.
    ASSERT_EQ(
        c.call("PATCH", "/api/v1/users/" + std::to_string(lead_id), kAdminKey, R"({"display_name":"福田副组长"})")
            .status,
        200
    );
    lead = sign_in(c, "ft-lead");
    const json renamed = as(c, lead, "GET", gas).json();
    for (const auto& e : renamed["events"])
        if (e["type"] == "commented") {
            EXPECT_EQ(e["actor_name"], "福田组长");
        }

    // Bulk acknowledge: each alarm its own event; one outside the scope (or unknown) refused alone.
    const json bulk{
        {"action", "acknowledge"},
        {"ids", {ids.at("FT-GAS"), ids.at("FT-BRIDGE"), ids.at("NS-GAS"), 999999}},
        {"note", "批量签收"}};
    auto done = as(c, lead, "POST", "/api/v1/alarms/bulk", bulk.dump());
    ASSERT_EQ(done.status, 200) << done.body;
    EXPECT_EQ(done.json()["done"], 2);
    const auto results = done.json()["results"];
    EXPECT_EQ(results[0]["status"], "acknowledged");
    EXPECT_EQ(results[1]["status"], "acknowledged");
    EXPECT_EQ(results[2]["error"]["code"], "not_found") << "Nanshan's alarm is not Futian's to see";
    EXPECT_EQ(results[3]["error"]["code"], "not_found");
    EXPECT_EQ(c.call("GET", "/api/v1/alarms/" + std::to_string(ids.at("NS-GAS")), kAdminKey).json()["status"], "open");
    const auto bridge = c.call("GET", "/api/v1/alarms/" + std::to_string(ids.at("FT-BRIDGE")), kAdminKey).json();
    bool acked_by_lead = false;
    for (const auto& e : bridge["events"]) acked_by_lead |= e["type"] == "acknowledged" && e["actor"] == "user:ft-lead";
    EXPECT_TRUE(acked_by_lead);
    EXPECT_EQ(as(c, lead, "POST", "/api/v1/alarms/bulk", R"({"action":"handle","ids":[1]})").status, 422);
    EXPECT_EQ(as(c, lead, "POST", "/api/v1/alarms/bulk", R"({"action":"acknowledge","ids":[]})").status, 422);
}

// The enterprise tier of escalation is people: a contact linked to an enterprise user shows who
// was told, and that person signs in and acknowledges, which stops the escalation.
TEST(People, TheEnterpriseTierIsPeopleWhoSignInAndActSoEscalationStops) {
    CITYGUARD_REQUIRE_DB();
    const auto policy =
        std::filesystem::temp_directory_path() / ("cityguard-people-policy-" + std::to_string(::getpid()) + ".json");
    {
        json levels = json::array();
        for (const char* level : {"red", "orange", "yellow", "blue"})
            levels.push_back(
                {{"level", level},
                 {"notify", json::array({"enterprise"})},
                 {"ack_deadline_s", 2},
                 {"disposal_deadline_s", nullptr}}
            );
        std::ofstream(policy) << json{{"channels", {{"log", {{"type", "log"}}}}}, {"policies", levels}}.dump();
    }
    auto cfg = test_config("");
    cfg.notifications_file = policy.string();
    cfg.alarms.tick_ms = 100;
    cfg.notifications.poll_ms = 100;
    test_server srv(cfg);
    auto c = srv.client();
    register_city(c);
    const json contacts{
        {"contacts",
         {{{"id", "C-ACME"}, {"name", "王安全"}, {"tier", "enterprise"}, {"unit", "U-ACME"}, {"channels", {"log"}}},
          {{"id", "C-OTHER"}, {"name", "李安全"}, {"tier", "enterprise"}, {"unit", "U-OTHER"}, {"channels", {"log"}}},
          {{"id", "C-FT"},
           {"name", "福田区值班"},
           {"tier", "district"},
           {"district", "福田区"},
           {"channels", {"log"}}}}}};
    ASSERT_EQ(c.call("POST", "/api/v1/registry", kAdminKey, contacts.dump()).status, 200);

    // A person is only a contact their own scope covers, and one that exists.
    const json acme{{"units", {"U-ACME"}}};
    for (const char* wrong : {"C-OTHER", "C-FT", "C-NONE"}) {
        json body{
            {"login", "wang"},
            {"display_name", "王安全"},
            {"role", "enterprise"},
            {"scope", acme},
            {"contact", wrong},
            {"password", kPassword}};
        auto r = c.call("POST", "/api/v1/users", kAdminKey, body.dump());
        EXPECT_EQ(r.status, 422) << wrong << ": " << r.body;
    }
    const auto wang_id = make_user(
        c,
        {{"login", "wang"}, {"display_name", "王安全"}, {"role", "enterprise"}, {"scope", acme}, {"contact", "C-ACME"}}
    );
    const std::string wang_path = "/api/v1/users/" + std::to_string(wang_id);
    EXPECT_EQ(c.call("PATCH", wang_path, kAdminKey, R"({"contact":"C-FT"})").status, 422);
    EXPECT_EQ(c.call("PATCH", wang_path, kAdminKey, R"({"scope":{"units":["U-OTHER"]}})").status, 422)
        << "a new scope must still cover the contact kept";
    EXPECT_EQ(c.call("GET", wang_path, kAdminKey).json()["contact"], "C-ACME");

    // The alarm tells the enterprise tier: the notification names the person behind the contact.
    const auto ids = raise_alarms(c);
    const std::string gas = "/api/v1/alarms/" + std::to_string(ids.at("FT-GAS"));
    json told;
    for (int i = 0; i < 100 && told.empty(); ++i) {
        const json detail = c.call("GET", gas, kAdminKey).json();
        for (const auto& n : detail["notifications"])
            if (n["contact"]["id"] == "C-ACME") told = n;
        if (told.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(told.empty());
    EXPECT_EQ(told["contact"]["people"], json::array({{{"id", wang_id}, {"display_name", "王安全"}}}));

    // The person signs in and acknowledges before the deadline: no next tier, no second notice.
    auto wang = sign_in(c, "wang");
    auto acked = as(c, wang, "POST", gas + "/acknowledge", R"({"note":"已到场"})");
    ASSERT_EQ(acked.status, 200) << acked.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    const json after = c.call("GET", gas, kAdminKey).json();
    EXPECT_EQ(after["notification"]["told"], json::array({"enterprise"}));
    std::size_t escalations = 0;
    for (const auto& e : after["events"]) escalations += e["type"] == "escalated_to";
    EXPECT_EQ(escalations, 0u);
    bool acked_by_wang = false;
    for (const auto& e : after["events"])
        acked_by_wang |= e["type"] == "acknowledged" && e["actor_user"] == wang_id && e["actor_name"] == "王安全";
    EXPECT_TRUE(acked_by_wang);
    // Nanshan's alarm, never acknowledged, went on to the next tier: the deadline was live.
    const json other = c.call("GET", "/api/v1/alarms/" + std::to_string(ids.at("NS-GAS")), kAdminKey).json();
    const auto& other_told = other["notification"]["told"];
    EXPECT_NE(std::find(other_told.begin(), other_told.end(), "district"), other_told.end()) << other.dump();
    std::filesystem::remove(policy);
}

// "My duties": the coverage overview lists the bundle sites of the caller's part of the city,
// whether each meets its monitoring duty, in pages.
TEST(People, EachCallerSeesTheDutyCoverageOfItsOwnBundleSites) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    json sites = json::array();
    const auto site = [&](const char* id, const char* domain, const char* district, const char* unit) {
        sites.push_back(
            {{"id", id},
             {"name", id},
             {"domain", domain},
             {"district", district},
             {"lat", 22.5},
             {"lon", 114.0},
             {"unit", unit}}
        );
    };
    site("GS-A", "gas_station", "福田区", "U-ACME");
    site("CP-A", "chemical_plant", "福田区", "U-ACME");
    site("GS-B", "gas_station", "南山区", "U-OTHER");
    site("BR-A", "bridge", "福田区", "U-ACME");
    json sensors = json::array();
    const auto sensor = [&](const std::string& id, const char* at, const char* kind) {
        sensors.push_back({{"id", id}, {"site", at}, {"kind", kind}, {"unit", "-"}, {"interval_s", 60}});
    };
    sensor("GS-A-LEL", "GS-A", "gas_lel");
    sensor("GS-B-LEL", "GS-B", "gas_lel");
    for (const char* kind :
         {"video.fire_smoke", "video.smoking", "video.phone_use", "video.no_ppe", "video.off_duty", "gas_lel"})
        sensor(std::string("CP-A-") + kind, "CP-A", kind);
    const json doc{
        {"units", json::array({{{"id", "U-ACME"}, {"name", "ACME"}}, {{"id", "U-OTHER"}, {"name", "Other"}}})},
        {"sites", sites},
        {"sensors", sensors}};
    ASSERT_EQ(c.call("POST", "/api/v1/registry", kAdminKey, doc.dump()).status, 200);
    ASSERT_EQ(
        c.call("POST", "/api/v1/readings", kAdminKey, one_reading("GS-A-LEL", now_micros() - 1'000'000, 60)).status, 200
    );

    make_user(c, {{"login", "acme-staff"}, {"role", "enterprise"}, {"scope", {{"units", {"U-ACME"}}}}});
    make_user(c, {{"login", "ns-duty"}, {"role", "operator"}, {"scope", {{"districts", {"南山区"}}}}});
    auto acme = sign_in(c, "acme-staff");
    auto ns = sign_in(c, "ns-duty");

    const json mine = as(c, acme, "GET", "/api/v1/coverage").json();
    EXPECT_EQ(sites_of(mine, "sites"), (std::set<std::string>{"CP-A", "GS-A"})) << "not the bridge: no bundle";
    std::map<std::string, json> by_site;
    for (const auto& s : mine["sites"]) by_site[s["site"]] = s;
    EXPECT_EQ(by_site["CP-A"]["bundle"]["id"], "5+1");
    EXPECT_TRUE(by_site["CP-A"]["duty_met"]) << by_site["CP-A"].dump();
    EXPECT_EQ(by_site["GS-A"]["bundle"]["id"], "8+8");
    EXPECT_FALSE(by_site["GS-A"]["duty_met"]);
    EXPECT_EQ(by_site["GS-A"]["summary"]["in_alarm"], 1) << "the gas alarm";
    EXPECT_EQ(mine["page"], json({{"sites", 2}, {"duty_met", 1}, {"duty_unmet", 1}}));
    EXPECT_TRUE(mine["next_cursor"].is_null());
    EXPECT_EQ(
        sites_of(as(c, acme, "GET", "/api/v1/coverage?unmet=true").json(), "sites"), (std::set<std::string>{"GS-A"})
    );
    EXPECT_EQ(sites_of(as(c, acme, "GET", "/api/v1/coverage?unit=U-OTHER").json(), "sites"), (std::set<std::string>{}));
    EXPECT_EQ(sites_of(as(c, ns, "GET", "/api/v1/coverage").json(), "sites"), (std::set<std::string>{"GS-B"}));

    // The whole city, in pages by site id.
    const json first = c.call("GET", "/api/v1/coverage?limit=2", kAdminKey).json();
    ASSERT_EQ(first["sites"].size(), 2u);
    ASSERT_TRUE(first["next_cursor"].is_string());
    const json second =
        c.call("GET", "/api/v1/coverage?limit=2&cursor=" + first["next_cursor"].get<std::string>(), kAdminKey).json();
    EXPECT_EQ(sites_of(second, "sites"), (std::set<std::string>{"GS-B"}));
    EXPECT_TRUE(second["next_cursor"].is_null());
    EXPECT_EQ(c.call("GET", "/api/v1/coverage?limit=0", kAdminKey).status, 400);
    EXPECT_EQ(c.call("GET", "/api/v1/coverage?unmet=maybe", kAdminKey).status, 400);
}
