// Upward reporting end to end (docs/upward.md): a local receiver that does what the superior
// platform does (verifies the appId/appSecret signature, decrypts the SM4-CBC payload with its
// own OpenSSL call, records each event id once and answers {"code":0}), the backlog in the API
// and /metrics, and a SIGKILL in the middle of the stream.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "../support/child_server.hpp"
#include "../support/test_env.hpp"
#include "../support/webhook_receiver.hpp"
#include "cityguard/util/crypto.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::format_rfc3339;
using cityguard::util::now_micros;
using nlohmann::json;

namespace {

constexpr const char* kUpAppSecret = "upward-app-secret-0123";
constexpr const char* kUpSm4Key = "0123456789abcdeffedcba9876543210";

std::string base64_decode(const std::string& text) {
    std::string out(text.size(), '\0');
    const int n = EVP_DecodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(text.data()),
        static_cast<int>(text.size())
    );
    if (n < 0) throw std::runtime_error("bad base64");
    std::size_t pad = 0;
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

/// SM4-CBC decryption as the platform does it, straight from OpenSSL.
std::string platform_decrypt(const std::string& cipher, const std::string& iv) {
    const auto key = *cityguard::util::from_hex(kUpSm4Key);
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    EVP_DecryptInit_ex(
        ctx.get(),
        EVP_sm4_cbc(),
        nullptr,
        reinterpret_cast<const unsigned char*>(key.data()),
        reinterpret_cast<const unsigned char*>(iv.data())
    );
    std::string out(cipher.size() + 16, '\0');
    int n = 0, tail = 0;
    if (EVP_DecryptUpdate(
            ctx.get(),
            reinterpret_cast<unsigned char*>(out.data()),
            &n,
            reinterpret_cast<const unsigned char*>(cipher.data()),
            static_cast<int>(cipher.size())
        ) != 1 ||
        EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + n, &tail) != 1)
        throw std::runtime_error("cannot decrypt");
    out.resize(static_cast<std::size_t>(n + tail));
    return out;
}

/// The superior platform: verifies, decrypts, keeps each event once.
struct superior_platform {
    webhook_receiver http;
    std::mutex mutex;
    std::vector<json> events;   // first deliveries, decrypted
    std::set<std::string> ids;  // what it holds
    int repeats = 0;            // deliveries of an id it held already (answered as accepted)
    int refuse_next = 0;        // answer 503 to this many more requests
    int refused_signatures = 0;
    std::chrono::milliseconds delay{0};

    superior_platform() {
        http.answer_with([this](const webhook_receiver::request& r) {
            std::this_thread::sleep_for(delay);
            std::lock_guard lock(mutex);
            if (refuse_next > 0) {
                --refuse_next;
                return std::string(R"({"code":503,"msg":"busy"})");
            }
            const auto envelope = json::parse(r.body, nullptr, false);
            const std::string to_sign = envelope.value("appId", "") + std::to_string(envelope.value("timestamp", 0LL)) +
                                        envelope.value("nonce", "") + envelope.value("data", "");
            if (envelope.value("appId", "") != "cityguard-shenzhen" ||
                envelope.value("sign", "") !=
                    cityguard::util::to_hex(cityguard::util::hmac_sha256(kUpAppSecret, to_sign))) {
                ++refused_signatures;
                return std::string(R"({"code":401,"msg":"sign not match"})");
            }
            const auto report =
                json::parse(platform_decrypt(base64_decode(envelope["data"]), base64_decode(envelope["iv"])));
            const std::string id = report.at("eventId");
            if (id != envelope.value("eventId", "") || r.headers.at("idempotency-key") != id)
                return std::string(R"({"code":400,"msg":"event id mismatch"})");
            if (ids.insert(id).second)
                events.push_back(report);
            else
                ++repeats;
            return std::string(R"({"code":0,"msg":"ok"})");
        });
    }
    std::size_t held() {
        std::lock_guard lock(mutex);
        return ids.size();
    }
};

template <class Done>
bool up_wait_until(Done done, std::chrono::seconds limit = std::chrono::seconds(30)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
}

/// The alarm events the server reports upward, from the database: "440300-<seq>" each.
std::set<std::string> reportable_ids(const scratch_database& db) {
    const auto text = db.query_value(
        "SELECT coalesce(string_agg(seq::text, ',' ORDER BY seq), '') FROM alarm_events "
        "WHERE type IN ('raised', 'escalated', 'deescalated', 'closed')"
    );
    std::set<std::string> out;
    std::stringstream in(text);
    for (std::string seq; std::getline(in, seq, ',');) out.insert("440300-" + seq);
    return out;
}

/// A server's configuration reporting to `url` with the platform's credentials, quick to retry.
cityguard::config::config reporting_config(const scratch_database& db, const std::string& url) {
    auto cfg = test_config(db.url());
    cfg.upward.url = url;
    cfg.upward.app_id = "cityguard-shenzhen";
    cfg.upward.app_secret = kUpAppSecret;
    cfg.upward.sm4_key = kUpSm4Key;
    cfg.upward.platform_code = "440300";
    cfg.upward.poll_ms = 50;
    cfg.upward.retry_initial_ms = 50;
    cfg.upward.retry_max_ms = 200;
    return cfg;
}

void post_lel(http_client& c, const std::string& sensor, std::int64_t ts, double value) {
    auto r = c.call("POST", "/api/v1/readings", kAdminKey, one_reading(sensor, ts, value));
    if (r.status != 200) throw std::runtime_error("readings: " + r.body);
}

}  // namespace

TEST(Upward, RaiseLevelChangeAndCloseReachThePlatformDecryptedAndVerified) {
    CITYGUARD_REQUIRE_DB();
    superior_platform platform;
    platform.refuse_next = 1;  // the first attempt finds the platform busy
    scratch_database db;
    test_server server(reporting_config(db, platform.http.url("/api/warning/report")));
    server.register_sensors("GP-1", {"GP-1-LEL"});
    auto c = server.client();
    const auto t0 = now_micros() - 120'000'000;
    post_lel(c, "GP-1-LEL", t0, 12);
    post_lel(c, "GP-1-LEL", t0 + 10'000'000, 60);
    const auto alarms = c.call("GET", "/api/v1/alarms?sensor=GP-1-LEL", kAdminKey).json();
    ASSERT_FALSE(alarms["alarms"].empty()) << alarms.dump();
    const std::int64_t id = alarms["alarms"][0]["id"];
    auto closed = c.call(
        "POST",
        "/api/v1/alarms/" + std::to_string(id) + "/close",
        kAdminKey,
        R"({"reason":"test","force":true,"note":"upward test"})"
    );
    ASSERT_EQ(closed.status, 200) << closed.body;

    const auto expected = reportable_ids(server.db());
    ASSERT_GE(expected.size(), 2u) << "a raise and a close at least";
    ASSERT_TRUE(up_wait_until([&] { return platform.held() == expected.size(); }))
        << platform.held() << " of " << expected.size();
    std::lock_guard lock(platform.mutex);
    EXPECT_EQ(platform.ids, expected);
    EXPECT_EQ(platform.repeats, 0);
    EXPECT_EQ(platform.refused_signatures, 0);
    // In order, one alarm's whole story: raised first, closed last, the level as the national scale counts it.
    EXPECT_EQ(platform.events.front()["eventType"], "raised");
    EXPECT_EQ(platform.events.back()["eventType"], "closed");
    EXPECT_EQ(platform.events.front()["alarmId"], id);
    EXPECT_EQ(platform.events.front()["siteId"], "GP-1");
    EXPECT_EQ(platform.events.front()["district"], "福田区");
    EXPECT_TRUE(platform.events.front()["level"].is_number_integer());
    EXPECT_FALSE(platform.events.front()["title"].get<std::string>().empty());

    const auto status = c.call("GET", "/api/v1/upward", kAdminKey);
    ASSERT_EQ(status.status, 200) << status.body;
    EXPECT_EQ(status.json()["backlog"], 0) << status.body;
    EXPECT_EQ(status.json()["sent"], static_cast<std::int64_t>(expected.size()));
    EXPECT_FALSE(status.json()["last_success_at"].is_null());
    const auto metrics = c.call("GET", "/metrics", kAdminKey).body;
    EXPECT_NE(metrics.find("cityguard_upward_backlog_events 0"), std::string::npos);
    EXPECT_NE(metrics.find("cityguard_upward_failed_attempts_total 1"), std::string::npos) << "the busy answer";
    // Outside the whole city: not this caller's to see.
    const auto district_viewer = c.call(
        "POST",
        "/api/v1/keys",
        kAdminKey,
        R"({"name":"futian-viewer","role":"viewer","scope":{"districts":["福田区"]}})"
    );
    ASSERT_EQ(district_viewer.status, 201) << district_viewer.body;
    EXPECT_EQ(c.call("GET", "/api/v1/upward", district_viewer.json()["key"]).status, 403);
}

TEST(Upward, ABacklogGrowsWhileThePlatformIsDownAndDrainsInOrder) {
    CITYGUARD_REQUIRE_DB();
    superior_platform platform;
    platform.refuse_next = 1'000'000;
    scratch_database db;
    test_server server(reporting_config(db, platform.http.url("/report")));
    std::vector<std::string> sensors;
    for (int i = 0; i < 5; ++i) sensors.push_back("GP-2-LEL-" + std::to_string(i));
    server.register_sensors("GP-2", sensors);
    auto c = server.client();
    for (const auto& s : sensors) post_lel(c, s, now_micros() - 60'000'000, 60);
    const auto expected = reportable_ids(server.db());
    ASSERT_TRUE(up_wait_until([&] {
        const auto s = c.call("GET", "/api/v1/upward", kAdminKey).json();
        return s["backlog"] == static_cast<std::int64_t>(expected.size()) && !s["last_error"].is_null();
    })) << c.call("GET", "/api/v1/upward", kAdminKey).body;
    {
        std::lock_guard lock(platform.mutex);
        platform.refuse_next = 0;
    }
    ASSERT_TRUE(up_wait_until([&] { return platform.held() == expected.size(); }));
    std::lock_guard lock(platform.mutex);
    std::vector<std::string> order;
    for (const auto& e : platform.events) order.push_back(e["eventId"]);
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
        return std::stoll(a.substr(7)) < std::stoll(b.substr(7));
    })) << "sent in the event log's order";
}

// The server is killed while it reports a stream of events to a slow platform. The position
// advances only after an acknowledgement, so after the restart the platform gets every event,
// and at most the one in flight again, with the same id, which it holds once.
TEST(Upward, ASigkillSendsNothingTwiceFromThePlatformsView) {
    CITYGUARD_REQUIRE_DB();
    superior_platform platform;
    platform.delay = std::chrono::milliseconds(40);
    scratch_database db;
    const auto port = free_port();
    const auto config_path =
        std::filesystem::temp_directory_path() /
        ("cityguard-upward-" + std::to_string(::getpid()) + "-" + std::to_string(now_micros()) + ".json");
    std::ofstream(config_path) << json{
        {"upward",
         {{"url", platform.http.url("/report")},
          {"app_id", "cityguard-shenzhen"},
          {"platform_code", "440300"},
          {"poll_ms", 50},
          {"retry_initial_ms", 50},
          {"retry_max_ms", 100}}}}.dump();
    ::setenv("CITYGUARD_UPWARD_APP_SECRET", kUpAppSecret, 1);
    ::setenv("CITYGUARD_UPWARD_SM4_KEY", kUpSm4Key, 1);
    const std::vector<std::string> flags{"--config", config_path.string()};
    std::set<std::string> expected;
    {
        child_server first(db.url(), port, flags);
        ASSERT_TRUE(first.wait_ready());
        http_client c(port);
        json registry{{"sites", json::array()}, {"sensors", json::array()}};
        registry["sites"].push_back(
            {{"id", "GP-3"},
             {"name", "站点 GP-3"},
             {"domain", "gas_pipeline"},
             {"district", "福田区"},
             {"lat", 22.54},
             {"lon", 114.05}}
        );
        for (int i = 0; i < 40; ++i)
            registry["sensors"].push_back(
                {{"id", "GP-3-LEL-" + std::to_string(i)},
                 {"site", "GP-3"},
                 {"kind", "gas_lel"},
                 {"unit", "%LEL"},
                 {"interval_s", 30}}
            );
        ASSERT_EQ(c.call("POST", "/api/v1/registry", kAdminKey, registry.dump()).status, 200);
        json batch{{"readings", json::array()}};
        for (int i = 0; i < 40; ++i)
            batch["readings"].push_back(
                {{"sensor", "GP-3-LEL-" + std::to_string(i)},
                 {"ts", format_rfc3339(now_micros() - 60'000'000)},
                 {"value", 60}}
            );
        ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, batch.dump()).status, 200);
        expected = reportable_ids(db);
        ASSERT_GE(expected.size(), 40u);
        ASSERT_TRUE(up_wait_until([&] { return platform.held() >= 10; })) << "nothing reported";
        first.kill_now();
        EXPECT_LT(platform.held(), expected.size()) << "the kill came too late to prove anything";
    }
    child_server second(db.url(), port, flags);
    ASSERT_TRUE(second.wait_ready());
    ASSERT_TRUE(up_wait_until([&] { return platform.held() == expected.size(); }, std::chrono::seconds(60)))
        << platform.held() << " of " << expected.size();
    std::lock_guard lock(platform.mutex);
    EXPECT_EQ(platform.ids, expected);
    EXPECT_EQ(platform.events.size(), expected.size()) << "each event held once";
    EXPECT_LE(platform.repeats, 1) << "at most the event in flight at the kill came again";
}
