#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "../support/prometheus.hpp"
#include "../support/test_env.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using nlohmann::json;

namespace {

/// The value of one series ("name" or "name{labels}") in an exposition; -1 when it is not there.
double series_value(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return -1;
}

/// The sum of every series of a family that carries `label` (e.g. "level=\"red\"").
double family_sum(const std::string& text, const std::string& name, const std::string& label = "") {
    std::istringstream in(text);
    double sum = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
        if (!label.empty() && line.find(label) == std::string::npos) continue;
        sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
}

}  // namespace

TEST(Metrics, CountReadingsAlarmsRequestsAndQueuesAndPassPromtool) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GS-M", {"GS-M-LEL-1"});
    auto c = srv.client();
    const auto now = cityguard::util::now_micros();
    ASSERT_EQ(
        c.call("POST", "/api/v1/readings", kAdminKey, one_reading("GS-M-LEL-1", now - 1'000'000, 60)).status, 200
    );
    ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, one_reading("GS-M-LEL-1", now - 1'000'000, 60)).status, 200)
        << "a gateway's retry: a duplicate";
    ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, one_reading("NO-SUCH-SENSOR", now, 1)).status, 200);
    ASSERT_EQ(c.call("GET", "/api/v1/alarms", "wrong-key-0123456789").status, 401);

    // From loopback the default (metrics.access "loopback") needs no key.
    auto r = c.request("GET", "/metrics");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8");
    const auto& text = r.body;
    EXPECT_EQ(series_value(text, "cityguard_readings_stored_total"), 1) << text;
    EXPECT_EQ(series_value(text, "cityguard_readings_duplicate_total"), 1);
    EXPECT_EQ(series_value(text, "cityguard_readings_rejected_total{code=\"unknown_sensor\"}"), 1);
    EXPECT_EQ(
        series_value(text, "cityguard_http_requests_total{route=\"/api/v1/readings\",method=\"POST\",code=\"200\"}"), 3
    );
    EXPECT_EQ(
        series_value(text, "cityguard_http_requests_total{route=\"/api/v1/alarms\",method=\"GET\",code=\"401\"}"), 1
    ) << "the route pattern is the label, never the client's path";
    EXPECT_EQ(
        series_value(text, "cityguard_http_request_duration_seconds_count{route=\"/api/v1/readings\",method=\"POST\"}"),
        3
    );
    EXPECT_EQ(series_value(text, "cityguard_writer_batch_rows_count"), 2) << "two batches had rows to write";
    EXPECT_GE(series_value(text, "cityguard_writer_commit_duration_seconds_count"), 2);
    EXPECT_GE(series_value(text, "cityguard_rule_evaluation_duration_seconds_count"), 2);
    EXPECT_EQ(family_sum(text, "cityguard_alarms_raised_total"), 1) << "LEL 60 % raises one alarm";
    EXPECT_EQ(family_sum(text, "cityguard_alarms_open", "status=\"open\""), 1);
    EXPECT_EQ(series_value(text, "cityguard_queue_limit{queue=\"writer_rows\"}"), srv.cfg().ingest.max_pending_rows);
    // Nothing of the test's waits; the cluster heartbeat (docs/scaling.md) may be running a query.
    EXPECT_LE(series_value(text, "cityguard_queue_length{queue=\"db_pool\"}"), 1);
    EXPECT_EQ(series_value(text, "cityguard_db_pool_connections"), srv.cfg().db.pool_size);
    EXPECT_GT(series_value(text, "process_resident_memory_bytes"), 1e6);
    EXPECT_GE(series_value(text, "cityguard_uptime_seconds"), 0);
    EXPECT_EQ(series_value(text, "cityguard_scrape_database_ok"), 1);

    // A path that does not exist is counted under "(unrouted)": clients cannot create series.
    for (int i = 0; i < 3; ++i) c.request("GET", "/api/v1/no-such-" + std::to_string(i));
    const auto again = c.request("GET", "/metrics").body;
    EXPECT_EQ(series_value(again, "cityguard_http_requests_total{route=\"(unrouted)\",method=\"\",code=\"404\"}"), 3);
    EXPECT_EQ(again.find("no-such"), std::string::npos);

    if (!prometheus::installed()) GTEST_SKIP() << "prometheus is not installed (scripts/test installs it)";
    const auto [status, output] = prometheus::check_metrics(again);
    EXPECT_EQ(status, 0) << output;
    EXPECT_EQ(output, "") << "promtool's lint finds nothing to say";
}

TEST(Metrics, WithAccessKeyOnlyAMonitorOperatorOrAdminKeyReadsThem) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.metrics.access = "key";
    test_server srv(cfg);
    auto c = srv.client();
    const auto monitor = srv.make_key("prometheus", "monitor");
    const auto gateway = srv.make_key("gw", "gateway");
    const auto op = srv.make_key("op", "operator");
    EXPECT_EQ(c.request("GET", "/metrics").status, 401) << "not even from loopback";
    EXPECT_EQ(c.call("GET", "/metrics", gateway).status, 403);
    EXPECT_EQ(c.call("GET", "/metrics", monitor).status, 200);
    EXPECT_EQ(c.call("GET", "/metrics", op).status, 200);
    EXPECT_EQ(c.call("GET", "/metrics", kAdminKey).status, 200);
    // The monitor key reads metrics and nothing else.
    EXPECT_EQ(c.call("GET", "/api/v1/alarms", monitor).status, 403);
    EXPECT_EQ(c.call("GET", "/api/v1/sites", monitor).status, 403);
    EXPECT_EQ(c.call("POST", "/api/v1/readings", monitor, one_reading("X", cityguard::util::now_micros())).status, 403);
}

TEST(Metrics, ARealPrometheusScrapesTheServerWithItsKeyAndAnswersAQueryAboutIt) {
    CITYGUARD_REQUIRE_DB();
    if (!prometheus::installed()) GTEST_SKIP() << "prometheus is not installed (scripts/test installs it)";
    auto cfg = test_config("");
    cfg.metrics.access = "key";
    test_server srv(cfg);
    srv.register_sensors("GS-P", {"GS-P-1", "GS-P-2"});
    const auto monitor = srv.make_key("prometheus", "monitor");
    auto c = srv.client();
    const auto now = cityguard::util::now_micros();
    std::string body = json{
        {"readings",
         json::array(
             {{{"sensor", "GS-P-1"}, {"ts", now / 1000 - 2000}, {"value", 1}},
              {{"sensor", "GS-P-2"}, {"ts", now / 1000 - 2000}, {"value", 2}},
              {{"sensor", "GS-P-1"}, {"ts", now / 1000 - 1000}, {"value", 3}}}
         )}}.dump();
    ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, body).status, 200);

    prometheus prom(srv.port(), monitor);
    // Prometheus scrapes every second; give it up to 30 s on a loaded machine.
    json up, stored;
    for (int i = 0; i < 300; ++i) {
        up = prom.query("up{job=\"cityguard\"}");
        stored = prom.query("sum(cityguard_readings_stored_total{job=\"cityguard\"})");
        if (!up.empty() && up[0]["value"][1] == "1" && !stored.empty()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_FALSE(up.empty()) << "Prometheus never scraped the server";
    EXPECT_EQ(up[0]["value"][1], "1") << "the scrape with the monitor key succeeded";
    ASSERT_FALSE(stored.empty());
    EXPECT_EQ(stored[0]["value"][1], "3");
    auto rate = prom.query("cityguard_queue_length{job=\"cityguard\"} / cityguard_queue_limit{job=\"cityguard\"}");
    EXPECT_EQ(rate.size(), 5u) << rate.dump() << ": one ratio per bounded queue";
}

TEST(Contract, TheServerServesItsOpenApiDocumentWithoutAKey) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto r = srv.client().request("GET", "/api/v1/openapi.json");
    ASSERT_EQ(r.status, 200);
    auto doc = r.json();
    EXPECT_EQ(doc["openapi"], "3.1.0");
    EXPECT_TRUE(doc["paths"].contains("/api/v1/readings"));
    EXPECT_TRUE(doc["paths"].contains("/api/v1/openapi.json"));
    std::ifstream in(CITYGUARD_SOURCE_DIR "/docs/openapi.json");
    EXPECT_EQ(doc, json::parse(in)) << "the binary serves the document in the repository";
}
