// MQTT ingest end to end (docs/ingest.md): a real Mosquitto with a password per gateway and an
// ACL, gateways publishing with libmosquitto, CityGuard subscribed with a persistent session.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "../support/mosquitto.hpp"
#include "../support/test_env.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::now_micros;
using nlohmann::json;

namespace {

constexpr const char* kMqCityguardPassword = "cg-broker-secret";

std::vector<std::pair<std::string, std::string>> broker_users() {
    return {{"cityguard", kMqCityguardPassword}, {"gw-a", "gw-a-secret"}, {"gw-b", "gw-b-secret"}};
}

/// Gateway A reports for site S-A, with one station whose telemetry fields are mapped; gateway B
/// for site S-B, CityGuard's readings body only.
std::string write_mapping() {
    const auto path = std::filesystem::temp_directory_path() / ("cityguard-mqtt-map-" + std::to_string(::getpid()) +
                                                                "-" + std::to_string(now_micros()) + ".json");
    json doc{
        {"gateways",
         {{{"id", "gw-a"},
           {"topics", {"cityguard/gateways/gw-a/#"}},
           {"sites", {"S-A"}},
           {"devices",
            {{{"topic", "cityguard/gateways/gw-a/station-1"}, {"fields", {{"lel", "A-LEL-1"}, {"lel2", "A-LEL-2"}}}}}}},
          {{"id", "gw-b"}, {"topics", {"cityguard/gateways/gw-b/#"}}, {"sites", {"S-B"}}}}}};
    std::ofstream(path) << doc.dump(2);
    return path.string();
}

cityguard::config::config mqtt_config(const scratch_database& db, std::uint16_t broker_port, const std::string& map) {
    auto cfg = test_config(db.url());
    cfg.mqtt.host = "127.0.0.1";
    cfg.mqtt.port = broker_port;
    cfg.mqtt.client_id = "cityguard-test-" + std::to_string(::getpid()) + "-" + std::to_string(now_micros());
    cfg.mqtt.username = "cityguard";
    cfg.mqtt.password = kMqCityguardPassword;
    cfg.mqtt.mapping_file = map;
    cfg.mqtt.keep_alive_s = 5;
    cfg.mqtt.reconnect_min_ms = 100;
    cfg.mqtt.reconnect_max_ms = 400;
    cfg.mqtt.max_payload_bytes = 64 * 1024;
    return cfg;
}

void register_mqtt_sites(http_client& c) {
    json doc{{"sites", json::array()}, {"sensors", json::array()}};
    for (const char* site : {"S-A", "S-B"})
        doc["sites"].push_back(
            {{"id", site},
             {"name", std::string("站点 ") + site},
             {"domain", "gas_pipeline"},
             {"district", "福田区"},
             {"lat", 22.54},
             {"lon", 114.05}}
        );
    for (const auto& [id, site] :
         std::vector<std::pair<std::string, std::string>>{{"A-LEL-1", "S-A"}, {"A-LEL-2", "S-A"}, {"B-LEL-1", "S-B"}})
        doc["sensors"].push_back({{"id", id}, {"site", site}, {"kind", "gas_lel"}, {"unit", "%LEL"}, {"interval_s", 30}}
        );
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, doc.dump());
    if (r.status != 200) throw std::runtime_error("registry: " + r.body);
}

long stored_of(const scratch_database& db, const std::string& sensor, const std::string& extra = "") {
    return std::stol(db.query_value(
        "SELECT count(*) FROM readings r JOIN sensors s ON s.key = r.sensor_key WHERE s.id = '" + sensor + "'" + extra
    ));
}

template <class Done>
bool mq_wait_until(Done done, std::chrono::seconds limit = std::chrono::seconds(30)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
}

json readyz_of(std::uint16_t port) { return http_client(port).request("GET", "/readyz").json(); }

bool mqtt_connected(std::uint16_t port) {
    const auto body = readyz_of(port);
    return body.contains("mqtt") && body["mqtt"].value("connected", false);
}

/// A metric's value from GET /metrics (the first sample whose line starts with `sample`).
double metric_value(std::uint16_t port, const std::string& sample) {
    const auto text = http_client(port).call("GET", "/metrics", kAdminKey).body;
    const auto at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + sample.size() + 2));
}

/// A broker with the three accounts, a scratch database, the mapping and a server subscribed to
/// the broker (connected unless the broker was asked to stay down), the two sites registered.
struct mqtt_rig {
    explicit mqtt_rig(bool broker_up = true) : broker(broker_users()), map(write_mapping()) {
        if (!broker_up) broker.stop();
        server.emplace(mqtt_config(db, broker.port(), map));
        auto c = server->client();
        register_mqtt_sites(c);
        if (broker_up && !mq_wait_until([&] { return mqtt_connected(port()); }))
            throw std::runtime_error("no MQTT session: " + readyz_of(port()).dump());
    }
    std::uint16_t port() const { return server->port(); }
    long stored(const std::string& sensor) const { return stored_of(server->db(), sensor); }

    mosquitto_broker broker;
    scratch_database db;
    std::string map;
    std::optional<test_server> server;
};

std::string readings_payload(const std::string& sensor, std::int64_t ts_ms, double value) {
    return json{{"readings", {{{"sensor", sensor}, {"ts", ts_ms}, {"value", value}}}}}.dump();
}

}  // namespace

TEST(Mqtt, BothPayloadShapesAreStoredWithTheGatewaysSitesOnly) {
    CITYGUARD_REQUIRE_DB();
    if (!mosquitto_broker::installed()) GTEST_SKIP() << "mosquitto is not installed (scripts/test installs it)";
    mqtt_rig rig;
    auto c = rig.server->client();

    const std::int64_t t0 = now_micros() / 1000 - 60'000;
    mqtt_publisher gateway(rig.broker.port(), "gw-a", "gw-a-secret");
    // CityGuard's body: A's own sensor is stored, B's site is not A's to report for.
    gateway.publish(
        "cityguard/gateways/gw-a/batch",
        json{{"readings",
              {{{"sensor", "A-LEL-1"}, {"ts", t0}, {"value", 1.5}}, {{"sensor", "B-LEL-1"}, {"ts", t0}, {"value", 9}}}}}
            .dump()
    );
    // ThingsBoard telemetry with a time, an array of them, and one without (stored at arrival).
    gateway.publish(
        "cityguard/gateways/gw-a/station-1",
        json{{"ts", t0 + 1000}, {"values", {{"lel", 2.5}, {"lel2", 3.5}, {"temperature", 21}}}}.dump()
    );
    gateway.publish(
        "cityguard/gateways/gw-a/station-1",
        json::array(
            {json{{"ts", t0 + 2000}, {"values", {{"lel", 2.6}}}}, json{{"ts", t0 + 3000}, {"values", {{"lel", 2.7}}}}}
        ).dump()
    );
    gateway.publish("cityguard/gateways/gw-a/station-1", json{{"lel2", true}}.dump());
    ASSERT_TRUE(gateway.wait_acknowledged());

    ASSERT_TRUE(mq_wait_until([&] { return rig.stored("A-LEL-1") == 4 && rig.stored("A-LEL-2") == 2; }))
        << rig.stored("A-LEL-1") << " " << rig.stored("A-LEL-2");
    EXPECT_EQ(rig.stored("B-LEL-1"), 0) << "gateway A may not report for site S-B";
    const auto history = c.call("GET", "/api/v1/sensors/A-LEL-1/readings?from=0", kAdminKey).json();
    ASSERT_EQ(history["readings"].size(), 4u) << history.dump();
    EXPECT_DOUBLE_EQ(history["readings"][0]["value"].get<double>(), 1.5);

    EXPECT_TRUE(mq_wait_until([&] {
        return metric_value(rig.port(), "cityguard_mqtt_readings_total{outcome=\"stored\"}") == 6 &&
               metric_value(rig.port(), "cityguard_mqtt_readings_total{outcome=\"rejected\"}") == 2;
    }));
    EXPECT_EQ(metric_value(rig.port(), "cityguard_mqtt_messages_total{outcome=\"stored\"}"), 4);
    EXPECT_EQ(metric_value(rig.port(), "cityguard_mqtt_connected"), 1);
    EXPECT_EQ(metric_value(rig.port(), "cityguard_readings_rejected_total{code=\"forbidden\"}"), 1);
    EXPECT_EQ(metric_value(rig.port(), "cityguard_mqtt_in_flight_messages"), 0);
}

TEST(Mqtt, AGatewayPublishesOnlyUnderItsOwnTopics) {
    CITYGUARD_REQUIRE_DB();
    if (!mosquitto_broker::installed()) GTEST_SKIP() << "mosquitto is not installed";
    mqtt_rig rig;

    const std::int64_t t0 = now_micros() / 1000 - 60'000;
    mqtt_publisher b(rig.broker.port(), "gw-b", "gw-b-secret");
    // The broker's ACL drops B's message on A's topic; then B's own message arrives.
    b.publish("cityguard/gateways/gw-a/batch", readings_payload("A-LEL-1", t0, 50));
    b.publish("cityguard/gateways/gw-b/batch", readings_payload("B-LEL-1", t0, 1));
    ASSERT_TRUE(b.wait_acknowledged());
    ASSERT_TRUE(mq_wait_until([&] { return rig.stored("B-LEL-1") == 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(rig.stored("A-LEL-1"), 0) << "B's message on A's topic must never arrive";
    // A wrong password never connects.
    EXPECT_THROW(
        {
            mqtt_publisher intruder(rig.broker.port(), "gw-a", "wrong");
            intruder.publish("cityguard/gateways/gw-a/batch", readings_payload("A-LEL-1", t0, 50));
            if (!intruder.wait_acknowledged(std::chrono::seconds(2))) throw std::runtime_error("not acknowledged");
        },
        std::runtime_error
    );
    EXPECT_EQ(rig.stored("A-LEL-1"), 0);
}

TEST(Mqtt, BadPayloadsAreCountedAndTheNextGoodOneIsStored) {
    CITYGUARD_REQUIRE_DB();
    if (!mosquitto_broker::installed()) GTEST_SKIP() << "mosquitto is not installed";
    mqtt_rig rig;

    mqtt_publisher a(rig.broker.port(), "gw-a", "gw-a-secret");
    a.publish("cityguard/gateways/gw-a/station-1", "not json at all");
    a.publish("cityguard/gateways/gw-a/station-1", std::string(5000, '[') + std::string(5000, ']'));
    a.publish("cityguard/gateways/gw-a/unknown-device", json{{"lel", 1}}.dump());  // no device on this topic
    a.publish("cityguard/gateways/gw-a/station-1", std::string("{\"lel\":\"\0\"}", 11));
    a.publish("cityguard/gateways/gw-a/station-1", std::string(200 * 1024, ' '));  // over max_payload_bytes
    a.publish("cityguard/gateways/gw-a/station-1", json{{"ts", -5}, {"values", {{"lel", 1}}}}.dump());
    const std::int64_t t0 = now_micros() / 1000 - 60'000;
    a.publish("cityguard/gateways/gw-a/batch", readings_payload("A-LEL-1", t0, 7));
    ASSERT_TRUE(a.wait_acknowledged());
    ASSERT_TRUE(mq_wait_until([&] { return rig.stored("A-LEL-1") == 1; }));
    EXPECT_TRUE(mq_wait_until([&] {
        return metric_value(rig.port(), "cityguard_mqtt_messages_total{outcome=\"invalid_payload\"}") == 5;
    })) << metric_value(rig.port(), "cityguard_mqtt_messages_total{outcome=\"invalid_payload\"}");
    EXPECT_EQ(metric_value(rig.port(), "cityguard_mqtt_messages_total{outcome=\"too_large\"}"), 1);
    EXPECT_EQ(metric_value(rig.port(), "cityguard_mqtt_disconnects_total"), 0) << "bad payloads never cost the session";
    EXPECT_TRUE(mqtt_connected(rig.port()));
}

TEST(Mqtt, ABrokerThatIsDownShowsInReadyzAndHttpIngestGoesOn) {
    CITYGUARD_REQUIRE_DB();
    if (!mosquitto_broker::installed()) GTEST_SKIP() << "mosquitto is not installed";
    mqtt_rig rig(false);
    auto c = rig.server->client();

    auto ready = c.request("GET", "/readyz");
    EXPECT_EQ(ready.status, 200) << "HTTP ingest does not depend on the broker";
    EXPECT_FALSE(ready.json()["mqtt"]["connected"].get<bool>()) << ready.body;
    EXPECT_TRUE(ready.json()["mqtt"].contains("last_error")) << ready.body;
    const std::int64_t t0 = now_micros() - 60'000'000;
    auto posted = c.call("POST", "/api/v1/readings", kAdminKey, one_reading("A-LEL-1", t0, 1));
    EXPECT_EQ(posted.status, 200) << posted.body;
    EXPECT_EQ(rig.stored("A-LEL-1"), 1);

    // The broker comes back: CityGuard reconnects by itself, within its backoff.
    rig.broker.start();
    ASSERT_TRUE(mq_wait_until([&] { return mqtt_connected(rig.port()); })) << readyz_of(rig.port()).dump();
    mqtt_publisher a(rig.broker.port(), "gw-a", "gw-a-secret");
    a.publish("cityguard/gateways/gw-a/batch", readings_payload("A-LEL-1", t0 / 1000 + 1000, 2));
    ASSERT_TRUE(a.wait_acknowledged());
    EXPECT_TRUE(mq_wait_until([&] { return rig.stored("A-LEL-1") == 2; }));
    EXPECT_EQ(metric_value(rig.port(), "cityguard_mqtt_connects_total"), 1);
}

// Under load, the server is killed while messages are in flight: what it had not committed it
// had not acknowledged, so the broker keeps it in the session and sends it again after the
// restart. Every published reading is stored, once.
TEST(Mqtt, ASigkillLosesNothingTheBrokerCountsAsDelivered) {
    CITYGUARD_REQUIRE_DB();
    if (!mosquitto_broker::installed()) GTEST_SKIP() << "mosquitto is not installed";
    mosquitto_broker broker(broker_users());
    scratch_database db;
    const auto map = write_mapping();
    const auto port = free_port();
    const auto config_path = map + ".cityguard.json";
    std::ofstream(config_path) << json{
        {"mqtt",
         {{"host", "127.0.0.1"},
          {"port", broker.port()},
          {"client_id", "cityguard-sigkill-" + std::to_string(::getpid())},
          {"username", "cityguard"},
          {"mapping_file", map},
          {"reconnect_min_ms", 100},
          {"reconnect_max_ms", 400}}}}.dump();
    ::setenv("CITYGUARD_MQTT_PASSWORD", kMqCityguardPassword, 1);
    const std::vector<std::string> flags{"--config", config_path};
    constexpr int kMessages = 400, kPerMessage = 25;
    const std::int64_t t0 = now_micros() / 1000 - 3'600'000;
    {
        child_server first(db.url(), port, flags);
        ASSERT_TRUE(first.wait_ready());
        http_client c(port);
        register_mqtt_sites(c);
        ASSERT_TRUE(mq_wait_until([&] { return mqtt_connected(port); }));

        mqtt_publisher a(broker.port(), "gw-a", "gw-a-secret");
        std::thread publishing([&] {
            for (int i = 0; i < kMessages; ++i) {
                json items = json::array();
                for (int k = 0; k < kPerMessage; ++k)
                    items.push_back({{"sensor", "A-LEL-1"}, {"ts", t0 + i * kPerMessage + k}, {"value", k}});
                a.publish("cityguard/gateways/gw-a/batch", json{{"readings", items}}.dump());
                if (i % 5 == 4) std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        });
        ASSERT_TRUE(mq_wait_until([&] { return stored_of(db, "A-LEL-1") >= 2000; })) << "nothing arrived";
        first.kill_now();
        const long at_kill = stored_of(db, "A-LEL-1");
        publishing.join();
        ASSERT_TRUE(a.wait_acknowledged()) << "the broker took every message";
        EXPECT_LT(at_kill, kMessages * kPerMessage) << "the kill came too late to prove anything";
    }
    child_server second(db.url(), port, flags);
    ASSERT_TRUE(second.wait_ready());
    EXPECT_TRUE(
        mq_wait_until([&] { return stored_of(db, "A-LEL-1") == kMessages * kPerMessage; }, std::chrono::seconds(60))
    ) << stored_of(db, "A-LEL-1")
      << " of " << kMessages * kPerMessage;
    EXPECT_EQ(std::stol(db.query_value("SELECT count(DISTINCT ts) FROM readings")), kMessages * kPerMessage);
    EXPECT_EQ(second.terminate(), 0);
}
