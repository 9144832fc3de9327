#include <gtest/gtest.h>

#include "../support/test_env.hpp"

using namespace cityguard::test;
using nlohmann::json;

namespace {
struct endpoint {
    const char* method;
    const char* target;
    const char* needs;  // "ingest", "read" or "admin"
};

// Every authenticated endpoint of the API. A new endpoint must be added here.
const endpoint kEndpoints[] = {
    {"POST", "/api/v1/readings", "ingest"},
    {"GET", "/api/v1/sensors/S1/readings", "read"},
    {"GET", "/api/v1/sites", "read"},
    {"GET", "/api/v1/sites/GP-1", "read"},
    {"GET", "/api/v1/sensors", "read"},
    {"GET", "/api/v1/sensors/S1", "read"},
    {"PUT", "/api/v1/sites/GP-2", "admin"},
    {"PUT", "/api/v1/sensors/S2", "admin"},
    {"POST", "/api/v1/registry", "admin"},
    {"POST", "/api/v1/keys", "admin"},
    {"GET", "/api/v1/keys", "admin"},
    {"DELETE", "/api/v1/keys/somebody", "admin"},
    {"GET", "/api/v1/rules", "read"},
    {"GET", "/api/v1/alarms", "read"},
    {"GET", "/api/v1/alarms/1", "read"},
    {"POST", "/api/v1/alarms/1/acknowledge", "read"},
    {"POST", "/api/v1/alarms/1/handle", "read"},
    {"POST", "/api/v1/alarms/1/resolve", "read"},
    {"POST", "/api/v1/alarms/1/close", "read"},
    {"GET", "/api/v1/overview", "read"},
};

bool allowed(const std::string& needs, const std::string& role) {
    if (role == "admin") return true;
    if (needs == "ingest") return role == "gateway";
    if (needs == "read") return role == "operator";
    return false;
}
}  // namespace

TEST(AuthHttp, EveryEndpointRequiresAKeyOfTheRightRole) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GP-1", {"S1"});
    const std::map<std::string, std::string> keys{
        {"gateway", srv.make_key("gw", "gateway")}, {"operator", srv.make_key("op", "operator")}};
    auto c = srv.client();
    for (const auto& e : kEndpoints) {
        SCOPED_TRACE(std::string(e.method) + " " + e.target);
        const std::string body = std::string(e.method) == "GET" || std::string(e.method) == "DELETE" ? "" : "{}";
        auto r = c.call(e.method, e.target, "", body);
        EXPECT_EQ(r.status, 401);
        EXPECT_EQ(r.json()["error"]["code"], "unauthorized");
        EXPECT_EQ(c.call(e.method, e.target, "cg_not_a_real_key_at_all", body).status, 401);
        EXPECT_EQ(c.request(e.method, e.target, body, {{"Authorization", "Basic YWRtaW46YWRtaW4="}}).status, 401);
        for (const auto& [role, key] : keys) {
            auto rr = c.call(e.method, e.target, key, body);
            if (allowed(e.needs, role))
                EXPECT_NE(rr.status, 403) << role;
            else {
                EXPECT_EQ(rr.status, 403) << role;
                EXPECT_EQ(rr.json()["error"]["code"], "forbidden");
            }
        }
    }
}

TEST(AuthHttp, HealthNeedsNoKey) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    EXPECT_EQ(c.request("GET", "/healthz").status, 200);
    auto r = c.request("GET", "/readyz");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.json()["status"], "ready");
}

TEST(AuthHttp, NotFoundAndMethodNotAllowed) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    auto r = c.call("GET", "/api/v1/nothing-here", kAdminKey);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.json()["error"]["code"], "not_found");
    r = c.call("DELETE", "/api/v1/sites", kAdminKey);
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.json()["error"]["code"], "method_not_allowed");
    EXPECT_EQ(r.headers["Allow"], "GET");
    EXPECT_EQ(c.call("GET", "/api/v1/../etc/passwd", kAdminKey).status, 400);
}

TEST(AuthHttp, KeyLifecycle) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    auto r = c.call("POST", "/api/v1/keys", kAdminKey, R"({"name":"gw-futian-01","role":"gateway"})");
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string key = r.json()["key"];
    EXPECT_EQ(key.rfind("cg_", 0), 0u);
    // Only the hash is stored.
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM api_keys WHERE key_hash LIKE '%" + key + "%'"), "0");
    EXPECT_EQ(c.call("POST", "/api/v1/keys", kAdminKey, R"({"name":"gw-futian-01","role":"gateway"})").status, 409);
    EXPECT_EQ(c.call("POST", "/api/v1/keys", kAdminKey, R"({"name":"x","role":"root"})").status, 422);
    EXPECT_EQ(c.call("POST", "/api/v1/keys", kAdminKey, R"({"name":"bad name!","role":"gateway"})").status, 422);

    r = c.call("GET", "/api/v1/keys", kAdminKey);
    ASSERT_EQ(r.status, 200);
    bool listed = false;
    const auto keys = r.json()["keys"];
    for (const auto& k : keys) {
        EXPECT_FALSE(k.contains("key"));
        if (k["name"] == "gw-futian-01") listed = k["role"] == "gateway";
    }
    EXPECT_TRUE(listed);

    EXPECT_EQ(c.call("POST", "/api/v1/readings", key, R"({"readings":[]})").status, 200);
    EXPECT_EQ(c.call("DELETE", "/api/v1/keys/gw-futian-01", kAdminKey).status, 204);
    EXPECT_EQ(c.call("POST", "/api/v1/readings", key, R"({"readings":[]})").status, 401);
    EXPECT_EQ(c.call("DELETE", "/api/v1/keys/gw-futian-01", kAdminKey).status, 404);
    EXPECT_EQ(c.call("DELETE", "/api/v1/keys/admin", kAdminKey).status, 409) << "an admin cannot lock itself out";
}
