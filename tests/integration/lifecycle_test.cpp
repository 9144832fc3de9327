#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/child_server.hpp"
#include "../support/test_env.hpp"
#include "cityguard/app/app.hpp"
#include "cityguard/store/migrations.hpp"
#include "cityguard/util/time.hpp"

extern char** environ;

using namespace cityguard::test;
using cityguard::util::format_rfc3339;
using cityguard::util::now_micros;
using nlohmann::json;

namespace {

void register_via(std::uint16_t port, int sensors) {
    json body{
        {"sites",
         {{{"id", "K-1"}, {"name", "k"}, {"domain", "gas_station"}, {"district", "d"}, {"lat", 22.5}, {"lon", 114.0}}}},
        {"sensors", json::array()}};
    for (int i = 0; i < sensors; ++i)
        body["sensors"].push_back(
            {{"id", "K-1-S" + std::to_string(i)},
             {"site", "K-1"},
             {"kind", "tank_level"},
             {"unit", "%"},
             {"interval_s", 10}}
        );
    http_client c(port);
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, body.dump());
    if (r.status != 200) throw std::runtime_error(r.body);
}

}  // namespace

TEST(Lifecycle, MigrationsApplyOnce) {
    CITYGUARD_REQUIRE_DB();
    scratch_database db;
    const auto& all = cityguard::store::embedded_migrations();
    ASSERT_FALSE(all.empty());
    EXPECT_EQ(cityguard::store::migrate(db.url(), all).size(), all.size());
    EXPECT_TRUE(cityguard::store::migrate(db.url(), all).empty());
    EXPECT_EQ(db.query_value("SELECT count(*) FROM schema_migrations"), std::to_string(all.size()));
}

// Issue 28's migration: a key made before people and scopes existed keeps working, as a key of
// the whole city with its role.
TEST(Lifecycle, KeysFromBeforePeopleKeepWorkingAsWholeCityKeys) {
    CITYGUARD_REQUIRE_DB();
    scratch_database db;
    std::vector<cityguard::store::migration> before;
    for (const auto& m : cityguard::store::embedded_migrations())
        if (m.name < "0017") before.push_back(m);
    ASSERT_FALSE(before.empty());
    cityguard::store::migrate(db.url(), before);
    const std::string old_key = "an-operator-key-from-2025-0123456789";
    db.exec(
        "INSERT INTO api_keys (name, role, key_hash) VALUES ('old-desk', 'operator', "
        "encode(sha256(convert_to('" +
        old_key + "', 'UTF8')), 'hex'))"
    );
    cityguard::app::app server(test_config(db.url()));  // applies 0017 onwards
    server.start();
    http_client c(server.port());
    const json sites{
        {"sites",
         {{{"id", "A"}, {"name", "a"}, {"domain", "bridge"}, {"district", "福田区"}, {"lat", 22.5}, {"lon", 114.0}},
          {{"id", "B"},
           {"name", "b"},
           {"domain", "gas_pipeline"},
           {"district", "南山区"},
           {"lat", 22.5},
           {"lon", 113.9}}}}};
    ASSERT_EQ(c.call("POST", "/api/v1/registry", kAdminKey, sites.dump()).status, 200);
    const json me = c.call("GET", "/api/v1/session", old_key).json();
    EXPECT_EQ(me["who"]["role"], "operator");
    EXPECT_EQ(me["who"]["scope"], json::object()) << "the whole city";
    const json listed = c.call("GET", "/api/v1/sites", old_key).json();
    EXPECT_EQ(listed["sites"].size(), 2u);
    EXPECT_EQ(c.call("GET", "/api/v1/keys", old_key).status, 403) << "still an operator, not an admin";
    server.stop();
}

TEST(Lifecycle, MigrationsFromADirectoryMatchTheBuiltInOnes) {
    const auto from_dir = cityguard::store::load_migrations(CITYGUARD_SOURCE_DIR "/sql");
    const auto& built_in = cityguard::store::embedded_migrations();
    ASSERT_EQ(from_dir.size(), built_in.size());
    for (std::size_t i = 0; i < built_in.size(); ++i) {
        EXPECT_EQ(from_dir[i].name, built_in[i].name);
        EXPECT_EQ(from_dir[i].sql, built_in[i].sql);
    }
    EXPECT_THROW(cityguard::store::load_migrations("/nonexistent/dir"), std::runtime_error);
}

TEST(Lifecycle, FirstStartGeneratesAnAdminKeyFileReadableOnlyByItsOwner) {
    CITYGUARD_REQUIRE_DB();
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("cg-key-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    auto cfg = test_config("");
    cfg.auth.admin_key.reset();
    cfg.auth.admin_key_file = (dir / "var" / "admin.key").string();
    std::string key;
    {
        test_server srv(cfg);
        ASSERT_TRUE(fs::exists(cfg.auth.admin_key_file));
        EXPECT_EQ(
            fs::status(cfg.auth.admin_key_file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write
        );
        std::ifstream(cfg.auth.admin_key_file) >> key;
        auto c = srv.client();
        EXPECT_EQ(c.call("GET", "/api/v1/keys", key).status, 200);
        srv.restart();  // the existing admin key is kept, the file is not rewritten
        std::string again;
        std::ifstream(cfg.auth.admin_key_file) >> again;
        EXPECT_EQ(again, key);
        auto c2 = srv.client();
        EXPECT_EQ(c2.call("GET", "/api/v1/keys", key).status, 200);
    }
    fs::remove_all(dir);
}

TEST(Lifecycle, RestartAppliesNoMigrationTwiceAndKeepsData) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GP-1", {"S1"});
    auto c = srv.client();
    const auto t = now_micros() - 1'000'000;
    ASSERT_EQ(
        c.call(
             "POST",
             "/api/v1/readings",
             kAdminKey,
             json{{"readings", {{{"sensor", "S1"}, {"ts", format_rfc3339(t)}, {"value", 1}}}}}.dump()
        )
            .status,
        200
    );
    const auto applied_at = srv.db().query_value("SELECT max(applied_at)::text FROM schema_migrations");
    srv.restart();
    EXPECT_EQ(srv.db().query_value("SELECT max(applied_at)::text FROM schema_migrations"), applied_at);
    auto c2 = srv.client();
    auto r = c2.call(
        "POST",
        "/api/v1/readings",
        kAdminKey,
        json{{"readings", {{{"sensor", "S1"}, {"ts", format_rfc3339(t)}, {"value", 1}}}}}.dump()
    );
    EXPECT_EQ(r.json()["duplicates"], 1) << "the sensor directory and the data survive a restart";
}

TEST(Lifecycle, GracefulStopCommitsEveryAcknowledgedReading) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GP-1", {"S1", "S2", "S3", "S4"});
    std::atomic<bool> go{true};
    std::atomic<long> acked{0};
    std::vector<std::thread> posters;
    for (int t = 0; t < 4; ++t)
        posters.emplace_back([&, t] {
            auto c = srv.client();
            const std::string sensor = std::string("S").append(std::to_string(t + 1));
            const auto base = now_micros() - 3'600'000'000LL;
            for (int i = 0; go; ++i) {
                json items = json::array();
                for (int k = 0; k < 50; ++k)
                    items.push_back(
                        {{"sensor", sensor}, {"ts", format_rfc3339(base + (i * 50 + k) * 1000LL)}, {"value", k}}
                    );
                try {
                    auto r = c.call("POST", "/api/v1/readings", kAdminKey, json{{"readings", items}}.dump());
                    if (r.status == 200)
                        acked += r.json()["accepted"].get<long>();
                    else
                        return;
                } catch (const std::exception&) {
                    return;  // the server closed the connection while stopping
                }
            }
        });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (acked < 2000 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_GE(acked.load(), 2000) << "the server stopped acknowledging";
    srv.stop();
    go = false;
    for (auto& t : posters) t.join();
    EXPECT_GE(std::stol(srv.db().query_value("SELECT count(*) FROM readings")), acked.load());
}

TEST(Lifecycle, SigkillLosesNoAcknowledgedReading) {
    CITYGUARD_REQUIRE_DB();
    scratch_database db;
    const auto port = free_port();
    constexpr int kPosters = 4;
    std::array<std::atomic<std::int64_t>, kPosters> last_acked_ts{};
    std::array<std::atomic<long>, kPosters> acked_rows{};
    const auto base = now_micros() - 3'600'000'000LL;
    {
        child_server server(db.url(), port);
        ASSERT_TRUE(server.wait_ready());
        register_via(port, kPosters);
        std::atomic<bool> go{true};
        std::vector<std::thread> posters;
        for (int t = 0; t < kPosters; ++t)
            posters.emplace_back([&, t] {
                http_client c(port);
                const std::string sensor = std::string("K-1-S").append(std::to_string(t));
                for (int i = 0; go; ++i) {
                    json items = json::array();
                    for (int k = 0; k < 25; ++k)
                        items.push_back(
                            {{"sensor", sensor}, {"ts", format_rfc3339(base + (i * 25 + k) * 1000LL)}, {"value", i}}
                        );
                    try {
                        auto r = c.call("POST", "/api/v1/readings", kAdminKey, json{{"readings", items}}.dump());
                        if (r.status != 200) return;
                        acked_rows[t] += r.json()["accepted"].get<long>();
                        last_acked_ts[t] = base + (i * 25 + 24) * 1000LL;
                    } catch (const std::exception&) {
                        return;
                    }
                }
            });
        long total = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (total < 4000 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            total = 0;
            for (auto& a : acked_rows) total += a;
        }
        EXPECT_GE(total, 4000) << "the server stopped acknowledging";
        server.kill_now();  // right after 200s, with more requests in flight
        go = false;
        for (auto& t : posters) t.join();
    }
    // Each poster posts in ts order and waits for each answer, so its acknowledged readings are
    // exactly those up to its last acknowledged ts: all of them must be in the database.
    for (int t = 0; t < kPosters; ++t) {
        const auto stored = db.query_value(
            "SELECT count(*) FROM readings r JOIN sensors s ON s.key = r.sensor_key "
            "WHERE s.id = 'K-1-S" +
            std::to_string(t) + "' AND r.ts <= '" + format_rfc3339(last_acked_ts[t]) + "'"
        );
        EXPECT_EQ(std::stol(stored), acked_rows[t].load()) << "poster " << t;
    }
    // And the server comes back on the same database without applying a migration again.
    child_server again(db.url(), port);
    ASSERT_TRUE(again.wait_ready());
    EXPECT_EQ(
        db.query_value("SELECT count(*) FROM schema_migrations"),
        std::to_string(cityguard::store::embedded_migrations().size())
    );
    EXPECT_EQ(again.terminate(), 0) << "SIGTERM exits cleanly";
}
