// Modbus TCP polling end to end (docs/ingest.md): a device made with libmodbus on loopback, the
// connector file, readings stored through the same group commit as HTTP, a device that stops
// answering and comes back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/modbus_device.hpp"
#include "../support/test_env.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::now_micros;
using nlohmann::json;

namespace {

std::string connector_file(std::uint16_t port) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("cityguard-modbus-" + std::to_string(::getpid()) + "-" + std::to_string(now_micros()) + ".json");
    json doc{
        {"devices",
         {{{"id", "plc-meilin-01"},
           {"host", "127.0.0.1"},
           {"port", port},
           {"unit", 1},
           {"timeout_ms", 300},
           {"points",
            {{{"sensor", "WS-P"},
              {"table", "holding"},
              {"address", 0},
              {"type", "uint16"},
              {"scale", 0.001},
              {"interval_s", 1}},
             {{"sensor", "WS-T"}, {"table", "input"}, {"address", 2}, {"type", "float32"}, {"interval_s", 1}},
             {{"sensor", "WS-PUMP"}, {"table", "coil"}, {"address", 0}, {"interval_s", 1}}}}}}}};
    std::ofstream(path) << doc.dump(2);
    return path.string();
}

/// A server polling `plc` through the connector file above, quick to look and to reconnect.
cityguard::config::config polling_config(const scratch_database& db, const modbus_device& plc) {
    auto cfg = test_config(db.url());
    cfg.modbus.connector_file = connector_file(plc.port());
    cfg.modbus.tick_ms = 50;
    cfg.modbus.reconnect_ms = 200;
    return cfg;
}

long stored(const scratch_database& db, const std::string& sensor) {
    return std::stol(db.query_value(
        "SELECT count(*) FROM readings r JOIN sensors s ON s.key = r.sensor_key WHERE s.id = '" + sensor + "'"
    ));
}

double last_value(const scratch_database& db, const std::string& sensor) {
    return std::stod(db.query_value(
        "SELECT r.value FROM readings r JOIN sensors s ON s.key = r.sensor_key WHERE s.id = '" + sensor +
        "' ORDER BY r.ts DESC LIMIT 1"
    ));
}

template <class Done>
bool mb_wait_until(Done done, std::chrono::seconds limit = std::chrono::seconds(20)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
}

}  // namespace

TEST(Modbus, RegistersArePolledAtTheirIntervalScaledAndStored) {
    CITYGUARD_REQUIRE_DB();
    modbus_device plc;
    plc.set_holding(0, 352);        // 0.352 MPa at scale 0.001
    plc.set_input_float(2, 21.5f);  // °C, IEEE 754 in two registers, big-endian words
    plc.set_coil(0, true);          // the pump runs
    scratch_database db;
    test_server server(polling_config(db, plc));
    server.register_sensors("WS-1", {"WS-P", "WS-T", "WS-PUMP"});

    ASSERT_TRUE(mb_wait_until([&] {
        return stored(server.db(), "WS-P") >= 3 && stored(server.db(), "WS-T") >= 3 &&
               stored(server.db(), "WS-PUMP") >= 3;
    })) << stored(server.db(), "WS-P");
    EXPECT_NEAR(last_value(server.db(), "WS-P"), 0.352, 1e-9);
    EXPECT_NEAR(last_value(server.db(), "WS-T"), 21.5, 1e-6);
    EXPECT_EQ(last_value(server.db(), "WS-PUMP"), 1);
    plc.set_holding(0, 120);
    EXPECT_TRUE(mb_wait_until([&] { return std::abs(last_value(server.db(), "WS-P") - 0.12) < 1e-9; }));
    // At each point's interval (1 s), not faster.
    const long before = stored(server.db(), "WS-P");
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    const long polled = stored(server.db(), "WS-P") - before;
    EXPECT_GE(polled, 1);
    EXPECT_LE(polled, 4);
    const auto ready = server.client().request("GET", "/readyz").json();
    EXPECT_EQ(ready["modbus"]["answering"], 1) << ready.dump();
}

TEST(Modbus, ADeviceThatStopsAnsweringGivesNoReadingsNeverBlocksHttpAndComesBack) {
    CITYGUARD_REQUIRE_DB();
    modbus_device plc;
    plc.set_holding(0, 300);
    scratch_database db;
    test_server server(polling_config(db, plc));
    server.register_sensors("WS-1", {"WS-P", "WS-T", "WS-PUMP", "WS-HTTP"});
    ASSERT_TRUE(mb_wait_until([&] { return stored(server.db(), "WS-P") >= 1; }));

    plc.stop();
    auto c = server.client();
    ASSERT_TRUE(mb_wait_until([&] { return c.request("GET", "/readyz").json()["modbus"]["down"].size() == 1; }))
        << c.request("GET", "/readyz").body;
    const long silent_from = stored(server.db(), "WS-P");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_LE(stored(server.db(), "WS-P"), silent_from + 1) << "no readings from a device that does not answer";
    // HTTP ingest is not held up by the silent device.
    EXPECT_EQ(
        c.call("POST", "/api/v1/readings", kAdminKey, one_reading("WS-HTTP", now_micros() - 1'000'000, 1)).status, 200
    );
    EXPECT_EQ(stored(server.db(), "WS-HTTP"), 1);

    plc.start();
    EXPECT_TRUE(mb_wait_until([&] { return stored(server.db(), "WS-P") > silent_from + 1; }));
    EXPECT_TRUE(mb_wait_until([&] { return c.request("GET", "/readyz").json()["modbus"]["answering"] == 1; }));
}

// The promise, end to end: a device that stops answering is reported by the sensors'
// own offline rules (no reading for 3 × interval_s), with nothing Modbus-specific in between.
TEST(Modbus, ASilentDevicesSensorsAreReportedOfflineByTheirRules) {
    CITYGUARD_REQUIRE_DB();
    modbus_device plc;
    plc.set_holding(0, 300);
    scratch_database db;
    test_server server(polling_config(db, plc));
    auto c = server.client();
    json registry{
        {"sites",
         {{{"id", "WS-1"},
           {"name", "梅林水厂"},
           {"domain", "water_supply"},
           {"district", "福田区"},
           {"lat", 22.57},
           {"lon", 114.05}}}},
        {"sensors",
         {{{"id", "WS-P"}, {"site", "WS-1"}, {"kind", "water_pressure"}, {"unit", "MPa"}, {"interval_s", 1}},
          {{"id", "WS-T"}, {"site", "WS-1"}, {"kind", "water_pressure"}, {"unit", "MPa"}, {"interval_s", 1}},
          {{"id", "WS-PUMP"}, {"site", "WS-1"}, {"kind", "water_pressure"}, {"unit", "MPa"}, {"interval_s", 1}}}}};
    const auto registered = c.call("POST", "/api/v1/registry", kAdminKey, registry.dump());
    ASSERT_EQ(registered.status, 200) << registered.body;
    ASSERT_TRUE(mb_wait_until([&] { return stored(server.db(), "WS-P") >= 2; }));
    plc.stop();
    EXPECT_TRUE(mb_wait_until([&] {
        const auto list = c.call("GET", "/api/v1/alarms?sensor=WS-P&status=active", kAdminKey).json();
        for (const auto& a : list["alarms"])
            if (a["rule"] == "water_supply.offline") return true;
        return false;
    })) << c.call("GET", "/api/v1/alarms?sensor=WS-P", kAdminKey).body;
}
