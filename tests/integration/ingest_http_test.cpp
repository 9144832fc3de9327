#include <gtest/gtest.h>

#include <thread>

#include "../support/test_env.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::format_rfc3339;
using cityguard::util::now_micros;
using nlohmann::json;

namespace {
json reading(const std::string& sensor, std::int64_t ts_us, double value) {
    return {{"sensor", sensor}, {"ts", format_rfc3339(ts_us)}, {"value", value}};
}
std::string batch(const std::vector<json>& items) { return json{{"readings", items}}.dump(); }
}  // namespace

TEST(IngestHttp, StoresAndReadsBack) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GP-1", {"GP-1-LEL"});
    auto gw = srv.make_key("gw1", "gateway");
    auto op = srv.make_key("op1", "operator");
    auto c = srv.client();
    const auto t0 = now_micros() - 600'000'000;
    std::vector<json> items;
    for (int i = 0; i < 100; ++i) items.push_back(reading("GP-1-LEL", t0 + i * 1'000'000LL, i * 0.5));
    auto r = c.call("POST", "/api/v1/readings", gw, batch(items));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["accepted"], 100);
    EXPECT_EQ(r.json()["duplicates"], 0);
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM readings"), "100");

    r = c.call("GET", "/api/v1/sensors/GP-1-LEL/readings?from=" + format_rfc3339(t0) + "&limit=10", op);
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = r.json();
    ASSERT_EQ(body["readings"].size(), 10u);
    EXPECT_EQ(body["readings"][0]["ts"], format_rfc3339(t0));
    EXPECT_EQ(body["readings"][3]["value"], 1.5);
    EXPECT_TRUE(body["truncated"]);

    r = c.call("GET", "/api/v1/sites/GP-1", op);
    EXPECT_EQ(r.json()["sensors"][0]["latest"]["value"], 49.5);
}

TEST(IngestHttp, RepeatedBatchIsReportedAsDuplicates) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GP-1", {"S1", "S2"});
    auto c = srv.client();
    const auto t0 = now_micros() - 60'000'000;
    std::vector<json> items{reading("S1", t0, 1), reading("S2", t0, 2), reading("S1", t0 + 1000, 3)};
    EXPECT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, batch(items)).json()["accepted"], 3);
    items.push_back(reading("S2", t0 + 5000, 4));  // one new reading among three old ones
    auto again = c.call("POST", "/api/v1/readings", kAdminKey, batch(items)).json();
    EXPECT_EQ(again["accepted"], 1);
    EXPECT_EQ(again["duplicates"], 3);
    // A reading repeated inside one request is stored once.
    auto inner =
        c.call("POST", "/api/v1/readings", kAdminKey, batch({reading("S1", t0 + 9000, 1), reading("S1", t0 + 9000, 1)}))
            .json();
    EXPECT_EQ(inner["accepted"], 1);
    EXPECT_EQ(inner["duplicates"], 1);
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM readings"), "5");
}

TEST(IngestHttp, ConcurrentRetriesStoreEachReadingOnce) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GP-1", {"S1"});
    const auto t0 = now_micros() - 60'000'000;
    std::vector<json> items;
    for (int i = 0; i < 200; ++i) items.push_back(reading("S1", t0 + i * 1000, i));
    const std::string body = batch(items);
    std::atomic<int> accepted{0}, duplicates{0}, failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            auto c = srv.client();
            for (int k = 0; k < 5; ++k) {
                auto r = c.call("POST", "/api/v1/readings", kAdminKey, body);
                if (r.status != 200) {
                    ++failures;
                    continue;
                }
                accepted += r.json()["accepted"].get<int>();
                duplicates += r.json()["duplicates"].get<int>();
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(accepted, 200);
    EXPECT_EQ(duplicates, 8 * 5 * 200 - 200);
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM readings"), "200");
}

TEST(IngestHttp, PartialRejection) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GP-1", {"S1"});
    auto c = srv.client();
    const auto now = now_micros();
    json body{
        {"readings",
         {reading("S1", now - 1'000'000, 1),
          reading("GHOST", now - 1'000'000, 1),
          {{"sensor", "S1"}, {"ts", "not a time"}, {"value", 1}},
          {{"sensor", "S1"}, {"ts", format_rfc3339(now - 2'000'000)}},
          reading("S1", now + 3'600'000'000LL, 1),
          reading("S1", now - 400LL * 86'400'000'000LL, 1),
          {{"sensor", "S1"}, {"ts", (now - 3'000'000) / 1000}, {"value", 7}}}}};
    auto r = c.call("POST", "/api/v1/readings", kAdminKey, body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.json();
    EXPECT_EQ(j["accepted"], 2);
    std::vector<std::pair<int, std::string>> rejected;
    for (const auto& x : j["rejected"]) rejected.emplace_back(x["index"], x["error"]);
    EXPECT_EQ(
        rejected,
        (std::vector<std::pair<int, std::string>>{
            {1, "unknown_sensor"},
            {2, "bad_timestamp"},
            {3, "missing_value"},
            {4, "future_timestamp"},
            {5, "stale_timestamp"}})
    );
}

TEST(IngestHttp, RequestLevelErrors) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.http.body_limit = 4096;
    cfg.ingest.max_readings_per_request = 3;
    test_server srv(cfg);
    srv.register_sensors("GP-1", {"S1"});
    auto c = srv.client();
    auto code = [](const http_result& r) { return r.json()["error"]["code"].get<std::string>(); };

    auto r = c.call("POST", "/api/v1/readings", kAdminKey, "{\"readings\": [");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(code(r), "invalid_json");
    r = c.call("POST", "/api/v1/readings", kAdminKey, "{}");
    EXPECT_EQ(r.status, 400);
    r = c.request(
        "POST",
        "/api/v1/readings",
        "{\"readings\":[]}",
        {{"Authorization", std::string("Bearer ") + kAdminKey}, {"Content-Type", "text/plain"}}
    );
    EXPECT_EQ(r.status, 415);
    EXPECT_EQ(code(r), "unsupported_media_type");
    r = c.request(
        "POST", "/api/v1/readings", "{\"readings\":[]}", {{"Authorization", std::string("Bearer ") + kAdminKey}}
    );
    EXPECT_EQ(r.status, 415);
    r = c.call("POST", "/api/v1/readings", kAdminKey, R"({"readings":[1,2,3,4]})");
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(code(r), "too_many_readings");
    r = c.call("POST", "/api/v1/readings", kAdminKey, std::string(5000, ' ') + "{}");
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(code(r), "payload_too_large");
    // The server is still fine and still stores readings afterwards.
    auto fresh = srv.client();
    r = fresh.call("POST", "/api/v1/readings", kAdminKey, batch({reading("S1", now_micros() - 1000, 1)}));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.json()["accepted"], 1);
}

TEST(IngestHttp, BucketedHistory) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GP-1", {"S1"});
    auto c = srv.client();
    // Three whole minutes, aligned, six readings each.
    const std::int64_t minute = 60'000'000;
    const auto start = (now_micros() / minute - 10) * minute;
    std::vector<json> items;
    for (int m = 0; m < 3; ++m)
        for (int k = 0; k < 6; ++k) items.push_back(reading("S1", start + m * minute + k * 10'000'000LL, m * 10 + k));
    ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, batch(items)).json()["accepted"], 18);
    auto r = c.call(
        "GET",
        "/api/v1/sensors/S1/readings?bucket=60s&from=" + format_rfc3339(start) +
            "&to=" + format_rfc3339(start + 3 * minute),
        kAdminKey
    );
    ASSERT_EQ(r.status, 200) << r.body;
    auto b = r.json()["buckets"];
    ASSERT_EQ(b.size(), 3u);
    EXPECT_EQ(b[1]["ts"], format_rfc3339(start + minute));
    EXPECT_EQ(b[1]["min"], 10.0);
    EXPECT_EQ(b[1]["max"], 15.0);
    EXPECT_EQ(b[1]["avg"], 12.5);
    EXPECT_EQ(b[1]["count"], 6);
    r = c.call(
        "GET",
        "/api/v1/sensors/S1/readings?bucket=5m&from=" + format_rfc3339(start) +
            "&to=" + format_rfc3339(start + 3 * minute),
        kAdminKey
    );
    EXPECT_EQ(
        r.json()["buckets"][0]["count"].get<int>() +
            (r.json()["buckets"].size() > 1 ? r.json()["buckets"][1]["count"].get<int>() : 0),
        18
    );
    EXPECT_EQ(c.call("GET", "/api/v1/sensors/S1/readings?bucket=7x", kAdminKey).status, 400);
    EXPECT_EQ(c.call("GET", "/api/v1/sensors/S1/readings?bucket=1s&from=2000-01-01T00:00:00Z", kAdminKey).status, 400);
    EXPECT_EQ(c.call("GET", "/api/v1/sensors/S1/readings?limit=0", kAdminKey).status, 400);
    EXPECT_EQ(c.call("GET", "/api/v1/sensors/NOPE/readings", kAdminKey).status, 404);
}

TEST(IngestHttp, ReadingsOutsideTodayGetTheirPartition) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GP-1", {"S1"});
    auto c = srv.client();
    const auto old = now_micros() - 30LL * 86'400'000'000LL;
    auto r = c.call("POST", "/api/v1/readings", kAdminKey, batch({reading("S1", old, 1)}));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["accepted"], 1);
}
